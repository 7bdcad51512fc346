"""`qgov release`, `qgov budget` and `qgov releases` as a data manager, researcher and officer run them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from governance.sample_data import calibration_table
from tests.conftest import cli_add_self


def _ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert text in lines[0], lines[0]


@pytest.fixture
def store(cli, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """A controlled calibration table with a privacy profile (ε 1) and alice registered."""
    _ok(cli("init", "--name", "alice", "--json"))
    table = tmp_path / "calib"
    table.mkdir()
    calibration_table(qubits=500, seed=4).to_csv(table / "calibration.csv", index=False)
    profile = tmp_path / "privacy.yaml"
    profile.write_text(
        yaml.safe_dump(
            {"contributions": 1, "budget": {"epsilon": "1.0", "delta": "0"}, "columns": {"t1_us": {"bounds": [0, 400]}}}
        )
    )
    args = ["--subject-type", "quantum_computer", "--param", "physical_qubits=120", "--param", "cnot_error=0.0008"]
    args += ["--fundamental", "no", "--intended-for-publication", "no", "--restrictions-accepted", "yes"]
    _ok(cli("dataset", "register", "sponsor", *args, "--privacy", str(profile), "--json"))
    assert cli("ingest", str(table), "-d", "sponsor").returncode == 0
    cli_add_self(cli)
    return "sponsor"


def test_a_researcher_gets_a_dp_mean_and_then_a_refusal_with_what_remains(cli, store) -> None:  # type: ignore[no-untyped-def]
    ask = ["release", store, "--stat", "mean", "--column", "t1_us", "--purpose", "paper", "--json"]
    doc = _ok(cli(*ask, "--epsilon", "0.5"))
    assert {"value", "epsilon_spent", "budget_remaining", "accuracy", "release_id"} <= set(doc)
    assert doc["status"] == "released" and doc["epsilon_spent"] == 0.5 and doc["budget_remaining"] == 0.5
    again = _ok(cli(*ask, "--epsilon", "0.5"))
    assert again["release_id"] == doc["release_id"] and again["repeat"] and again["epsilon_spent"] == 0.0
    _ok(cli("release", store, "--stat", "count", "--column", "t1_us", "--epsilon", "0.4", "--purpose", "n", "--json"))
    refused = cli(
        "release", store, "--stat", "sum", "--column", "t1_us", "--epsilon", "0.2", "--purpose", "s", "--json"
    )
    assert refused.returncode == 1
    body = json.loads(refused.stdout)
    assert body["status"] == "refused" and "has ε 0.1 of 1 left" in body["error"]
    shown = _ok(cli("budget", "show", store, "--json"))
    assert shown["epsilon"] == {"total": "1", "spent": "0.9", "reserved": "0", "remaining": "0.1"}
    assert shown["ledger_consistent"] and len(shown["releases"]) == 3
    human = cli("budget", "show", store)
    assert human.returncode == 0 and "ε 0.1 remaining of 1" in human.stdout


def test_above_the_cap_an_officer_approves_and_classifies(cli, store) -> None:  # type: ignore[no-untyped-def]
    queued = _ok(
        cli("release", store, "--stat", "mean", "--column", "t1_us", "--epsilon", "0.8", "--purpose", "p", "--json")
    )
    assert queued["status"] == "review" and queued["epsilon_spent"] == 0.0
    assert (
        cli("person", "add", "olga", "--citizenship", "US", "--location", "US", "--affiliation", "Lab B").returncode
        == 0
    )
    assert cli("role", "grant", "olga", "export_control_officer").returncode == 0
    done = _ok(
        cli("releases", "approve", queued["release_id"], "--reason", "aggregate only", "--json", acting_as="olga")
    )
    assert done["status"] == "released"
    classified = _ok(
        cli(
            "releases",
            "classify",
            queued["release_id"],
            "--as",
            "EAR99",
            "--reason",
            "a mean",
            "--json",
            acting_as="olga",
        )
    )
    assert classified["classification"] == "EAR99"
    events = _ok(cli("audit", "events", "--subject", queued["release_id"], "--json"))["events"]
    assert [e["type"] for e in events] == [
        "release.requested",
        "release.approved",
        "budget.reserved",
        "release.published",
        "release.reviewed",
    ]
    assert _ok(cli("audit", "verify", "--json"))["ok"]


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--epsilon", "0"], 2, "error: --epsilon: expected a privacy loss greater than 0"),
        (["--epsilon", "nan"], 2, "error: --epsilon: expected a finite number"),
        (["--epsilon", "-1"], 2, "error: --epsilon: expected a privacy loss greater than 0"),
        (["--epsilon", "0.1", "--column", "nope"], 2, "error: --column nope: not declared"),
        (["--epsilon", "0.1", "--stat", "median"], 2, "error: --stat: expected one of"),
    ],
    ids=["zero", "nan", "negative", "unknown column", "unknown stat"],
)
def test_bad_release_requests_are_one_line_errors(cli, store, args, code, text) -> None:  # type: ignore[no-untyped-def]
    base = {"--stat": "mean", "--column": "t1_us", "--purpose": "p"}
    for i in range(0, len(args), 2):
        base[args[i]] = args[i + 1]
    flat = [x for kv in base.items() for x in kv]
    _one_line_error(cli("release", store, *flat), code, text)


def test_a_profile_with_bad_bounds_registers_nothing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _ok(cli("init", "--name", "alice", "--json"))
    profile = tmp_path / "privacy.yaml"
    profile.write_text("contributions: 1\ncolumns: {t1_us: {bounds: [5]}}\n")
    _one_line_error(cli("dataset", "register", "x", "--privacy", str(profile)), 2, "columns.t1_us.bounds")
    assert _ok(cli("dataset", "list", "--json")) in ([], {"datasets": []})


def test_preview_prints_the_expected_accuracy_and_spends_and_records_nothing(cli, store) -> None:  # type: ignore[no-untyped-def]
    events = len(_ok(cli("audit", "events", "--json"))["events"])
    ask = ["release", store, "--stat", "mean", "--column", "t1_us", "--epsilon", "0.5", "--preview"]
    doc = _ok(cli(*ask, "--size", "500", "--json"))
    assert doc["status"] == "preview" and doc["epsilon_spent"] == 0.0 and doc["fits_budget"]
    assert doc["accuracy"]["plus_minus"] < 40 and doc["warnings"] == []
    human = cli(*ask)
    assert human.returncode == 0 and "preview" in human.stdout and "nothing spent" in human.stdout
    assert "±10% of the bounds' range needs about" in human.stdout
    shown = _ok(cli("budget", "show", store, "--json"))
    assert shown["epsilon"]["spent"] == "0" and shown["releases"] == []
    assert len(_ok(cli("audit", "events", "--json"))["events"]) == events


def test_blank_and_text_cells_are_handled_in_the_release_and_a_pinned_mean_warns(cli, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "holes"
    folder.mkdir()
    table = calibration_table(qubits=200, seed=6).astype({"t1_us": object})
    table.loc[37, "t1_us"] = None
    table.loc[11, "t1_us"] = "re-run"
    table.to_csv(folder / "calibration.csv", index=False)
    profile = tmp_path / "holes.yaml"
    columns = {"t1_us": {"bounds": [0, 400], "missing": {"impute": 0}}, "t2_us": {"bounds": [0, 20]}}
    profile.write_text(
        yaml.safe_dump({"contributions": 1, "budget": {"epsilon": "5", "delta": "0"}, "columns": columns})
    )
    _ok(cli("dataset", "register", "holes", "--privacy", str(profile), "--json"))
    assert cli("ingest", str(folder), "-d", "holes").returncode == 0
    ask = ["release", "holes", "--stat", "sum", "--column", "t1_us", "--epsilon", "0.5", "--purpose", "p"]
    done = cli(*ask, "--json")
    doc = _ok(done)
    assert doc["status"] == "released" and "row 38" not in done.stdout + done.stderr
    pinned = cli("release", "holes", "--stat", "mean", "--column", "t2_us", "--epsilon", "0.5", "--purpose", "p")
    assert pinned.returncode == 0 and "warning" in pinned.stdout and "bound 20" in pinned.stdout


def test_a_release_left_unfinished_by_a_kill_is_an_error_not_an_empty_success(cli, store, env) -> None:  # type: ignore[no-untyped-def]
    """`qgov release` killed while computing leaves its ε reserved; asking the same question again
    returns that release, which has no statistic: exit 1 with one line saying what to do."""
    import os
    import signal
    import time

    from sqlalchemy import create_engine, text

    from tests.conftest import QGOV

    engine = create_engine(env["QGOV_DATABASE_URL"])
    environ = {**os.environ, **env}
    try:
        for attempt in range(8):  # the kill must land between the reservation and the commit
            ask = ["release", store, "--stat", "mean", "--column", "t1_us", "--purpose", f"try {attempt}"]
            ask += ["--epsilon", f"0.0{attempt + 1}"]
            proc = subprocess.Popen([QGOV, *ask], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            status = None
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                with engine.connect() as conn:
                    status = conn.execute(text("SELECT status FROM releases ORDER BY created_at DESC LIMIT 1")).scalar()
                if status == "reserved":
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.002)
            proc.wait()
            if status == "reserved" and proc.returncode == -signal.SIGKILL:
                break
        else:
            pytest.skip("the kill never landed while a release was computing")
    finally:
        engine.dispose()
    again = cli(*ask)
    _one_line_error(again, 1, "did not finish")
    assert "qgov budget reconcile" in again.stderr
    as_json = cli(*ask, "--json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert doc["status"] == "reserved" and "value" not in doc and "did not finish" in doc["error"]
