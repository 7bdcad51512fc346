"""Attacks on the newest part of the log and on the whole database, as a writer of the database.

Each of these passed ``audit verify`` while checkpoints came every 1,000 events: the events
after the newest checkpoint were unsigned, deleting the checkpoints left nothing to check,
and an older copy of the database verified as itself. Every transaction now signs a
checkpoint, the witness (``QGOV_WITNESS_DIR``) keeps each one outside the database, and an
auditor can hold the log to a checkpoint they kept (``--since``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import delete, select, update

from governance.audit import verify_log
from governance.db import transaction
from governance.signing import checkpoint
from lineage import EventLog, NewEvent, event_hash, schema
from lineage.checkpoints import MerkleStore
from tests.conftest import QGOV


def _append(app, n: int, tag: str = "a") -> None:  # type: ignore[no-untyped-def]
    with transaction(app.engine) as conn:
        EventLog(conn).append_many([NewEvent("artifact.fetched", "alice", [f"{tag}{i}"], {"i": i}) for i in range(n)])


def _rewrite_from(conn, seq: int) -> None:  # type: ignore[no-untyped-def]
    """Edit event ``seq``, recompute every later hash and the head: the chain verifies again."""
    events = list(EventLog(conn).iter_events())
    prev = events[seq - 2].hash if seq > 1 else "0" * 64
    for stored in events[seq - 1 :]:
        body = stored.body
        payload = {"i": -1} if body.seq == seq else body.payload
        digest = event_hash(type(body)(**{**body.__dict__, "payload": payload, "prev_hash": prev}))
        conn.execute(
            update(schema.events)
            .where(schema.events.c.seq == body.seq)
            .values(payload=payload, prev_hash=prev, hash=digest)
        )
        prev = digest
    conn.execute(update(schema.chain_head).values(hash=prev))


def _truncate_consistently(conn, size: int) -> None:  # type: ignore[no-untyped-def]
    """Delete the events after ``size`` and everything that would betray it: head, checkpoints, tiles."""
    conn.execute(delete(schema.event_subjects).where(schema.event_subjects.c.seq > size))
    conn.execute(delete(schema.events).where(schema.events.c.seq > size))
    last = conn.execute(select(schema.events).where(schema.events.c.seq == size)).one()
    conn.execute(update(schema.chain_head).values(seq=size, hash=last.hash))
    conn.execute(delete(schema.checkpoints).where(schema.checkpoints.c.size > size))
    conn.execute(delete(schema.merkle_tiles))


def _log_size(app) -> int:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return EventLog(conn).head()[0]


def test_a_rewritten_tail_after_the_newest_checkpoint_fails_verify(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 5)
    newest = _log_size(app)
    with app.engine.begin() as conn:
        _rewrite_from(conn, newest)  # the newest event, hashes and head made consistent
    report = verify_log(app)
    assert report.chain.ok and not report.ok
    assert "rewritten after it was signed" in (report.checkpoints.problem or "")


def test_a_truncated_tail_with_head_and_checkpoints_made_consistent_fails_against_the_witness(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 3)
    kept_size = _log_size(app)
    _append(app, 4, tag="b")
    with app.engine.begin() as conn:
        _truncate_consistently(conn, kept_size)
    assert verify_log(app, witness=False).ok  # inside the database, nothing is left to show it
    report = verify_log(app)
    assert not report.ok and report.witness is not None
    assert report.witness.problem is not None
    assert f"covers {kept_size + 4} events but the log holds {kept_size}" in report.witness.problem


def test_deleting_every_checkpoint_fails_verify(app) -> None:  # type: ignore[no-untyped-def]
    _append(app, 5)
    with app.engine.begin() as conn:
        conn.execute(delete(schema.checkpoints))
        conn.execute(delete(schema.merkle_tiles))
    report = verify_log(app)
    assert report.chain.ok and not report.ok
    assert "covered by no signed checkpoint" in (report.unsigned_problem or "")


def test_a_rewritten_log_re_signed_with_the_log_key_fails_against_the_witness(app) -> None:  # type: ignore[no-untyped-def]
    """The writer holds the log's key: they rewrite, drop the checkpoints and sign afresh."""
    _append(app, 6)
    with app.engine.begin() as conn:
        _rewrite_from(conn, 3)
        conn.execute(delete(schema.checkpoints))
        conn.execute(delete(schema.merkle_tiles))
    with app.engine.begin() as conn:
        MerkleStore(conn).checkpoint(app.signer)
    assert verify_log(app, witness=False).ok
    report = verify_log(app)
    assert not report.ok and report.witness is not None
    assert "the log does not extend the witness's checkpoint" in (report.witness.problem or "")


def test_verify_since_a_kept_checkpoint_fails_after_a_rollback(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _append(app, 3)
    early = _log_size(app)
    _append(app, 3, tag="b")
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(checkpoint(app).note, encoding="utf-8")
    assert verify_log(app, since=kept).ok
    _append(app, 2, tag="c")
    assert verify_log(app, since=kept).ok  # a longer log extends it
    with app.engine.begin() as conn:
        _truncate_consistently(conn, early)
    report = verify_log(app, since=kept, witness=False)
    assert not report.ok and report.since is not None
    assert f"covers {early + 3} events but the log holds {early}" in (report.since.problem or "")


def test_verify_since_a_kept_checkpoint_fails_when_its_prefix_was_rewritten(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _append(app, 6)
    kept = tmp_path / "kept.checkpoint"
    kept.write_text(checkpoint(app).note, encoding="utf-8")
    with app.engine.begin() as conn:  # rewrite, then sign afresh with the log's own key
        _rewrite_from(conn, 2)
        conn.execute(delete(schema.checkpoints))
        conn.execute(delete(schema.merkle_tiles))
    shutil.rmtree(app.settings.witness_dir)  # a writer who can also wipe the witness: the kept note still holds
    _append(app, 1, tag="after")
    report = verify_log(app, since=kept, witness=False)
    assert report.checkpoints.ok and report.chain.ok and not report.ok
    assert report.since is not None and "the log does not extend the kept checkpoint" in (report.since.problem or "")


def _qgov(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QGOV, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def test_an_older_copy_of_the_sqlite_database_is_caught_by_the_witness(app, env, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        return  # a file copy is SQLite's rollback; PostgreSQL's is the truncation test above
    db = Path(db_url.removeprefix("sqlite:///"))
    _append(app, 2)
    old_size = _log_size(app)
    app.engine.dispose()  # checkpoint the WAL into the file, as a backup tool would see it
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in db.parent.glob(db.name + "*"):
        shutil.copy2(f, backup / f.name)
    _append(app, 5, tag="spent")
    new_size = _log_size(app)
    app.engine.dispose()
    for f in db.parent.glob(db.name + "*"):
        f.unlink()
    for f in backup.iterdir():
        shutil.copy2(f, db.parent / f.name)
    assert verify_log(app, witness=False).ok  # the old copy is a perfectly good log on its own
    proc = _qgov(env, "audit", "verify")
    assert proc.returncode == 1 and "witness check failed" in proc.stdout and "Traceback" not in proc.stderr
    doc = json.loads(_qgov(env, "audit", "verify", "--json").stdout)
    assert doc["ok"] is False and f"covers {new_size} events but the log holds {old_size}" in doc["witness"]["problem"]
    # and the next write does not quietly carry on from the old copy
    proc = _qgov(env, "dataset", "register", "calib")
    assert proc.returncode != 0 and "witness" in (proc.stdout + proc.stderr)


def test_verify_since_on_the_command_line_names_the_rollback(app, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _append(app, 2)
    early = _log_size(app)
    kept = tmp_path / "kept.checkpoint"
    proc = _qgov(env, "audit", "checkpoint")
    assert proc.returncode == 0, proc.stderr
    _append(app, 2, tag="b")
    proc = _qgov(env, "audit", "checkpoint", "--json")
    kept.write_text(proc.stdout, encoding="utf-8")  # the --json document is accepted as well
    assert _qgov(env, "audit", "verify", "--since", str(kept)).returncode == 0
    with app.engine.begin() as conn:
        _truncate_consistently(conn, early)
    proc = _qgov(env, "audit", "verify", "--no-witness", "--since", str(kept), "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["ok"] is False and f"covers {early + 2} events but the log holds {early}" in doc["since"]["problem"]
    proc = _qgov(env, "audit", "verify", "--since", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "--since" in proc.stderr and "Traceback" not in proc.stderr
