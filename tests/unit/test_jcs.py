"""The fast JCS path writes exactly what the ``rfc8785`` reference encoder writes (ADR 0038)."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage._jcs import _fast_path_holds, jcs_bytes
from lineage.chain import jcs
from qgov.errors import InputError

_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-(2**60), 2**60) | _text | st.floats(allow_nan=False)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=30,
)


def _reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError, ValueError) as exc:
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(_values)
def test_fast_and_reference_encoders_agree_on_every_json_value(value: Any) -> None:
    expected = _reference(value)
    if isinstance(expected, bytes):
        assert jcs_bytes(value) == expected
    else:
        with pytest.raises(InputError):
            jcs(value)


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, False, None], "c": {"z": "", "y": "x"}},
        {"ctl": "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f", "quote": '"\\/'},
        {"é": "ünïcode", "e": "\u2028\u2029", "€": "\ufffd"},
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order puts the emoji (D83D…) first
        {"n": 2**53 - 1, "m": -(2**53) + 1},
    ],
    ids=["nested", "controls", "bmp-unicode", "non-bmp-key-order", "integer-edges"],
)
def test_named_cases_encode_as_the_reference(value: Any) -> None:
    assert jcs_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ({"a": [1, "x", None, True]}, True),
        ({"a": 1.5}, False),
        ({"a": (1, 2)}, False),
        ({"k\U0001f600": 1}, False),
        ({"a": 2**53}, False),
        ({1: "a"}, False),
    ],
    ids=["plain", "float", "tuple", "non-bmp", "big-int", "int-key"],
)
def test_only_plain_values_take_the_fast_path(value: Any, fast: bool) -> None:
    assert _fast_path_holds(value) is fast


@pytest.mark.parametrize("value", [{"a": 2**53}, {"a": float("nan")}, {"a": "\ud800"}], ids=["int", "nan", "surrogate"])
def test_what_jcs_cannot_hold_is_an_input_error(value: Any) -> None:
    with pytest.raises(InputError, match="cannot be encoded by RFC 8785"):
        jcs(value)
