"""`qgov anomaly` and `qgov incident` as an officer runs them: scan, open, contain, deadlines, close."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from qgov.errors import AccessDenied, NotFoundError
from tests.e2e.server_support import qgov

TRAINED = (date.today() - timedelta(days=30)).isoformat()


@pytest.fixture
def burst(app: App, env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    """A researcher who fetched 16 controlled artifacts in a minute; an officer to look. This
    OS account is alice's (as ``qgov init --name alice`` maps it); she acts for the others with
    ``qgov --as``."""
    # conftest's app fixture has mapped this OS account to alice, as `qgov init --name alice` does
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(16):
        (folder / f"q{i:02d}.csv").write_text(f"q,t1\n{i},5{i}\n")
    subject = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
    register_dataset(app, DatasetSpec(name="sponsor", owner="alice", subject=subject, research={}))
    plan = plan_ingest(app, folder, "sponsor")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    ids = [a.id for a in list_artifacts(app, "sponsor")]
    sam = app.acting_for("sam")
    grant = request_access(sam, ids, "readout study", 30, "US")["grant"]
    for i, artifact in enumerate(ids):
        fetch(sam, artifact, tmp_path / f"out{i}")

    def as_(user: str, *args: str) -> subprocess.CompletedProcess[str]:
        return qgov(env, "--as", user, *args)

    return as_, grant


def _json(done: subprocess.CompletedProcess[str]) -> object:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_incident_lifecycle_from_the_command_line(burst) -> None:  # type: ignore[no-untyped-def]
    run, grant = burst
    scanned = _json(run("olga", "anomaly", "scan", "--json"))
    alert = next(a for a in scanned["alerts"] if a["rule"] == "controlled_burst")  # type: ignore[index]
    assert alert["person"] == "sam" and len(alert["evidence"]) == 16 and alert["reviewer"] == "export_control_officer"
    assert _json(run("olga", "anomaly", "scan", "--json"))["alerts"] == []  # type: ignore[index]

    opened = _json(run("olga", "incident", "open", "--title", "bulk download", "--alert", alert["id"], "--json"))
    incident = opened["id"]  # type: ignore[index]
    contained = _json(
        run(
            "olga", "incident", "contain", incident, "--reason", "bulk download", "--hold", "--suspend-grants", "--json"
        )
    )
    assert contained["status"] == "contained"  # type: ignore[index]
    assert contained["containment"][0]["actions"][1] == {"action": "suspend", "grants": [grant]}  # type: ignore[index]

    refused = run("olga", "incident", "close", incident, "--remediation", "retrained")
    assert refused.returncode == 2 and "deadline incident.vsd-decision is not met" in refused.stderr
    assert "Traceback" not in refused.stderr
    _json(
        run(
            "olga",
            "incident",
            "deadline",
            incident,
            "incident.vsd-decision",
            "--note",
            "counsel: no disclosure",
            "--json",
        )
    )
    closed = _json(run("olga", "incident", "close", incident, "--remediation", "retrained; grant ended", "--json"))
    assert closed["status"] == "closed" and closed["readiness"]["contain_hours"] is not None  # type: ignore[index]

    shown = run("olga", "incident", "show", incident)
    assert shown.returncode == 0 and "incident.closed" in shown.stdout and "artifact.fetched" in shown.stdout
    ready = _json(run("olga", "incident", "readiness", "--json"))
    assert ready["incidents"] == 1 and ready["open"] == 0  # type: ignore[index]
    listed = _json(run("olga", "anomaly", "list", "--status", "incident", "--json"))
    assert [a["id"] for a in listed] == [alert["id"]]  # type: ignore[union-attr]


def test_errors_are_one_line_with_the_contract_exit_codes(burst) -> None:  # type: ignore[no-untyped-def]
    run, _ = burst
    bad = run("olga", "anomaly", "scan", "--since", "yesterday")
    assert bad.returncode == 2 and "--since: expected an ISO 8601 time" in bad.stderr
    denied = run("sam", "anomaly", "list")
    assert denied.returncode == AccessDenied.exit_code and "user 'sam' may not read anomaly alerts" in denied.stderr
    missing = run("olga", "incident", "show", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == NotFoundError.exit_code and "does not exist" in missing.stderr
    nothing = run("olga", "incident", "open", "--title", "x", "--person", "sam")
    assert nothing.returncode == 0
    incident = _json(run("olga", "incident", "list", "--json"))[0]["id"]  # type: ignore[index]
    no_action = run("olga", "incident", "contain", incident, "--reason", "x")
    assert no_action.returncode == 2 and "name at least one action" in no_action.stderr


def test_training_appeal_and_policy_impact_from_the_command_line(burst, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _ = burst
    recorded = _json(run("olga", "training", "record", "sam", "--completed-on", date.today().isoformat(), "--json"))
    assert recorded["valid_until"] == (date.today() + timedelta(days=365)).isoformat()  # type: ignore[index]
    status = {s["person"]: s for s in _json(run("olga", "training", "status", "--json"))}  # type: ignore[union-attr]
    assert status["sam"]["days_left"] == 365
    late = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    swept = _json(run("olga", "training", "sweep", "--at", late, "--json"))
    assert {(n["person"], n["notice"]) for n in swept} >= {("sam", "lapsed")}  # type: ignore[union-attr]

    empty = tmp_path / "proposal"
    empty.mkdir()
    impact = _json(run("olga", "policy", "impact", str(empty), "--json"))
    assert impact["reclassified"] == [] and impact["grants_no_longer_approved"] == []  # type: ignore[index]
    appeals = _json(run("sam", "appeal", "list", "--json"))
    assert appeals == []
    bad = run("sam", "appeal", "file", "00000000-0000-0000-0000-000000000000", "--grounds", "please")
    assert bad.returncode == NotFoundError.exit_code and "does not exist" in bad.stderr
