"""The hash chain: every honest log verifies; every kind of tampering names the first bad event."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.chain import GENESIS_HASH, EventBody, StoredEvent, event_hash, verify_chain

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def build(payloads: list[dict]) -> list[StoredEvent]:
    events, prev = [], GENESIS_HASH
    for i, payload in enumerate(payloads, 1):
        body = EventBody(i, f"e{i}", "artifact.ingested", T0 + timedelta(seconds=i), "ref", (f"a{i}",), payload, prev)
        prev = event_hash(body)
        events.append(StoredEvent(body, prev))
    return events


payloads = st.lists(
    st.dictionaries(st.sampled_from(["path", "size", "sha256"]), st.integers() | st.text(max_size=5), max_size=3),
    min_size=1,
    max_size=30,
)


@given(payloads)
def test_an_untouched_log_verifies(p: list[dict]) -> None:
    events = build(p)
    report = verify_chain(events, events[-1].body.seq, events[-1].hash)
    assert report.ok and report.events_checked == len(p)


@given(payloads, st.data())
def test_editing_any_event_is_caught_at_that_event(p: list[dict], data: st.DataObject) -> None:
    events = build(p)
    i = data.draw(st.integers(0, len(events) - 1))
    body = dataclasses.replace(events[i].body, payload={**events[i].body.payload, "edited": True})
    events[i] = StoredEvent(body, events[i].hash)
    report = verify_chain(events, events[-1].body.seq, events[-1].hash)
    assert not report.ok and report.first_bad_seq == i + 1


def _edit(events: list[StoredEvent]) -> list[StoredEvent]:
    e = events[2]
    return [*events[:2], StoredEvent(dataclasses.replace(e.body, payload={"size": 1}), e.hash), *events[3:]]


def _edit_and_rehash(events: list[StoredEvent]) -> list[StoredEvent]:
    body = dataclasses.replace(events[2].body, payload={"size": 1})
    return [*events[:2], StoredEvent(body, event_hash(body)), *events[3:]]


def _delete_middle(events: list[StoredEvent]) -> list[StoredEvent]:
    return events[:2] + events[3:]


def _reorder(events: list[StoredEvent]) -> list[StoredEvent]:
    return [events[0], events[2], events[1], *events[3:]]


def _insert(events: list[StoredEvent]) -> list[StoredEvent]:
    forged = EventBody(3, "forged", "artifact.fetched", T0, "ref", (), {}, events[1].hash)
    return [*events[:2], StoredEvent(forged, event_hash(forged)), *events[2:]]


TAMPER = [
    ("edited payload", _edit, 3, "edited"),
    ("edited and rehashed", _edit_and_rehash, 4, "prev_hash"),
    ("deleted event", _delete_middle, 4, "sequence gap"),
    ("reordered events", _reorder, 3, "sequence gap"),
    ("inserted event", _insert, 3, "sequence out of order"),
]


@pytest.mark.parametrize(("case", "tamper", "bad_seq", "problem"), TAMPER, ids=[t[0] for t in TAMPER])
def test_tampering_names_the_first_bad_event(case: str, tamper, bad_seq: int, problem: str) -> None:  # type: ignore[no-untyped-def]
    events = build([{"size": i} for i in range(6)])
    head = (events[-1].body.seq, events[-1].hash)
    report = verify_chain(tamper(events), *head)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in (report.problem or "")


def test_deleting_the_newest_events_is_caught_by_the_head() -> None:
    events = build([{"size": i} for i in range(5)])
    report = verify_chain(events[:-2], events[-1].body.seq, events[-1].hash)
    assert not report.ok and "head records #5" in (report.problem or "")
