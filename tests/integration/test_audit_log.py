"""`audit verify` against a real database whose rows someone edited by hand."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, text, update

from governance.audit import verify_log
from governance.catalog import DatasetSpec, register_dataset
from governance.db import transaction
from lineage import EventLog, NewEvent, schema


def _fill(app, n: int = 6) -> None:  # type: ignore[no-untyped-def]
    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    with transaction(app.engine) as conn:
        EventLog(conn).append_many([NewEvent("artifact.fetched", "alice", [f"a{i}"], {"i": i}) for i in range(n)])


def _edit_payload(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(update(schema.events).where(schema.events.c.seq == 4).values(payload={"i": 99}))


def _edit_actor(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(update(schema.events).where(schema.events.c.seq == 4).values(actor_ref="0" * 64))


def _edit_time(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(
        text("UPDATE events SET occurred_at = occurred_at - INTERVAL '1 day' WHERE seq = 4")
        if conn.dialect.name == "postgresql"
        else text("UPDATE events SET occurred_at = '2020-01-01 00:00:00.000000' WHERE seq = 4")
    )


def _delete_row(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(delete(schema.events).where(schema.events.c.seq == 4))


def _delete_newest(conn) -> None:  # type: ignore[no-untyped-def]
    last = conn.execute(select(schema.events.c.seq).order_by(schema.events.c.seq.desc()).limit(1)).scalar_one()
    conn.execute(delete(schema.events).where(schema.events.c.seq == last))


def _swap(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(update(schema.events).where(schema.events.c.seq == 4).values(seq=1000))
    conn.execute(update(schema.events).where(schema.events.c.seq == 5).values(seq=4))
    conn.execute(update(schema.events).where(schema.events.c.seq == 1000).values(seq=5))


def _insert(conn) -> None:  # type: ignore[no-untyped-def]
    conn.execute(update(schema.events).where(schema.events.c.seq >= 4).values(seq=schema.events.c.seq + 1000))
    row = conn.execute(select(schema.events).where(schema.events.c.seq == 1004)).one()._asdict()
    conn.execute(insert(schema.events).values({**row, "seq": 4, "event_id": "forged", "payload": {"forged": True}}))
    conn.execute(update(schema.events).where(schema.events.c.seq >= 1004).values(seq=schema.events.c.seq - 999))


CASES = [
    ("edited payload", _edit_payload, 4, "edited"),
    ("edited actor", _edit_actor, 4, "edited"),
    ("edited time", _edit_time, 4, "edited"),
    ("deleted row", _delete_row, 5, "sequence gap"),
    ("deleted newest row", _delete_newest, None, "head records"),
    ("reordered rows", _swap, 4, "prev_hash"),
    ("inserted row", _insert, 4, "edited"),
]


@pytest.mark.parametrize(("case", "tamper", "bad_seq", "problem"), CASES, ids=[c[0] for c in CASES])
def test_verify_names_the_first_tampered_event(app, case, tamper, bad_seq, problem) -> None:  # type: ignore[no-untyped-def]
    _fill(app)
    assert verify_log(app).ok
    with app.engine.begin() as conn:
        tamper(conn)
    report = verify_log(app).chain
    assert not report.ok
    assert problem in (report.problem or "")
    if bad_seq is not None:
        assert report.first_bad_seq == bad_seq


def test_concurrent_writers_never_fork_the_chain(app) -> None:  # type: ignore[no-untyped-def]
    """Eight threads appending at once still leave one unbroken chain, every transaction signed
    and witnessed."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(k: int) -> None:
        for i in range(10):
            with transaction(app.engine) as conn:
                EventLog(conn).append(NewEvent("artifact.fetched", f"user{k}", [f"a{k}"], {"i": i}))

    before = verify_log(app).chain.events_checked  # the store's set-up: the policy, the admin grant
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    report = verify_log(app)
    assert report.ok and report.chain.events_checked == before + 80
    assert report.uncovered == 0 and report.witness is not None and report.witness.size == before + 80


def test_personal_names_stay_outside_the_hashed_events(app) -> None:  # type: ignore[no-untyped-def]
    _fill(app, 1)
    with app.engine.connect() as conn:
        payloads = " ".join(str(r.payload) + r.actor_ref for r in conn.execute(select(schema.events)))
    assert "alice" not in payloads


def _chunked(app, workers: int, chunk_bits: int):  # type: ignore[no-untyped-def]
    from lineage.verify import verify_log as chunked_verify

    url = app.engine.url.render_as_string(hide_password=False)
    with app.engine.connect() as conn:
        return chunked_verify(conn, url, EventLog(conn).head(), [], workers=workers, chunk_bits=chunk_bits).chain


@pytest.mark.parametrize(("case", "tamper", "bad_seq", "problem"), CASES, ids=[c[0] for c in CASES])
def test_chunked_verification_finds_what_the_sequential_chain_check_finds(app, case, tamper, bad_seq, problem) -> None:  # type: ignore[no-untyped-def]
    """Chunks of 4 events put every tamper case next to a chunk boundary at least once."""
    _fill(app, 14)
    with app.engine.begin() as conn:
        tamper(conn)
    with app.engine.connect() as conn:
        expected = EventLog(conn).verify()
    for bits in (1, 2, 3):
        got = _chunked(app, workers=1, chunk_bits=bits)
        assert (got.ok, got.first_bad_seq, got.problem, got.events_checked) == (
            expected.ok,
            expected.first_bad_seq,
            expected.problem,
            expected.events_checked,
        ), bits


def test_parallel_workers_give_the_same_verdict(app) -> None:  # type: ignore[no-untyped-def]
    _fill(app, 40)
    assert _chunked(app, workers=2, chunk_bits=3).ok
    with app.engine.begin() as conn:
        _edit_payload(conn)
    got = _chunked(app, workers=2, chunk_bits=3)
    assert not got.ok and got.first_bad_seq == 4 and "edited" in (got.problem or "")
