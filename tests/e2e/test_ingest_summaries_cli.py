"""`qgov ingest` summaries as a data manager reads them: each artifact's classification,
expectations limited to the files they name, quarantine that follows the folder, deleted
files named as such, and a DVC clone whose data is still in its remote."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from qgov.errors import StorageError
from tests.dvc_pipeline import DVC, clone

EXPECTATIONS = """
- expectation: expect_column_values_to_be_between
  column: cnot_error
  min_value: 0
  max_value: 1
  files: "calib*.csv"
- expectation: expect_column_values_to_not_be_null
  column: qubit
  files: ["calib*.csv", "runs/*.csv"]
"""


def _out(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout + proc.stderr  # results and diagnostics, wherever each is written


def _register_controlled(cli, name: str, expectations: Path) -> None:  # type: ignore[no-untyped-def]
    registered = cli(
        "dataset",
        "register",
        name,
        "--subject-type",
        "quantum_computer",
        "--param",
        "physical_qubits=120",
        "--param",
        "cnot_error=0.0008",
        "--fundamental",
        "no",
        "--expectations",
        str(expectations),
    )
    assert registered.returncode == 0, registered.stderr


def test_summary_shows_classification_expectations_per_file_and_quarantine_that_follows_the_folder(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path
) -> None:
    assert cli("init").returncode == 0
    spec = tmp_path / "expectations.yaml"
    spec.write_text(EXPECTATIONS)
    _register_controlled(cli, "calib", spec)
    run = tmp_path / "run"
    (run / "runs").mkdir(parents=True)
    (run / "calib_good.csv").write_text("qubit,cnot_error\n0,0.01\n1,0.02\n")
    (run / "calib_bad.csv").write_text("qubit,cnot_error\n0,0.01\n1,1.5\n")
    (run / "other.csv").write_text("a,b\n1,2\n")  # no expectation names it: not checked, not quarantined
    (run / "runs" / "r1.csv").write_text("cnot_error\n0.01\n")  # lacks the column an expectation needs

    first = cli("ingest", str(run), "--dataset", "calib", extra_env={"COLUMNS": "250"})
    assert first.returncode == 1, first.stderr
    text = _out(first)
    assert "2 new, 0 unchanged, 2 quarantined" in text
    assert "quarantined calib_bad.csv: expect_column_values_to_be_between on cnot_error: 1 of 2 rows failed" in text
    assert "quarantined runs/r1.csv: expect_column_values_to_not_be_null: column 'qubit' is not in the table" in text
    assert "BatchData" not in text and "Traceback" not in text
    assert text.count("4E906") == 2  # the classification column of both ingested files
    assert "—" not in text

    (run / "calib_bad.csv").write_text("qubit,cnot_error\n0,0.01\n1,0.5\n")  # fixed
    second = cli("ingest", str(run), "--dataset", "calib", "--json")
    assert second.returncode == 1, second.stderr  # runs/r1.csv still fails
    doc = json.loads(second.stdout)
    assert [q["path"] for q in doc["quarantined"]] == ["runs/r1.csv"]  # still listed: it still fails
    assert {a["path"]: a["classification"] for a in doc["artifacts"]} == {
        "calib_bad.csv": "4E906",
        "calib_good.csv": "4E906",
        "other.csv": "4E906",
    }
    shown = json.loads(cli("dataset", "show", "calib", "--json").stdout)
    assert [q["path"] for q in shown["quarantine"]] == ["runs/r1.csv"]  # the fixed file is no longer held
    assert {a["classification"] for a in shown["artifact_list"]} == {"4E906"}

    good = next(a["id"] for a in doc["artifacts"] if a["path"] == "calib_good.csv")
    deleted = cli("delete", good, "--reason", "test", "--yes", "--before-retention-end")
    assert deleted.returncode == 0, deleted.stderr
    third = cli("ingest", str(run), "--dataset", "calib", "--json")
    assert third.returncode == 1
    doc = json.loads(third.stdout)
    assert [d["path"] for d in doc["deleted"]] == ["calib_good.csv"]
    assert "crypto-shredded" in doc["deleted"][0]["reason"] and doc["deleted"][0]["artifact"] == good
    assert "calib_good.csv" not in {a["path"] for a in doc["artifacts"]} and doc["unchanged"] == 2
    assert doc["skipped"] == []
    text = _out(cli("ingest", str(run), "--dataset", "calib"))
    assert "1 deleted before (not re-ingested)" in text
    assert "deleted calib_good.csv: these bytes were deleted (crypto-shredded) at this path" in text


def test_a_bad_files_glob_is_refused_in_one_line(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init").returncode == 0
    spec = tmp_path / "bad.yaml"
    spec.write_text("- expectation: expect_column_to_exist\n  column: qubit\n  files: 3\n")
    proc = cli("dataset", "register", "calib", "--expectations", str(spec))
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: expectations[0].files: expected a glob or a non-empty list of globs, got 3"


def test_dvc_clone_without_data_then_dvc_pull(cli, dvc_pipeline: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init").returncode == 0
    assert cli("dataset", "register", "egs", "--subject-type", "none").returncode == 0
    repo = clone(dvc_pipeline, tmp_path / "example-get-started")

    first = cli("ingest", str(repo), "--dataset", "egs")
    assert first.returncode == 0, first.stderr
    text = _out(first)
    assert "4 DVC stage(s) recorded as lineage" in text
    assert "5 DVC output(s) declared but absent from the workspace, recorded with their DVC hashes" in text
    assert f"'qgov ingest {repo} -d egs --dvc-pull'" in text and "DVC remote 'storage'" in text
    listed = json.loads(cli("artifact", "list", "--json").stdout)["artifacts"]
    prepare = next(a["id"] for a in listed if a["path"] == "src/prepare.py")
    traced = cli("lineage", "trace", prepare, "--downstream", extra_env={"COLUMNS": "250"})
    assert traced.returncode == 0, traced.stderr
    for stage in ("prepare", "featurize", "train", "evaluate"):
        assert f"dvc.yaml:{stage} dvc_stage" in _out(traced)
    assert "model.pkl dvc_output" in _out(traced) and "(absent: not ingested)" in _out(traced)

    pulled = cli("ingest", str(repo), "--dataset", "egs", "--dvc-pull", "--json")
    assert pulled.returncode == 0, pulled.stderr
    doc = json.loads(pulled.stdout)
    assert doc["dvc_absent"] == [] and doc["dvc_pulled"]["remote"] == "storage" and doc["dvc_pulled"]["fetched"] > 0
    assert {"model.pkl", "data/data.xml", "eval/metrics.json"} <= {a["path"] for a in doc["artifacts"]}

    offline = clone(dvc_pipeline, tmp_path / "offline")
    subprocess.run([*DVC, "remote", "modify", "storage", "url", str(tmp_path / "gone")], cwd=offline, check=True)
    failed = cli("ingest", str(offline), "--dataset", "egs", "--dvc-pull")
    assert failed.returncode == StorageError.exit_code
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: dvc pull from remote 'storage' ("), failed.stderr
    assert "could not be fetched" in lines[0]

    plain = tmp_path / "plain"
    plain.mkdir()
    refused = cli("ingest", str(plain), "--dataset", "egs", "--dvc-pull")
    assert refused.returncode == 2
    assert "--dvc-pull needs a DVC repository" in refused.stderr
