"""Compliance operations: anomaly scans and alerts, incidents (officers; auditors read)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import call, open_app
from governance.cli._render import console, escape, print_json
from qgov.canonical import parse_iso

anomaly_app = typer.Typer(
    help="Anomaly detection over the provenance log: scan, list, show and dismiss alerts.", no_args_is_help=True
)
incident_app = typer.Typer(
    help="Incidents (officers): open from an alert or by hand, contain, meet deadlines, close.", no_args_is_help=True
)
training_app = typer.Typer(
    help="Export-control training: record completions, see who is due, remind and suspend on lapse.",
    no_args_is_help=True,
)
appeal_app = typer.Typer(
    help="Appeals of denied access requests: the requester files, a second officer decides.", no_args_is_help=True
)
enduse_app = typer.Typer(
    help="End-use monitoring: attest your use of controlled data; sweep overdue grants; sample for audit.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
At = Annotated[str | None, typer.Option("--at", help="When (ISO 8601, default now).")]


def _at(text: str | None, field: str = "--at") -> Any:
    return parse_iso(text, field) if text else None


@anomaly_app.command("scan")
def anomaly_scan(
    since: Annotated[
        str | None, typer.Option("--since", help="Start (ISO 8601; default: end of the last scan).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="End (ISO 8601; default now).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every rule and the statistical detector over the log; new alerts are stored and logged."""
    doc = call("anomaly.scan", since=_at(since, "--since"), until=_at(until, "--until"))
    if as_json:
        print_json(doc)
        return
    console.print(f"scanned {doc['since']} .. {doc['until']}: {len(doc['alerts'])} new alert(s)")
    for note in doc["notes"]:
        console.print(f"  [dim]{escape(note)}[/]")
    _alerts_table(doc["alerts"])


def _alerts_table(alerts: list[dict[str, Any]]) -> None:
    if not alerts:
        return
    table = Table("alert", "rule", "person", "severity", "look", "why", "evidence")
    for a in alerts:
        seqs = ", ".join(str(e["seq"]) for e in a["evidence"][:5]) + (" …" if len(a["evidence"]) > 5 else "")
        table.add_row(
            a["id"][:8],
            a["rule"],
            escape(a["person"]),
            a["severity"],
            a["reviewer"],
            escape(a["summary"]),
            seqs,
        )
    console.print(table)


@anomaly_app.command("list")
def anomaly_list(
    status: Annotated[str | None, typer.Option("--status", help="open, dismissed or incident.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Alerts, newest first."""
    alerts = call("anomaly.list", status=status)
    print_json(alerts) if as_json else _alerts_table(alerts)


@anomaly_app.command("show")
def anomaly_show(alert: Annotated[str, typer.Argument(help="Alert id.")], as_json: JsonFlag = False) -> None:
    """One alert: why, its evidence events (log seq and id) and who should look."""
    doc = call("anomaly.show", alert_id=alert)
    if as_json:
        print_json(doc)
        return
    console.print(f"[bold]{doc['rule']}[/] {escape(doc['person'])} ({doc['severity']}, for the {doc['reviewer']})")
    console.print(f"  {escape(doc['summary'])}")
    console.print(f"  evidence: {', '.join(str(e['seq']) for e in doc['evidence'])}  status: {doc['status']}")


@anomaly_app.command("dismiss")
def anomaly_dismiss(
    alert: Annotated[str, typer.Argument(help="Alert id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why this is legitimate (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: close an alert as legitimate activity."""
    doc = call("anomaly.dismiss", alert_id=alert, reason=reason)
    print_json(doc) if as_json else console.print(f"alert {doc['id']} dismissed")


def _print_incident(doc: dict[str, Any]) -> None:
    console.print(f"incident {doc['id']} [bold]{escape(doc['title'])}[/] ({doc['severity']}): {doc['status']}")
    if "person" in doc:
        console.print(f"  person: {escape(doc['person'])}")
    for d in doc["deadlines"]:
        state = f"met {d['met_at'][:10]}" if d["met"] else f"due {d['due_at'][:16]}"
        basis = f"[dim]({escape(d['citation'])}; {d['status']})[/]"
        console.print(f"  deadline {d['deadline']}: {escape(d['text'])} — {state} {basis}")
    r = doc["readiness"]
    console.print(
        f"  hours to detect {r['detect_hours']}, to contain {r['contain_hours']}, to close {r['close_hours']}"
    )


@incident_app.command("open")
def incident_open(
    title: Annotated[str, typer.Option("--title", help="What happened, in a line.")],
    alert: Annotated[
        str | None, typer.Option("--alert", help="Open from this alert (its person and evidence).")
    ] = None,
    person: Annotated[str | None, typer.Option("--person", help="The person concerned (by hand).")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="low, medium, high or critical.")] = None,
    at: At = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer: open an incident; its deadlines (policy, project rules) start now."""
    when = {"at": _at(at)} if at else {}  # the server opens incidents at its own time: --at is local only
    doc = call("incident.open", title=title, severity=severity, alert=alert, person=person, **when)
    print_json(doc) if as_json else _print_incident(doc)


@incident_app.command("list")
def incident_list(
    status: Annotated[str | None, typer.Option("--status", help="open, contained or closed.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Incidents, newest first."""
    docs = call("incident.list", status=status)
    if as_json:
        print_json(docs)
        return
    table = Table("incident", "title", "severity", "status", "person", "opened")
    for d in docs:
        table.add_row(
            d["id"][:8],
            escape(d["title"]),
            d["severity"],
            d["status"],
            escape(d.get("person", "")),
            d["opened_at"][:16],
        )
    console.print(table)


@incident_app.command("show")
def incident_show(incident: Annotated[str, typer.Argument(help="Incident id.")], as_json: JsonFlag = False) -> None:
    """An incident with its deadlines, containment and the timeline from the log."""
    doc = call("incident.show", incident_id=incident)
    if as_json:
        print_json(doc)
        return
    _print_incident(doc)
    for ev in doc["timeline"]:
        console.print(f"  {ev['seq']:>6} {ev['at'][:19]} {ev['type']:<24} {escape(ev['actor'])}")


@incident_app.command("contain")
def incident_contain(
    incident: Annotated[str, typer.Argument(help="Incident id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")],
    hold: Annotated[bool, typer.Option("--hold", help="Legal hold on everything the person touched.")] = False,
    suspend: Annotated[bool, typer.Option("--suspend-grants", help="Suspend the person's live grants.")] = False,
    revoke: Annotated[list[str] | None, typer.Option("--revoke", help="Revoke this grant (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer: act on an incident — hold the evidence, suspend grants, revoke grants."""
    doc = call(
        "incident.contain", incident_id=incident, reason=reason, suspend_grants=suspend, revoke=revoke or [], hold=hold
    )
    if as_json:
        print_json(doc)
        return
    for step in doc["containment"][-1]["actions"]:
        console.print(f"  {step['action']}: {escape(', '.join(str(v) for k, v in step.items() if k != 'action'))}")
    _print_incident(doc)


@incident_app.command("deadline")
def incident_deadline(
    incident: Annotated[str, typer.Argument(help="Incident id.")],
    deadline: Annotated[str, typer.Argument(help="Deadline id (e.g. incident.vsd-decision).")],
    note: Annotated[str, typer.Option("--note", help="How it was met (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: record that a deadline was met (qgov records a disclosure decision; it files nothing)."""
    doc = call("incident.deadline", incident_id=incident, deadline=deadline, note=note)
    print_json(doc) if as_json else _print_incident(doc)


@incident_app.command("remind")
def incident_remind(at: At = None, as_json: JsonFlag = False) -> None:
    """Record reminders for deadlines coming due, and deadlines that ran over (run it daily)."""
    docs = call("incident.remind", at=_at(at))
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no incident deadline coming due or overdue")
    for d in docs:
        console.print(
            f"{d['kind']}: incident {d['incident']} {d['deadline']} due {d['due_at'][:16]} ({d['days_left']} days)"
        )


@incident_app.command("close")
def incident_close(
    incident: Annotated[str, typer.Argument(help="Incident id.")],
    remediation: Annotated[str, typer.Option("--remediation", help="What was done to fix it (in the report).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: close a contained incident whose deadlines are met; stores the report."""
    doc = call("incident.close", incident_id=incident, remediation=remediation)
    print_json(doc) if as_json else _print_incident(doc)


@incident_app.command("readiness")
def incident_readiness(as_json: JsonFlag = False) -> None:
    """Response readiness: median and worst hours to detect, contain and close."""
    doc = call("incident.readiness")
    if as_json:
        print_json(doc)
        return
    console.print(f"{doc['incidents']} incident(s), {doc['open']} not closed")
    for name in ("detect_hours", "contain_hours", "close_hours"):
        v = doc[name]
        console.print(f"  {name}: " + (f"median {v['median']}, max {v['max']} (n={v['n']})" if v else "no data"))


@training_app.command("record")
def training_record(
    person: Annotated[str, typer.Argument(help="The person who completed the course.")],
    completed_on: Annotated[str, typer.Option("--completed-on", help="YYYY-MM-DD.")],
    as_json: JsonFlag = False,
) -> None:
    """Officers, admins: record a completed export-control course."""
    from governance.compliance.training import record_training

    doc = record_training(open_app(), person, completed_on)
    print_json(doc) if as_json else console.print(f"{escape(person)}: trained, valid until {doc['valid_until']}")


@training_app.command("status")
def training_status_cmd(as_json: JsonFlag = False) -> None:
    """Everyone's training: completed on, valid until, days left."""
    from governance.compliance.training import training_status

    docs = training_status(open_app())
    if as_json:
        print_json(docs)
        return
    table = Table("person", "completed on", "valid until", "days left")
    for d in docs:
        table.add_row(escape(d["person"]), d["completed_on"] or "never", d["valid_until"] or "—", str(d["days_left"]))
    console.print(table)


@training_app.command("sweep")
def training_sweep_cmd(at: At = None, as_json: JsonFlag = False) -> None:
    """Remind people whose training is coming due; suspend live grants of those whose training lapsed."""
    from governance.compliance.training import training_sweep

    docs = training_sweep(open_app(), _at(at))
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no training coming due or lapsed")
    for d in docs:
        extra = (
            f"; suspended {len(d['suspended'])} grant(s)" if d["notice"] == "lapsed" else f" ({d['days_left']} days)"
        )
        console.print(f"{d['notice']}: {escape(d['person'])} valid until {d['valid_until'][:10]}{extra}")


def impact_command(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="The proposed policy directory.")],
    as_json: JsonFlag = False,
) -> None:
    """What a proposed policy directory would change: artifacts reclassified, grants no longer
    approved, DP releases affected. Nothing is recorded (officers, admins)."""
    from governance.compliance.impact import policy_impact

    doc = policy_impact(open_app(), directory)
    if as_json:
        print_json(doc)
        return
    console.print(f"policy {doc['current_policy_version'][:12]} → {doc['proposed_policy_version'][:12]}")
    for c in doc["reclassified"]:
        console.print(
            f"  reclassified {escape(c['path'])} ({c['artifact'][:8]}): {c['old']} → {c['new']} [dim]({c['rule']})[/]"
        )
    for g in doc["grants_no_longer_approved"]:
        console.print(
            f"  grant {g['grant'][:8]} of {escape(g['person'])} → {g['outcome']}: {escape('; '.join(g['reasons']))}"
        )
    for r in doc["releases_affected"]:
        console.print(
            f"  release {r['release'][:8]} ({r['status']}) of {escape(r['requester'])}: its artifact changes class"
        )
    console.print(
        f"{len(doc['reclassified'])} artifact(s) reclassified, {len(doc['grants_no_longer_approved'])} grant(s) "
        f"no longer approved, {len(doc['releases_affected'])} release(s) affected"
    )


@enduse_app.command("attest")
def enduse_attest(
    grant: Annotated[str, typer.Argument(help="Your grant's id.")],
    statement: Annotated[str, typer.Option("--statement", help="How the data is used (matches the purpose).")],
    as_json: JsonFlag = False,
) -> None:
    """Grant holder: confirm your use matches the approved purpose (due every period in policy)."""
    from governance.compliance.end_use import attest

    doc = attest(open_app(), grant, statement)
    print_json(doc) if as_json else console.print(f"attested grant {doc['grant']} at {doc['attested_at'][:16]}")


@enduse_app.command("sweep")
def enduse_sweep(at: At = None, as_json: JsonFlag = False) -> None:
    """Record attestations falling due; suspend grants past the grace period."""
    from governance.compliance.end_use import end_use_sweep

    docs = end_use_sweep(open_app(), _at(at))
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no end-use attestation falling due or overdue")
    for d in docs:
        console.print(f"{d['notice']}: grant {d['grant']} of {escape(d['person'])} (due {d['due_at'][:10]})")


@enduse_app.command("sample")
def enduse_sample(
    fraction: Annotated[float, typer.Option("--fraction", help="Share of live controlled grants, e.g. 0.1.")],
    seed: Annotated[str, typer.Option("--seed", help="The audit's name; the same seed draws the same sample.")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: draw a reproducible sample of live controlled grants for review."""
    from governance.compliance.end_use import audit_sample

    docs = audit_sample(open_app(), fraction, seed)
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no live controlled grant to sample")
    for d in docs:
        console.print(
            f"grant {d['grant']} of {escape(d['person'])}: {escape(d['purpose'])} (attested {d['last_attested'][:10]})"
        )


def _print_appeal(doc: dict[str, Any]) -> None:
    console.print(f"appeal {doc['id']} of request {doc['request']} by {escape(doc['appellant'])}: {doc['status']}")
    if "reason" in doc:
        console.print(f"  decided by {escape(doc['decided_by'])}: {escape(doc['reason'])}")


@appeal_app.command("file")
def appeal_file(
    request: Annotated[str, typer.Argument(help="Your denied request's id.")],
    grounds: Annotated[str, typer.Option("--grounds", help="Why the decision should change.")],
    as_json: JsonFlag = False,
) -> None:
    """Appeal your own denied request; an officer other than the one who denied it decides."""
    from governance.compliance.appeals import file_appeal

    doc = file_appeal(open_app(), request, grounds)
    print_json(doc) if as_json else _print_appeal(doc)


@appeal_app.command("decide")
def appeal_decide(
    appeal: Annotated[str, typer.Argument(help="Appeal id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (the requester sees it).")],
    grant: Annotated[bool, typer.Option("--grant/--uphold", help="Grant the request, or uphold the denial.")] = False,
    licence: Annotated[str | None, typer.Option("--licence", help="Licence or authorisation (to grant).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer (not the one who denied): uphold the denial, or grant with a licence reference."""
    from governance.compliance.appeals import decide_appeal

    doc = decide_appeal(open_app(), appeal, grant, reason, licence)
    print_json(doc) if as_json else _print_appeal(doc)


@appeal_app.command("list")
def appeal_list(as_json: JsonFlag = False) -> None:
    """Your appeals (officers, auditors and admins: every appeal)."""
    from governance.compliance.appeals import list_appeals

    docs = list_appeals(open_app())
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no appeals")
    for doc in docs:
        _print_appeal(doc)


__all__ = ["anomaly_app", "appeal_app", "enduse_app", "impact_command", "incident_app", "training_app"]
