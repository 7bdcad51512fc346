"""Signed checkpoints and proofs against a real database (SQLite and PostgreSQL).

The hash chain alone cannot catch someone who edits an event and recomputes every later
hash and the head: nothing secret is involved. The signed checkpoints catch it.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import select, update

from governance.audit import prove_consistency, prove_inclusion, verify_log, verify_proof
from governance.catalog import DatasetSpec, register_dataset
from governance.db import transaction
from governance.signing import checkpoint
from lineage import EventLog, NewEvent, StoredEvent, event_hash, schema
from lineage.checkpoints import MerkleStore, RootAccumulator, event_leaf
from lineage.merkle import EMPTY_ROOT
from lineage.note import NoteSigner, generate_signing_key
from qgov.errors import IntegrityError


def _append(app, n: int, start: int = 0) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.engine) as conn:
        EventLog(conn).append_many(
            [NewEvent("artifact.fetched", "alice", [f"a{i}"], {"i": i}) for i in range(start, start + n)]
        )


def _rewrite_history(conn, seq: int) -> None:  # type: ignore[no-untyped-def]
    """Edit event ``seq`` and recompute every later hash and the head: the chain verifies again."""
    log = EventLog(conn)
    events = list(log.iter_events())
    prev = events[seq - 2].hash if seq > 1 else "0" * 64
    for stored in events[seq - 1 :]:
        body = stored.body
        payload = {"i": -1} if body.seq == seq else body.payload
        new_body = type(body)(**{**body.__dict__, "payload": payload, "prev_hash": prev})
        digest = event_hash(new_body)
        conn.execute(
            update(schema.events)
            .where(schema.events.c.seq == body.seq)
            .values(payload=payload, prev_hash=prev, hash=digest)
        )
        prev = digest
    conn.execute(update(schema.chain_head).values(hash=prev))


def test_a_new_log_is_checkpointed_with_its_first_transaction(app) -> None:  # type: ignore[no-untyped-def]
    # the store's set-up transactions (the built-in policy published, alice made admin) were each
    # signed at once, the first one over the log's first event
    with app.engine.connect() as conn:
        stored = MerkleStore(conn).all()
    assert [cp.size for cp in stored] == [1, 2]
    assert stored[0].note.startswith(f"{app.signer.name}\n1\n")
    assert stored[-1].note.startswith(f"{app.signer.name}\n2\n")
    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    report = verify_log(app)
    assert report.ok and report.checkpoints.checkpoints_checked == 3 and report.uncovered == 0


def test_every_transaction_that_appends_signs_a_checkpoint_and_all_verify(app) -> None:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        setup = [cp.size for cp in MerkleStore(conn).all()]  # one per set-up transaction
    base = setup[-1]
    for k in range(5):
        _append(app, 300, start=300 * k)
    with app.engine.connect() as conn:
        sizes = [cp.size for cp in MerkleStore(conn).all()]
    assert sizes == setup + [base + 300 * k for k in range(1, 6)]
    report = verify_log(app)
    assert report.ok and report.checkpoints.checkpoints_checked == len(setup) + 5 and report.uncovered == 0


def test_stored_roots_and_tiles_match_a_root_recomputed_from_the_events(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 1300)
    cp = checkpoint(app)
    acc = RootAccumulator()
    with app.engine.connect() as conn:
        for e in EventLog(conn).iter_events():
            acc.add(event_leaf(e.hash))
        tiles = conn.execute(select(schema.merkle_tiles)).all()
    assert acc.size == cp.size and acc.root().hex() == cp.root_hash
    assert {(t.level, t.idx) for t in tiles} == {(8, i) for i in range(cp.size // 256)} | {
        (lvl, i) for lvl in (9, 10) for i in range(cp.size >> lvl)
    }


def test_rewritten_history_passes_the_chain_but_fails_the_signed_checkpoint(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 20)
    signed = checkpoint(app)
    with app.engine.begin() as conn:
        _rewrite_history(conn, 5)
    report = verify_log(app)
    assert report.chain.ok  # the attacker recomputed every hash
    assert not report.ok and report.checkpoints.bad_size == signed.size
    assert "rewritten after it was signed" in (report.checkpoints.problem or "")
    # and the signer refuses to sign the forked log, so nothing more is written to it
    with pytest.raises(IntegrityError, match="refusing to sign"):
        _append(app, 1)


FORGERIES = [
    ("edited root in the note", lambda n: n.replace(n.split("\n")[2], "A" * 43 + "=")),
    ("edited size in the note", lambda n: n.replace(f"\n{n.split(chr(10))[1]}\n", "\n999\n", 1)),
    ("re-signed by another key", None),
]


@pytest.mark.parametrize(("case", "forge"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_verify_rejects_a_forged_checkpoint(app, case, forge) -> None:  # type: ignore[no-untyped-def]
    _append(app, 10)
    cp = checkpoint(app)
    if forge is None:
        other = NoteSigner(generate_signing_key(app.signer.name))  # same name, different key
        note = other.sign(cp.note.split("\n\n")[0] + "\n")
    else:
        note = forge(cp.note)
    with app.engine.begin() as conn:
        conn.execute(update(schema.checkpoints).where(schema.checkpoints.c.size == cp.size).values(note=note))
    report = verify_log(app)
    assert not report.ok and report.checkpoints.bad_size == cp.size, report.checkpoints


def test_a_checkpoint_larger_than_the_log_reveals_deleted_events(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 10)
    cp = checkpoint(app)
    with app.engine.begin() as conn:  # delete the newest events and move the head back consistently
        conn.execute(schema.events.delete().where(schema.events.c.seq > cp.size - 3))
        last = conn.execute(select(schema.events).order_by(schema.events.c.seq.desc()).limit(1)).one()
        conn.execute(update(schema.chain_head).values(seq=last.seq, hash=last.hash))
    report = verify_log(app)
    assert report.chain.ok and not report.ok
    assert "covers more events than the log holds" in (report.checkpoints.problem or "")


def test_inclusion_proofs_verify_offline_and_fail_when_altered(app) -> None:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        latest = MerkleStore(conn).latest()
    base = latest.size if latest is not None else 0  # the store's set-up events
    _append(app, 700)
    vkey = app.signer.verifier_key()
    for seq in (1, 2, 255, 256, 257, 511, 600, base + 700):
        doc = prove_inclusion(app, str(seq))
        assert verify_proof(doc, [vkey]).seq == seq
    doc = prove_inclusion(app, "300")
    assert doc["tree_size"] == base + 700 and f"\n{doc['tree_size']}\n" in doc["checkpoint"]
    alterations: list[tuple[str, Any]] = [
        ("event payload", lambda d: d["event"]["payload"].update(i=-1)),
        (
            "event hash",
            lambda d: d.update(event_hash=d["event_hash"][:-1] + ("1" if d["event_hash"][-1] == "0" else "0")),
        ),
        ("proof hash", lambda d: d["proof"].__setitem__(0, "00" * 32)),
        ("proof shortened", lambda d: d["proof"].pop()),
        ("leaf index", lambda d: d.update(leaf_index=d["leaf_index"] + 1)),
        ("tree size", lambda d: d.update(tree_size=d["tree_size"] - 1)),
        (
            "checkpoint text",
            lambda d: d.update(
                checkpoint=d["checkpoint"].replace(f"\n{d['tree_size']}\n", f"\n{d['tree_size'] + 1}\n")
            ),
        ),
    ]
    for name, alter in alterations:
        bad = copy.deepcopy(doc)
        alter(bad)
        with pytest.raises(IntegrityError):
            verify_proof(bad, [vkey])
            pytest.fail(f"altered {name} still verified")
    stranger = NoteSigner(generate_signing_key("someone.else")).verifier_key()
    with pytest.raises(IntegrityError, match="unknown key|signature"):
        verify_proof(doc, [stranger])


def test_consistency_proofs_link_successive_checkpoints(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 300)
    first = checkpoint(app)
    _append(app, 513, start=300)
    second = checkpoint(app)
    doc = prove_consistency(app, first.size, second.size)
    result = verify_proof(doc, [app.signer.verifier_key()])
    assert (result.old_size, result.tree_size) == (first.size, second.size)
    doc["proof"][-1] = "11" * 32
    with pytest.raises(IntegrityError):
        verify_proof(doc, [app.signer.verifier_key()])


def test_proving_an_event_newer_than_every_checkpoint_signs_a_new_one(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 3)
    with app.engine.begin() as conn:  # outside transaction() (not how qgov writes): no checkpoint
        stored: StoredEvent = EventLog(conn).append(NewEvent("artifact.fetched", "alice", ["late"], {}))
    doc = prove_inclusion(app, stored.body.event_id)
    assert doc["tree_size"] == stored.body.seq
    assert verify_proof(doc, [app.signer.verifier_key()]).event_id == stored.body.event_id


def test_an_empty_log_has_the_empty_root(app) -> None:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        assert MerkleStore(conn).root(0) == EMPTY_ROOT
