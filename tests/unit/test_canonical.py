import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qgov.canonical import canonical_hash, canonical_json, iso_utc, parse_iso
from qgov.errors import InputError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def test_keys_are_sorted_and_nulls_dropped() -> None:
    assert canonical_json({"b": 1, "a": None, "c": {"z": 1, "y": None}}) == b'{"b":1,"c":{"z":1}}'


def test_non_ascii_is_written_as_utf8_not_escaped() -> None:
    assert canonical_json({"name": "Zürich"}) == '{"name":"Zürich"}'.encode()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, object()], ids=["nan", "inf", "-inf", "object"])
def test_values_json_cannot_hold_are_refused(bad: object) -> None:
    with pytest.raises(InputError, match="cannot be encoded canonically"):
        canonical_json({"x": bad})


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_hash_does_not_depend_on_key_order(value: dict) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_hash(value) == canonical_hash(reordered)


def test_timestamps_are_utc_with_microseconds() -> None:
    assert iso_utc(parse_iso("2026-05-01T14:00:00+02:00")) == "2026-05-01T12:00:00.000000Z"


def test_bad_timestamp_names_the_field() -> None:
    with pytest.raises(InputError, match="--at: expected an ISO 8601 time"):
        parse_iso("yesterday", "--at")
