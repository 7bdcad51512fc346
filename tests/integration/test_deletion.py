"""Deletion by crypto-shredding, certificates, the retention sweep, and holds racing deletions."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.audit import verify_log
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.deletion import check_certificate, delete_artifact, plan_deletion
from governance.derivation import record_derivation
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person
from governance.retention import place_hold
from governance.sweep import sweep
from lineage import EventLog
from lineage.note import NoteSigner, generate_signing_key
from qgov.errors import AccessDenied, IntegrityError, NotFoundError
from storage import object_key

OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}


@pytest.fixture
def store(app, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """raw.csv -> fit.json -> figure.json (derived), plus copy.csv with raw.csv's exact bytes."""
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    folder = tmp_path / "calib"
    folder.mkdir()
    (folder / "raw.csv").write_text("qubit,t1\n0,51.2\n1,48.9\n")
    (folder / "copy.csv").write_text("qubit,t1\n0,51.2\n1,48.9\n")
    (folder / "fit.json").write_text('{"t1": 50}')
    (folder / "figure.json").write_text('{"figure": 3}')
    register_dataset(app, DatasetSpec(name="calib", owner="alice", **OPEN))
    plan = plan_ingest(app, folder, "calib")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    ids = {a.path: a.id for a in list_artifacts(app, "calib")}
    record_derivation(app, "fit", [ids["raw.csv"]], [ids["fit.json"]])
    record_derivation(app, "plot", [ids["fit.json"]], [ids["figure.json"]])
    return ids


def _blob_path(app, artifact: str) -> Path:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        sha = conn.execute(select(t.artifacts.c.sha256).where(t.artifacts.c.id == artifact)).scalar_one()
    return Path(app.settings.storage_url) / object_key(sha)


def test_the_dry_run_shows_what_would_go_and_changes_nothing(app, store) -> None:  # type: ignore[no-untyped-def]
    plan = plan_deletion(app, store["raw.csv"])
    assert {d["path"] for d in plan["deletes"]} == {"raw.csv", "copy.csv"}  # the same bytes: one object
    assert {d["path"] for d in plan["downstream_losing_a_source"]} == {"fit.json", "figure.json"}
    assert plan["holds"] == [] and plan["dry_run"] is True
    assert _blob_path(app, store["raw.csv"]).exists()


def test_deletion_leaves_no_data_a_clear_refusal_and_a_certificate_that_verifies(app, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blob = _blob_path(app, store["raw.csv"])
    with pytest.raises(AccessDenied, match="under retention until"):
        delete_artifact(app, store["raw.csv"], "sponsor contract ended")
    signed = delete_artifact(app, store["raw.csv"], "sponsor contract ended", before_retention_end=True)
    cert = signed["certificate"]
    assert not blob.exists()  # ciphertext gone; the data key was destroyed before that
    with app.engine.connect() as conn:
        row = conn.execute(select(t.blobs).where(t.blobs.c.object_id == cert["artifacts"][0]["sha256"])).one()
        stored = list(EventLog(conn).iter_events())
    assert row.wrapped_key is None and row.shredded_at is not None
    assert not any(b"51.2" in p.read_bytes() for p in Path(app.settings.storage_url).rglob("*") if p.is_file())
    with pytest.raises(NotFoundError, match=r"was deleted on .* by alice \(certificate " + cert["certificate_id"]):
        fetch(app, store["copy.csv"], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()
    deleted = next(e for e in stored if e.body.type == "artifact.deleted")
    assert cert["event"] == {"event_id": deleted.body.event_id, "seq": deleted.body.seq, "hash": deleted.hash}
    vkey = app.signer.verifier_key()
    assert check_certificate(signed, [vkey], None)["reason"] == "sponsor contract ended"
    assert verify_log(app).ok  # deleting never edits the log
    for field, value in [("reason", "routine"), ("deleted_by", "mallory"), ("deleted_at", "2020-01-01T00:00:00Z")]:
        forged = copy.deepcopy(signed)
        forged["certificate"][field] = value
        with pytest.raises(IntegrityError, match=f"field '{field}' was changed"):
            check_certificate(forged, [vkey], None)
    other = NoteSigner(generate_signing_key("someone.else")).verifier_key()
    with pytest.raises(IntegrityError):
        check_certificate(signed, [other], None)


def test_a_hold_on_a_derived_output_blocks_deleting_its_sources(app, store) -> None:  # type: ignore[no-untyped-def]
    hold = place_hold(app, "figure 3 is under review", artifact=store["figure.json"])
    assert set(hold) >= {"hold"}
    with pytest.raises(AccessDenied, match=f"held by legal hold {hold['hold']}"):
        delete_artifact(app, store["raw.csv"], "cleanup", before_retention_end=True)
    assert _blob_path(app, store["raw.csv"]).exists()


def test_the_sweep_honours_schedules_and_holds_and_is_a_dry_run_by_default(app, store) -> None:  # type: ignore[no-untyped-def]
    later = datetime.now(UTC) + timedelta(days=366 * 6)  # past the 5 years of data that is not controlled
    place_hold(app, "keep the figure", artifact=store["figure.json"])
    dry = sweep(app, act=False, at=later)
    assert dry["dry_run"] and {e["path"] for e in dry["held"]} >= {"raw.csv", "fit.json", "figure.json"}
    assert dry["deleted"] == [] and "copy.csv" in {e["path"] for e in dry["held"]}  # shares raw.csv's bytes
    assert _blob_path(app, store["raw.csv"]).exists()
    done = sweep(app, act=True, at=later)
    with app.engine.connect() as conn:
        gone = {r.path for r in conn.execute(select(t.artifacts).where(t.artifacts.c.deleted_at.is_not(None)))}
    assert "figure.json" not in gone and "raw.csv" not in gone  # held, so also its sources
    assert {e["path"] for e in done["held"]} >= {"raw.csv", "fit.json", "figure.json"}
    assert verify_log(app).ok


def test_the_sweep_deletes_what_is_due_with_a_certificate_each(app, store) -> None:  # type: ignore[no-untyped-def]
    assert sweep(app, act=True)["deleted"] == []  # nothing is due today
    later = datetime.now(UTC) + timedelta(days=366 * 6)
    done = sweep(app, act=True, at=later)
    paths = {e["path"] for e in done["deleted"]}
    assert {"fit.json", "figure.json"} <= paths and len(paths & {"raw.csv", "copy.csv"}) == 1  # same bytes: one
    for entry in done["deleted"]:
        from governance.deletion import get_certificate

        signed = get_certificate(app, entry["certificate"])
        assert check_certificate(signed, [app.signer.verifier_key()], None)["reason"].startswith("retention schedule")
    with app.engine.connect() as conn:
        alive = conn.execute(select(t.artifacts).where(t.artifacts.c.deleted_at.is_(None))).all()
    assert alive == [] and verify_log(app).ok


def test_a_crash_between_shredding_and_removal_is_finished_by_the_next_sweep(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import governance.deletion

    monkeypatch.setattr(governance.deletion, "complete_removals", lambda app: 0)  # the process "dies" here
    delete_artifact(app, store["figure.json"], "withdrawn", before_retention_end=True)
    blob = _blob_path(app, store["figure.json"])
    assert blob.exists()  # ciphertext left, but its key is already destroyed
    monkeypatch.undo()
    report = sweep(app, act=True)
    assert report["ciphertext_removed"] == 1 and not blob.exists()
    assert sweep(app, act=True)["ciphertext_removed"] == 0


_RACE = textwrap.dedent(
    """
    import json, sys
    from governance.app import App
    from governance.config import load_settings
    from qgov.errors import QgovError
    env, what, artifact = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
    app = App(load_settings(env).model_copy(update={"user": "alice"}))
    try:
        if what == "hold":
            from governance.retention import place_hold
            print(json.dumps({"hold": place_hold(app, "race", artifact=artifact)["hold"]}))
        else:
            from governance.deletion import delete_artifact
            print(json.dumps({"certificate": delete_artifact(app, artifact, "race", True)["certificate"]["certificate_id"]}))
    except QgovError as exc:
        print(json.dumps({"refused": exc.diagnostics()}))
    finally:
        app.close()
    """
)


@pytest.mark.parametrize("round_", range(3))
def test_a_hold_racing_a_deletion_never_holds_shredded_data(app, store, env, round_) -> None:  # type: ignore[no-untyped-def]
    run = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    hold = subprocess.Popen(
        [sys.executable, "-c", _RACE, json.dumps(env), "hold", store["figure.json"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run,
    )
    delete = subprocess.Popen(
        [sys.executable, "-c", _RACE, json.dumps(env), "delete", store["raw.csv"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run,
    )
    outcomes = {}
    for name, proc in (("hold", hold), ("delete", delete)):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outcomes[name] = json.loads(out.strip().splitlines()[-1])
    with app.engine.connect() as conn:
        events = {
            e.body.type: e for e in EventLog(conn).iter_events() if e.body.type in ("hold.placed", "artifact.deleted")
        }
        raw = conn.execute(select(t.artifacts).where(t.artifacts.c.id == store["raw.csv"])).one()
        key = conn.execute(select(t.blobs.c.wrapped_key).where(t.blobs.c.object_id == raw.sha256)).scalar_one()
    assert "hold" in outcomes["hold"]  # a hold on the figure is always placed
    if "refused" in outcomes["delete"]:  # the hold came first: the data is intact and held
        assert "held by legal hold" in outcomes["delete"]["refused"]
        assert raw.deleted_at is None and key is not None
        assert store["raw.csv"] in events["hold.placed"].body.payload["covers"]
    else:  # the deletion came first: the log never calls the shredded data held
        assert events["artifact.deleted"].body.seq < events["hold.placed"].body.seq
        assert store["raw.csv"] not in events["hold.placed"].body.payload["covers"]
        assert raw.deleted_at is not None and key is None
    assert verify_log(app).ok
