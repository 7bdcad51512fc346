"""Anomaly scan → alert → incident → containment → deadlines → closure, against a real store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.compliance.anomaly import dismiss_alert, list_alerts, scan
from governance.compliance.incidents import (
    close,
    contain,
    list_incidents,
    meet_deadline,
    open_incident,
    readiness,
    remind,
    show_incident,
)
from governance.consistency import recompute
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from governance.retention import list_holds
from lineage import EventLog
from qgov.errors import AccessDenied, InputError, NotFoundError

TRAINED = (date.today() - timedelta(days=30)).isoformat()
FILES = 16


@pytest.fixture
def lab(app: App, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A controlled dataset of 16 files granted to a researcher, and an officer."""
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(FILES):
        (folder / f"q{i:02d}.csv").write_text(f"q,t1\n{i},5{i}\n")
    subject = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
    register_dataset(app, DatasetSpec(name="sponsor", owner="alice", subject=subject, research={}))
    plan = plan_ingest(app, folder, "sponsor")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    ids = [a.id for a in list_artifacts(app, "sponsor")]
    sam, olga = app.acting_for("sam"), app.acting_for("olga")
    grant = request_access(sam, ids, "readout study", 30, "US")
    assert grant["status"] == "granted", grant
    return sam, olga, ids, str(grant["grant"])


def test_a_burst_of_controlled_fetches_is_an_alert_naming_its_evidence(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sam, olga, ids, _ = lab
    for i, artifact in enumerate(ids):
        fetch(sam, artifact, tmp_path / f"out{i}")
    result = scan(olga)
    burst = [a for a in result["alerts"] if a["rule"] == "controlled_burst"]
    assert len(burst) == 1 and burst[0]["person"] == "sam" and burst[0]["reviewer"] == "export_control_officer"
    assert f"{FILES} distinct controlled artifacts" in burst[0]["summary"]
    with olga.engine.connect() as conn:
        fetched = {
            e.body.seq: e.body.event_id for e in EventLog(conn).iter_events() if e.body.type == "artifact.fetched"
        }
    assert {e["seq"]: e["event_id"] for e in burst[0]["evidence"]} == fetched
    assert "isolation forest skipped" in result["notes"][0]  # a handful of person-days: the forest does not run
    again = scan(olga, since=datetime.fromisoformat(result["since"]))
    assert again["alerts"] == [] and again["already_known"] == len(result["alerts"])
    types = [e.body.type for e in EventLog(olga.engine.connect()).iter_events()]
    assert types.count("anomaly.alerted") == len(result["alerts"]) and types.count("anomaly.scanned") == 2


def test_refused_requests_in_a_burst_are_an_alert_for_the_requester(lab) -> None:  # type: ignore[no-untyped-def]
    sam, olga, ids, _ = lab
    for _ in range(4):
        assert request_access(sam, ids[:1], "ship it", 30, "KP")["status"] == "denied"
    alerts = [a for a in scan(olga)["alerts"] if a["rule"] == "denied_burst"]
    assert len(alerts) == 1 and alerts[0]["person"] == "sam" and len(alerts[0]["evidence"]) == 4


def test_only_officers_and_admins_scan_and_a_researcher_cannot_read_alerts(lab) -> None:  # type: ignore[no-untyped-def]
    sam, _, _, _ = lab
    with pytest.raises(AccessDenied, match="may not run compliance sweeps"):
        scan(sam)
    with pytest.raises(AccessDenied, match="may not read anomaly alerts"):
        list_alerts(sam)


def test_incident_from_an_alert_is_contained_reminded_and_closed_with_a_report(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sam, olga, ids, grant = lab
    for i, artifact in enumerate(ids):
        fetch(sam, artifact, tmp_path / f"out{i}")
    alert = next(a for a in scan(olga)["alerts"] if a["rule"] == "controlled_burst")
    opened = open_incident(olga, "bulk download of sponsor data", alert=alert["id"])
    assert opened["person"] == "sam" and opened["severity"] == "high" and opened["status"] == "open"
    assert {d["deadline"] for d in opened["deadlines"]} == {"incident.contain", "incident.vsd-decision"}
    vsd = next(d for d in opened["deadlines"] if d["deadline"] == "incident.vsd-decision")
    assert vsd["status"] == "U" and "project rule" in vsd["citation"]
    with pytest.raises(InputError, match="is already incident"):
        dismiss_alert(olga, alert["id"], "fine")
    with pytest.raises(InputError, match="is not contained"):
        close(olga, opened["id"], "retrained")

    contained = contain(olga, opened["id"], "bulk download", suspend=True, hold=True)
    assert contained["status"] == "contained"
    actions = {a["action"]: a for a in contained["containment"][0]["actions"]}
    assert actions["suspend"]["grants"] == [grant]
    assert [h["target"] for h in list_holds(olga)] == ["sam"]
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(sam, ids[0], tmp_path / "after")

    later = datetime.now(UTC) + timedelta(days=23, hours=1)  # inside the 7-day window of the 30-day deadline
    reminders = remind(olga, later)
    assert [(r["deadline"], r["kind"]) for r in reminders] == [("incident.vsd-decision", "incident.reminder")]
    assert remind(olga, later) == []  # one reminder per window
    overdue = remind(olga, later + timedelta(days=8))
    assert [r["kind"] for r in overdue] == ["incident.deadline_overdue"]

    with pytest.raises(InputError, match="deadline incident.vsd-decision is not met"):
        close(olga, opened["id"], "retrained")
    meet_deadline(olga, opened["id"], "incident.vsd-decision", "counsel: no disclosure; data stayed in the US")
    closed = close(olga, opened["id"], "grant ended; person retrained")
    assert closed["status"] == "closed" and closed["report"]["schema"] == "qgov.incident-report/v1"
    ready = closed["readiness"]
    assert ready["detect_hours"] is not None and ready["contain_hours"] >= 0 and ready["close_hours"] >= 0
    shown = show_incident(olga, opened["id"])
    types = [e["type"] for e in shown["timeline"]]
    assert types[0] == "artifact.fetched" and types.count("artifact.fetched") == FILES
    for step in ("anomaly.alerted", "incident.opened", "access.suspended", "incident.contained", "incident.closed"):
        assert step in types, step
    assert readiness(olga)["incidents"] == 1 and list_incidents(olga, "closed")[0]["id"] == opened["id"]
    with olga.engine.connect() as conn:
        assert recompute(conn) == []  # the suspension and the hold agree with the log


def test_containment_needs_an_action_and_an_officer(lab) -> None:  # type: ignore[no-untyped-def]
    sam, olga, _, _ = lab
    opened = open_incident(olga, "lost laptop", person="sam", severity="critical")
    with pytest.raises(InputError, match="name at least one action"):
        contain(olga, opened["id"], "laptop")
    with pytest.raises(AccessDenied, match="may not open, contain or close incidents"):
        contain(sam, opened["id"], "mine", suspend=True)
    with pytest.raises(InputError, match="--severity: expected one of"):
        open_incident(olga, "x", severity="huge")


def test_the_prefect_flow_scans_as_its_principal_and_sends_reminders(  # type: ignore[no-untyped-def]
    lab, env: dict[str, str], run_flow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from flows.anomaly import compliance_sweep_flow

    sam, olga, ids, _ = lab
    for i, artifact in enumerate(ids):
        fetch(sam, artifact, tmp_path / f"out{i}")
    for key, value in env.items():  # the worker's own environment, never a flow parameter
        monkeypatch.setenv(key, value)
    opened = open_incident(olga, "by hand", person="sam")
    result = run_flow(compliance_sweep_flow, principal="olga", until=datetime.now(UTC) + timedelta(days=25))
    assert [a["rule"] for a in result["scan"]["alerts"]] == ["controlled_burst"]
    assert {(r["incident"], r["deadline"], r["kind"]) for r in result["reminders"]} == {
        (opened["id"], "incident.vsd-decision", "incident.reminder"),
        (opened["id"], "incident.contain", "incident.deadline_overdue"),
    }
    with pytest.raises(AccessDenied, match="may not run compliance sweeps"):
        run_flow(compliance_sweep_flow, principal="sam")


def test_incidents_are_found_by_any_unique_prefix_of_their_id(lab) -> None:  # type: ignore[no-untyped-def]
    _, olga, _, _ = lab
    opened = open_incident(olga, "lost laptop", person="sam", severity="high")
    shown = show_incident(olga, opened["id"][:8])  # as tables print it (docs/adr/0025)
    assert shown["id"] == opened["id"]
    with pytest.raises(NotFoundError):
        show_incident(olga, "ffffffff")
