"""Ingest through the Prefect flow into SQLite and PostgreSQL, with real files and blobs."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from flows.ingest import IngestReport, ingest_flow
from flows.session import flow_args
from governance import tables as t
from governance.catalog import DatasetSpec, list_artifacts, list_quarantine, register_dataset
from governance.content import fetch
from governance.sample_data import calibration_table
from lineage import EventLog, schema
from qgov.errors import AccessDenied, InputError, NotFoundError
from tests.conftest import grant_self

EXPECTATIONS = [
    {"expectation": "expect_column_values_to_be_between", "column": "cnot_error", "min_value": 0, "max_value": 1},
    {"expectation": "expect_column_values_to_not_be_null", "column": "qubit"},
]


def _register(app, name: str = "calib", expectations: list | None = None) -> None:  # type: ignore[no-untyped-def]
    register_dataset(
        app,
        DatasetSpec(
            name=name,
            owner="alice",
            subject={"type": "quantum_computer", "physical_qubits": 27},
            research={"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False},
            expectations=expectations or [],
        ),
    )


@pytest.fixture
def ingest(app, run_flow):  # type: ignore[no-untyped-def]
    def _ingest(path: Path, dataset: str = "calib", **kwargs) -> IngestReport:  # type: ignore[no-untyped-def]
        return run_flow(ingest_flow, *flow_args(app.settings), str(path), dataset, **kwargs)

    return _ingest


def _count(app, table) -> int:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_folder_is_described_encrypted_and_logged(app, ingest, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    report = ingest(sample_tree)
    paths = {a["path"]: a for a in report.artifacts}
    assert set(paths) == {
        "calibration.csv",
        "readout_measurements.h5",
        "circuits/ghz5.qasm",
        "circuits/bell.qasm",
        "device.json",
    }
    assert report.ingested == 5 and not report.failed and not report.quarantined
    for rel, art in paths.items():
        assert art["sha256"] == hashlib.sha256((sample_tree / rel).read_bytes()).hexdigest()
    by_path = {a.path: a for a in list_artifacts(app, "calib")}
    assert by_path["calibration.csv"].format["rows"] == 24
    assert by_path["circuits/ghz5.qasm"].format["qubits"] == 5
    assert by_path["circuits/ghz5.qasm"].format["gate_counts"] == {"cx": 4, "h": 1}
    assert by_path["circuits/bell.qasm"].format["version"] == "2.0"
    assert "qubit_00/iq_ground" in by_path["readout_measurements.h5"].format["datasets"]
    # one artifact.ingested event per artifact, in the same store, and the chain verifies
    with app.engine.connect() as conn:
        types = [r.type for r in conn.execute(select(schema.events.c.type))]
        assert types.count("artifact.ingested") == 5
        assert EventLog(conn).verify().ok


def test_stored_objects_hold_no_plaintext(app, ingest, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    ingest(sample_tree)
    blob_root = Path(app.settings.storage_url)
    stored = [p for p in blob_root.rglob("*") if p.is_file()]
    assert len(stored) == 5
    csv_head = (sample_tree / "calibration.csv").read_bytes()[:40]
    for blob in stored:
        data = blob.read_bytes()
        assert csv_head not in data and b"OPENQASM" not in data and b"\x89HDF" not in data
    assert not list((blob_root / "tmp").iterdir())


def test_reingest_ingests_nothing_twice(app, ingest, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    first = ingest(sample_tree)
    events_before = _count(app, schema.events)
    second = ingest(sample_tree)
    assert second.ingested == 0 and second.unchanged == 5
    assert {a["id"] for a in second.artifacts} == {a["id"] for a in first.artifacts}
    assert _count(app, t.artifacts) == 5 and _count(app, t.blobs) == 5
    assert _count(app, schema.events) == events_before + 1  # only the run record


def test_same_content_twice_is_stored_once(app, ingest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    folder = tmp_path / "dup"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"\x01" * 5000)
    (folder / "b.bin").write_bytes(b"\x01" * 5000)
    report = ingest(folder)
    assert report.ingested == 2
    assert _count(app, t.blobs) == 1


def test_failing_expectations_quarantine_the_file(app, ingest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app, expectations=EXPECTATIONS)
    folder = tmp_path / "cal"
    folder.mkdir()
    calibration_table(bad_rows=3).to_csv(folder / "bad.csv", index=False)
    calibration_table(seed=3).to_csv(folder / "good.csv", index=False)
    report = ingest(folder)
    assert [a["path"] for a in report.artifacts] == ["good.csv"]
    assert [q["path"] for q in report.quarantined] == ["bad.csv"]
    assert "cnot_error: 3 of 24 rows failed" in report.quarantined[0]["reason"]
    held = list_quarantine(app, "calib")
    assert held[0]["report"]["results"]
    # the report keeps counts and row positions, never the values themselves
    assert "1.7" not in str(held[0]["report"])
    assert _count(app, t.blobs) == 1
    again = ingest(folder)
    assert len(list_quarantine(app, "calib")) == 1 and again.ingested == 0


def test_unreadable_and_malformed_files_are_reported_not_ingested(app, ingest, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ok.json").write_text('{"a": 1}')
    (folder / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 64)
    (folder / "broken.qasm").write_text("OPENQASM 3.0;\nqubit[2 q;\nh q[0];\n")
    (folder / "gone.csv").symlink_to(folder / "missing-target.csv")
    report = ingest(folder)
    assert [a["path"] for a in report.artifacts] == ["ok.json"]
    errors = {f["path"]: f["error"] for f in report.failed}
    assert set(errors) == {"broken.h5", "broken.qasm"}
    assert errors["broken.h5"].startswith("broken.h5: not a valid HDF5 file")
    assert errors["broken.qasm"].startswith("broken.qasm: not a valid OpenQASM file (syntax error")
    assert all("\n" not in e for e in errors.values())
    # a (dangling) link is never followed: it is skipped, with its reason
    assert [(s["path"], s["reason"].split(";")[0]) for s in report.skipped] == [("gone.csv", "a symbolic link")]


def test_unknown_dataset_and_missing_path_are_input_errors(app, ingest, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="dataset 'nope' is not registered"):
        ingest(sample_tree, dataset="nope")
    _register(app)
    with pytest.raises(InputError, match="no such file or directory"):
        ingest(tmp_path / "absent")


def test_dvc_repo_records_revision_md5_and_stage_lineage(app, ingest, dvc_repo: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    report = ingest(dvc_repo)
    assert report.git_rev and len(report.git_rev) == 40
    assert report.dvc_stages == 1
    arts = {a.path: a for a in list_artifacts(app, "calib")}
    assert {"data/calibration.csv", "results/fit_params.json", "src/fit.py", "dvc.yaml", "dvc.lock"} <= set(arts)
    raw = arts["data/calibration.csv"]
    expected_md5 = hashlib.md5((dvc_repo / "data/calibration.csv").read_bytes()).hexdigest()
    assert raw.source["dvc_md5"] == expected_md5 and raw.source["dvc_status"] == "matches"
    assert raw.source["git_rev"] == report.git_rev
    with app.engine.connect() as conn:
        stage = conn.execute(select(schema.nodes.c.id).where(schema.nodes.c.type == "dvc_stage")).scalar_one()
        named = schema.edges_by_id()
        edges = conn.execute(select(named).where((named.c.child_id == stage) | (named.c.parent_id == stage))).all()
        ingest_runs = conn.execute(select(schema.nodes).where(schema.nodes.c.type == "ingest")).all()
    # every artifact was generated by the ingest run, associated with the person and the flow
    assert len(ingest_runs) == 1 and ingest_runs[0].name == "ingest calib"
    assert {e.relation for e in edges} == {"used", "wasGeneratedBy", "wasAssociatedWith"}
    generated = [e for e in edges if e.relation == "wasGeneratedBy"]
    used = {e.parent_id for e in edges if e.relation == "used"}
    assert [e.child_id for e in generated] == [arts["results/fit_params.json"].id]
    activity = generated[0].parent_id
    assert used == {arts["data/calibration.csv"].id, arts["src/fit.py"].id}
    assert all(e.child_id == activity for e in edges if e.relation == "used")
    # re-ingesting the same revision records the stage once
    assert ingest(dvc_repo).dvc_stages == 0


def test_fetch_returns_the_exact_bytes_and_logs_the_access(app, ingest, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _register(app)
    report = ingest(sample_tree)
    art = next(a for a in report.artifacts if a["path"] == "readout_measurements.h5")
    out = tmp_path / "out.h5"
    grant_self(app, [art["id"]])
    fetch(app, art["id"], out)
    assert out.read_bytes() == (sample_tree / "readout_measurements.h5").read_bytes()
    with app.engine.connect() as conn:
        assert "artifact.fetched" in [e.body.type for e in EventLog(conn).iter_events(subject=art["id"])]


def test_fetch_is_refused_to_a_user_without_a_role(app, ingest, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.app import App

    _register(app)
    art = ingest(sample_tree).artifacts[0]
    mallory = App(app.settings.model_copy(update={"user": "mallory"}))
    try:
        with pytest.raises(AccessDenied, match="user 'mallory' may not fetch .*: no valid grant covers it"):
            fetch(mallory, art["id"], tmp_path / "x")
    finally:
        mallory.close()
    assert not (tmp_path / "x").exists()


def test_sqlite_runs_wal_with_full_sync(app) -> None:  # type: ignore[no-untyped-def]
    if not app.settings.is_sqlite:
        pytest.skip("SQLite-only pragma check")
    with app.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


def test_key_file_is_private(app) -> None:  # type: ignore[no-untyped-def]
    assert os.stat(app.settings.key_file).st_mode & 0o777 == 0o600


def test_same_content_in_two_datasets_is_one_blob_readable_from_both(
    app, ingest, sample_tree: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _register(app, "calib")
    _register(app, "calib-copy")
    first = ingest(sample_tree, "calib")
    second = ingest(sample_tree, "calib-copy")
    assert second.ingested == 5 and _count(app, t.blobs) == 5
    assert {a["id"] for a in first.artifacts}.isdisjoint({a["id"] for a in second.artifacts})
    grant_self(app, [second.artifacts[0]["id"]])
    fetch(app, second.artifacts[0]["id"], tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == (sample_tree / second.artifacts[0]["path"]).read_bytes()


def test_a_blob_left_without_its_row_by_a_crash_is_replaced(app, ingest, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qgov.private_files import make_private_dir
    from storage import object_key

    _register(app)
    sha = hashlib.sha256((sample_tree / "device.json").read_bytes()).hexdigest()
    orphan = Path(app.settings.storage_url) / object_key(sha)
    make_private_dir(orphan.parent)  # as qgov creates it
    orphan.write_bytes(b"ciphertext under a data key that was never committed")
    report = ingest(sample_tree)
    art = next(a for a in report.artifacts if a["path"] == "device.json")
    grant_self(app, [art["id"]])
    fetch(app, art["id"], tmp_path / "device.json")
    assert (tmp_path / "device.json").read_bytes() == (sample_tree / "device.json").read_bytes()
