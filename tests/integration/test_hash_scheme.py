"""Event hashes under RFC 8785 (scheme 2) beside qgov's own canonical JSON (scheme 1), and the
Node recipe in docs/ that recomputes them with standard tooling (ADR 0014)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rfc8785
from sqlalchemy import delete, func, select, update

from governance.audit import list_events, verify_log
from governance.db import transaction
from governance.signing import checkpoint
from lineage import EventLog, NewEvent, event_hash, schema
from lineage.checkpoints import MerkleStore

RECIPE = Path(__file__).resolve().parents[2] / "docs" / "verify-events.mjs"
PAYLOADS = [
    {"name": "Zürich \u2028 line", "emoji": "\U0001f600", "nested": {"b": [1, None, {"z": None}], "a": "x"}},
    {"missing": None, "third": 1 / 3, "epsilon": 0.1, "n": 3},
    # where Python's repr and ECMAScript's number form differ: only scheme 2 (JCS) is portable
    {"big": 1e21, "tiny": 1e-7, "small": 1e-5, "neg": -0.0, "total": 1.0},
]


def _append(app) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.engine) as conn:
        EventLog(conn).append_many(
            [NewEvent("artifact.fetched", "alice", [f"a{i}"], p) for i, p in enumerate(PAYLOADS)]
        )


def _events(app) -> int:  # type: ignore[no-untyped-def]
    """How many events the store holds (its set-up already wrote some: the policy, the admin)."""
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.events)).scalar_one())


def _to_scheme_1(app, upto: int) -> None:  # type: ignore[no-untyped-def]
    """Make the first ``upto`` events what a store written before 0012 holds, and re-sign."""
    with app.engine.begin() as conn:
        prev = "0" * 64
        for stored in list(EventLog(conn).iter_events()):
            body = stored.body
            scheme = 1 if body.seq <= upto else body.hash_scheme
            digest = event_hash(type(body)(**{**body.__dict__, "prev_hash": prev, "hash_scheme": scheme}))
            conn.execute(
                update(schema.events)
                .where(schema.events.c.seq == body.seq)
                .values(prev_hash=prev, hash=digest, hash_scheme=scheme)
            )
            prev = digest
        conn.execute(update(schema.chain_head).values(hash=prev))
        conn.execute(delete(schema.checkpoints))
        conn.execute(delete(schema.merkle_tiles))
        MerkleStore(conn).checkpoint(app.signer)
    shutil.rmtree(app.settings.witness_dir)


def test_new_events_are_hashed_with_rfc_8785(app) -> None:  # type: ignore[no-untyped-def]
    _append(app)
    events = list_events(app)
    assert {e["schema"] for e in events} == {"qgov.event/v2"}
    for e in events:
        body = {k: e[k] for k in ("schema", "seq", "event_id", "type", "occurred_at", "actor_ref", "subjects")}
        body |= {"payload": e["payload"], "prev_hash": e["prev_hash"]}
        assert hashlib.sha256(rfc8785.dumps(body)).hexdigest() == e["hash"]
    assert verify_log(app).ok


def test_a_store_with_events_of_both_schemes_verifies(app) -> None:  # type: ignore[no-untyped-def]
    before = _events(app)
    assert before >= 2
    _append(app)
    _to_scheme_1(app, 2)
    with app.engine.connect() as conn:
        schemes = [r.hash_scheme for r in conn.execute(select(schema.events.c.hash_scheme).order_by("seq"))]
    assert schemes == [1, 1] + [2] * (before + len(PAYLOADS) - 2)
    report = verify_log(app)
    assert report.ok, report
    _append(app)  # and the log goes on, in scheme 2
    assert verify_log(app).ok


def test_switching_an_events_scheme_is_tampering(app) -> None:  # type: ignore[no-untyped-def]
    _append(app)
    with app.engine.begin() as conn:
        conn.execute(update(schema.events).where(schema.events.c.seq == 3).values(hash_scheme=1))
    report = verify_log(app)
    assert not report.chain.ok and report.chain.first_bad_seq == 3 and "edited" in (report.chain.problem or "")


def test_an_integer_rfc_8785_cannot_hold_is_refused_with_its_reason(app) -> None:  # type: ignore[no-untyped-def]
    from qgov.errors import InputError

    with pytest.raises(InputError, match="RFC 8785"), transaction(app.engine) as conn:
        EventLog(conn).append(NewEvent("artifact.fetched", "alice", ["a"], {"n": 2**60}))


def _node(*args: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the recipe's algorithm is checked by the tests above")
    return subprocess.run([node, str(RECIPE), *map(str, args)], capture_output=True, text=True, timeout=60, check=False)


def test_the_node_recipe_recomputes_every_hash_and_the_checkpoint_root(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _events(app)
    _append(app)
    _to_scheme_1(app, 3)  # events of both schemes, as an upgraded store holds
    _append(app)
    exported, note = tmp_path / "events.json", tmp_path / "checkpoint.txt"
    exported.write_text(json.dumps({"events": list_events(app)}), encoding="utf-8")
    note.write_text(checkpoint(app).note, encoding="utf-8")
    proc = _node(exported, note)
    assert proc.returncode == 0 and proc.stdout.startswith(f"ok {before + 2 * len(PAYLOADS)} events"), (
        proc.stdout + proc.stderr
    )
    assert f"checkpoint of {before + 2 * len(PAYLOADS)} events matches" in proc.stdout

    doc = json.loads(exported.read_text(encoding="utf-8"))
    doc["events"][5]["payload"]["epsilon"] = 0.01  # an edited event
    exported.write_text(json.dumps(doc), encoding="utf-8")
    proc = _node(exported, note)
    assert proc.returncode == 1 and proc.stdout.startswith("FAIL event #6: content hashes to"), proc.stdout
