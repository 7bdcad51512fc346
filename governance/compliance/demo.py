"""The demo's incident drill (``qgov demo``, its last step): one injected incident detected,
contained and closed, through the same services an officer uses."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from governance.app import App


def incident_drill(app: App, settings: Any, console: Console, say: Any) -> dict[str, Any]:
    """One injected incident, detected by the anomaly scan, contained and closed (issue 19)."""
    from datetime import UTC, datetime

    from governance.compliance.anomaly import scan
    from governance.compliance.incidents import close, contain, meet_deadline, open_incident
    from governance.live_grants import granted_artifacts
    from governance.requests import request_access

    say(
        "An incident: detected, contained, closed",
        "li.wei asks four times to take the controlled table to an embargoed destination; every request is\n"
        "refused. The anomaly scan notices the burst; the officer opens an incident, suspends li.wei's grants,\n"
        "holds everything li.wei touched, records the self-disclosure decision and closes it with a report.",
    )
    researcher = App(settings.model_copy(update={"user": "li.wei"}))
    officer = App(settings.model_copy(update={"user": "olga.officer"}))
    try:
        with app.engine.connect() as conn:
            artifact = sorted(granted_artifacts(conn, "li.wei", datetime.now(UTC)))[0]
        for _ in range(4):
            request_access(researcher, [artifact], "share with a partner lab", 30, "IR")
        scanned = scan(officer, since=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
        alert = next(a for a in scanned["alerts"] if a["rule"] == "denied_burst" and a["person"] == "li.wei")
        console.print(
            f"  alert {alert['id'][:8]}… [bold]{alert['rule']}[/] ({alert['severity']}, for the {alert['reviewer']}): "
            f"{alert['summary']}; evidence: events {', '.join(str(e['seq']) for e in alert['evidence'])}"
        )
        opened = open_incident(
            officer, "li.wei: repeated requests to export to an embargoed destination", alert=alert["id"]
        )
        contained = contain(officer, opened["id"], "probing for an export route", suspend=True, hold=True)
        for step in contained["containment"][0]["actions"]:
            console.print(f"  contained: {step['action']} {step.get('grants', step.get('hold', ''))}")
        meet_deadline(
            officer, opened["id"], "incident.vsd-decision", "nothing left the store: no disclosure (counsel agreed)"
        )
        closed = close(officer, opened["id"], "grants suspended pending review; export-control training repeated")
        ready = closed["readiness"]
        console.print(
            f"  incident {closed['id'][:8]}… {closed['status']}: hours to detect {ready['detect_hours']}, "
            f"to contain {ready['contain_hours']}, to close {ready['close_hours']}; "
            f"timeline of {len(closed['report']['timeline'])} events in the report"
        )
        return {"incident": closed["id"], "alert": alert["id"], "status": closed["status"]}
    finally:
        researcher.close()
        officer.close()


__all__ = ["incident_drill"]
