"""Incidents: opened from an alert or by hand, contained, tracked against deadlines, closed.

An incident has a severity, the person it concerns (if any), a timeline built from the log
(its own events and the evidence events of the alert it came from), containment that acts
through the existing services — a legal hold on everything the person touched
(:func:`governance.retention.place_hold`), suspension of the person's live grants, revocation
of named grants (:func:`governance.requests.revoke`) — and deadlines from
``policies/compliance.yaml`` with reminders. qgov records a voluntary self-disclosure
decision (15 CFR 764.5); it files nothing. Closing needs containment, every deadline met and
a remediation text; it stores a report with the readiness figures (hours from first evidence
to detection, from detection to containment and to closure). Every step is an event.
"""

from __future__ import annotations

import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.compliance._suspend import suspend_live_grants
from governance.compliance.anomaly import alert_json, compliance_policy, get_alert_row
from governance.db import transaction
from governance.ids import resolve
from lineage import EventLog, NewEvent, schema
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError, NotFoundError

SEVERITIES = ("low", "medium", "high", "critical")


def _row(conn: Connection, incident_id: str) -> Any:
    row = conn.execute(select(ct.incidents).where(ct.incidents.c.id == incident_id)).first()
    if row is None:
        raise NotFoundError(f"incident {incident_id!r} does not exist ('qgov incident list' shows them)")
    return row


def _hours(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((as_utc(b) - as_utc(a)).total_seconds() / 3600, 2)


def _readiness(row: Any) -> dict[str, float | None]:
    return {
        "detect_hours": _hours(row.began_at, row.detected_at),
        "contain_hours": _hours(row.detected_at, row.contained_at),
        "close_hours": _hours(row.detected_at, row.closed_at),
    }


def _deadlines(conn: Connection, incident_id: str) -> list[dict[str, Any]]:
    d = ct.incident_deadlines
    rows = conn.execute(select(d).where(d.c.incident_id == incident_id).order_by(d.c.due_at, d.c.deadline)).all()
    out = []
    for r in rows:
        doc = {
            "deadline": r.deadline,
            "text": r.text,
            "citation": r.citation,
            "status": r.status,
            "due_at": iso_utc(r.due_at),
            "met": r.met_at is not None,
        }
        if r.met_at is not None:
            doc |= {"met_at": iso_utc(r.met_at), "met_by": r.met_by, "note": r.note}
        out.append(doc)
    return out


def incident_json(conn: Connection, row: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "status": row.status,
        "opened_at": iso_utc(row.opened_at),
        "opened_by": row.opened_by,
        "deadlines": _deadlines(conn, row.id),
        "readiness": _readiness(row),
    }
    for name in ("person", "alert_id", "remediation", "closed_by", "containment", "report"):
        if getattr(row, name) is not None:
            doc[name] = getattr(row, name)
    for name in ("began_at", "detected_at", "contained_at", "closed_at"):
        if getattr(row, name) is not None:
            doc[name] = iso_utc(getattr(row, name))
    return doc


def open_incident(
    app: App,
    title: str,
    severity: str | None = None,
    alert: str | None = None,
    person: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An officer opens an incident, from an alert (its evidence and person) or by hand."""
    if not title.strip():
        raise InputError("--title: an incident needs a title")
    if severity is not None and severity not in SEVERITIES:
        raise InputError(f"--severity: expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    at = at or datetime.now(UTC)
    policy = compliance_policy(app)
    incident_id = str(uuid.uuid4())
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "incident.manage")
        log = EventLog(conn)
        began = detected = None
        if alert is not None:
            alert = resolve(conn, "alert", alert)
            arow = get_alert_row(conn, alert)
            if arow.status != "open":
                raise InputError(f"alert {alert} is already {arow.status}")
            if person is not None and person != arow.person:
                raise InputError(f"--person: alert {alert} concerns {arow.person!r}, not {person!r}")
            person, severity = arow.person, severity or arow.severity
            seqs = [e["seq"] for e in arow.evidence]
            first = conn.execute(
                select(schema.events.c.occurred_at).where(schema.events.c.seq.in_(seqs)).order_by(schema.events.c.seq)
            ).first()
            began, detected = (as_utc(first.occurred_at) if first else None), as_utc(arow.detected_at)
            conn.execute(
                update(ct.anomaly_alerts)
                .where(ct.anomaly_alerts.c.id == alert)
                .values(status="incident", incident_id=incident_id, resolved_by=app.user)
            )
        elif (
            person is not None
            and conn.execute(select(t.people.c.name).where(t.people.c.name == person)).first() is None
        ):
            raise NotFoundError(f"--person {person}: not a registered person")
        conn.execute(
            insert(ct.incidents).values(
                id=incident_id,
                title=title,
                severity=severity or "medium",
                status="open",
                person=person,
                alert_id=alert,
                began_at=began,
                detected_at=detected or at,
                opened_at=at,
                opened_by=app.user,
            )
        )
        deadlines = [
            {
                "incident_id": incident_id,
                "deadline": d.id,
                "text": d.text,
                "citation": d.citation,
                "status": d.status,
                "due_at": at + timedelta(days=d.days),
                "reminded": [],
            }
            for d in policy.deadlines
        ]
        if deadlines:
            conn.execute(insert(ct.incident_deadlines), deadlines)
        subjects = [incident_id] + ([alert] if alert else []) + ([log.actor_ref(person)] if person else [])
        log.append(
            NewEvent(
                "incident.opened",
                app.user,
                subjects,
                {
                    "incident": incident_id,
                    "title": title,
                    "severity": severity or "medium",
                    "alert": alert,
                    "person_ref": log.actor_ref(person) if person else None,
                    "deadlines": [
                        {"deadline": d["deadline"], "due_at": iso_utc(d["due_at"]), "status": d["status"]}
                        for d in deadlines
                    ],
                },
                at,
            )
        )
        return incident_json(conn, _row(conn, incident_id))


def _suspend_grants(app: App, incident_id: str, person: str, at: datetime) -> list[str]:
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.revoke")  # suspending is the lesser step of revoking
        return suspend_live_grants(conn, EventLog(conn), person, at, app.user, f"incident {incident_id}", incident_id)


def contain(
    app: App,
    incident_id: str,
    reason: str,
    suspend: bool = False,
    revoke: tuple[str, ...] = (),
    hold: bool = False,
    at: datetime | None = None,
) -> dict[str, Any]:
    """Act on an incident: hold the evidence, suspend the person's grants, revoke named grants."""
    from governance.requests import revoke as revoke_grant
    from governance.retention import place_hold

    if not (suspend or revoke or hold):
        raise InputError("contain: name at least one action: --hold, --suspend-grants or --revoke GRANT")
    if not reason.strip():
        raise InputError("--reason: containment needs a reason (it is part of the record)")
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "incident.manage")
        incident_id = resolve(conn, "incident", incident_id)
        row = _row(conn, incident_id)
    if row.status == "closed":
        raise InputError(f"incident {incident_id} is closed")
    if (suspend or hold) and row.person is None:
        raise InputError(f"incident {incident_id} concerns no person: --hold and --suspend-grants need one")
    actions: list[dict[str, Any]] = []
    if hold:  # the evidence first: nothing the person touched may be deleted from here on
        placed = place_hold(app, f"incident {incident_id}: {reason}", person=row.person)
        actions.append({"action": "hold", "hold": placed["hold"], "person": row.person})
    if suspend:
        actions.append({"action": "suspend", "grants": _suspend_grants(app, incident_id, row.person, at)})
    for grant in revoke:
        revoke_grant(app, grant, f"incident {incident_id}: {reason}", at)
        actions.append({"action": "revoke", "grant": grant})
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "incident.manage")
        row = _row(conn, incident_id)
        done = list(row.containment or []) + [{"at": iso_utc(at), "by": app.user, "reason": reason, "actions": actions}]
        values: dict[str, Any] = {"containment": done}
        if row.contained_at is None:
            values |= {"contained_at": at, "status": "contained"}
        conn.execute(update(ct.incidents).where(ct.incidents.c.id == incident_id).values(**values))
        d = ct.incident_deadlines
        conn.execute(
            update(d)
            .where(d.c.incident_id == incident_id, d.c.deadline == "incident.contain", d.c.met_at.is_(None))
            .values(met_at=at, met_by=app.user, note="contained")
        )
        EventLog(conn).append(
            NewEvent(
                "incident.contained",
                app.user,
                [incident_id],
                {"incident": incident_id, "reason": reason, "actions": actions},
                at,
            )
        )
        return incident_json(conn, _row(conn, incident_id))


def meet_deadline(app: App, incident_id: str, deadline: str, note: str, at: datetime | None = None) -> dict[str, Any]:
    """Record that a deadline was met and how (e.g. the self-disclosure decision and who made it)."""
    if not note.strip():
        raise InputError("--note: say how the deadline was met (it is part of the record)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "incident.manage")
        incident_id = resolve(conn, "incident", incident_id)
        _row(conn, incident_id)
        d = ct.incident_deadlines
        found = conn.execute(select(d).where(d.c.incident_id == incident_id, d.c.deadline == deadline)).first()
        if found is None:
            names = [r.deadline for r in conn.execute(select(d.c.deadline).where(d.c.incident_id == incident_id))]
            raise NotFoundError(f"deadline {deadline!r}: incident {incident_id} has {', '.join(names) or 'none'}")
        if found.met_at is not None:
            raise InputError(
                f"deadline {deadline} of incident {incident_id} was already met on {iso_utc(found.met_at)}"
            )
        conn.execute(
            update(d)
            .where(d.c.incident_id == incident_id, d.c.deadline == deadline)
            .values(met_at=at, met_by=app.user, note=note)
        )
        late = at > as_utc(found.due_at)
        EventLog(conn).append(
            NewEvent(
                "incident.deadline_met",
                app.user,
                [incident_id],
                {"incident": incident_id, "deadline": deadline, "note": note, "late": late},
                at,
            )
        )
        return incident_json(conn, _row(conn, incident_id))


def remind(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Record a reminder for each unmet deadline entering a reminder window, and each that ran over."""
    at = as_utc(at) if at else datetime.now(UTC)
    marks = sorted(compliance_policy(app).reminders_days_before, reverse=True)
    out: list[dict[str, Any]] = []
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "compliance.sweep")
        d, i = ct.incident_deadlines, ct.incidents
        rows = conn.execute(
            select(d).join(i, i.c.id == d.c.incident_id).where(i.c.status != "closed", d.c.met_at.is_(None))
        ).all()
        events = []
        for r in rows:
            due, reminded = as_utc(r.due_at), list(r.reminded)
            left = (due - at).total_seconds() / 86400
            if left < 0:
                new = [] if "overdue" in reminded else ["overdue"]
            else:  # every window entered and not yet reminded; one reminder names the tightest
                new = [str(m) for m in marks if left <= m and str(m) not in reminded]
            if not new:
                continue
            mark = new[-1]
            reminded += new
            conn.execute(
                update(d).where(d.c.incident_id == r.incident_id, d.c.deadline == r.deadline).values(reminded=reminded)
            )
            kind = "incident.deadline_overdue" if mark == "overdue" else "incident.reminder"
            doc = {
                "incident": r.incident_id,
                "deadline": r.deadline,
                "due_at": iso_utc(due),
                "days_left": round(left, 1),
            }
            events.append(NewEvent(kind, "qgov", [r.incident_id], doc, at))
            out.append(doc | {"kind": kind, "text": r.text})
        EventLog(conn).append_many(events)
    return out


def close(app: App, incident_id: str, remediation: str, at: datetime | None = None) -> dict[str, Any]:
    """Close a contained incident whose deadlines are met, with its remediation and a report."""
    if not remediation.strip():
        raise InputError("--remediation: closing an incident needs the remediation done (it is in the report)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "incident.manage")
        incident_id = resolve(conn, "incident", incident_id)
        row = _row(conn, incident_id)
        if row.status == "closed":
            raise InputError(f"incident {incident_id} is already closed")
        if row.contained_at is None:
            raise InputError(f"incident {incident_id} is not contained: run 'qgov incident contain' first")
        unmet = [d["deadline"] for d in _deadlines(conn, incident_id) if not d["met"]]
        if unmet:
            raise InputError(
                f"incident {incident_id}: deadline {unmet[0]} is not met; record it with "
                f"'qgov incident deadline {incident_id} {unmet[0]} --note …'"
            )
        conn.execute(
            update(ct.incidents)
            .where(ct.incidents.c.id == incident_id)
            .values(status="closed", closed_at=at, closed_by=app.user, remediation=remediation)
        )
        row = _row(conn, incident_id)
        report = {
            "schema": "qgov.incident-report/v1",
            "incident": incident_json(conn, row),
            "timeline": timeline(conn, row),
        }
        conn.execute(update(ct.incidents).where(ct.incidents.c.id == incident_id).values(report=report))
        EventLog(conn).append(
            NewEvent(
                "incident.closed",
                app.user,
                [incident_id],
                {"incident": incident_id, "remediation": remediation, "readiness": _readiness(row)},
                at,
            )
        )
        return incident_json(conn, _row(conn, incident_id))


def timeline(conn: Connection, row: Any) -> list[dict[str, Any]]:
    """The incident's own events and its alert's evidence events, in log order."""
    e, s = schema.events, schema.event_subjects
    seqs = {r.seq for r in conn.execute(select(s.c.seq).where(s.c.subject_id == row.id))}
    if row.alert_id is not None:
        arow = get_alert_row(conn, row.alert_id)
        seqs |= {int(x["seq"]) for x in arow.evidence}
        seqs |= {r.seq for r in conn.execute(select(s.c.seq).where(s.c.subject_id == row.alert_id))}
    events = conn.execute(select(e).where(e.c.seq.in_(sorted(seqs))).order_by(e.c.seq)).all()
    names = EventLog(conn).actor_names(sorted({ev.actor_ref for ev in events}))
    return [
        {
            "seq": int(ev.seq),
            "event_id": ev.event_id,
            "type": ev.type,
            "at": iso_utc(ev.occurred_at),
            "actor": names.get(ev.actor_ref, "[unknown]"),
            "payload": {k: v for k, v in dict(ev.payload).items() if k != "sha256"},
        }
        for ev in events
    ]


def show_incident(app: App, incident_id: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "incident.read")
        incident_id = resolve(conn, "incident", incident_id)
        row = _row(conn, incident_id)
        doc = incident_json(conn, row) | {"timeline": timeline(conn, row)}
        if row.alert_id is not None:
            doc["alert"] = alert_json(get_alert_row(conn, row.alert_id))
        return doc


def list_incidents(app: App, status: str | None = None) -> list[dict[str, Any]]:
    if status is not None and status not in ("open", "contained", "closed"):
        raise InputError(f"--status: expected open, contained or closed, got {status!r}")
    with app.engine.connect() as conn:
        authorize(conn, app.user, "incident.read")
        query = select(ct.incidents).order_by(ct.incidents.c.opened_at.desc(), ct.incidents.c.id)
        if status is not None:
            query = query.where(ct.incidents.c.status == status)
        return [incident_json(conn, r) for r in conn.execute(query)]


def readiness(app: App) -> dict[str, Any]:
    """Incident-response readiness: median and worst hours to detect, contain and close."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "incident.read")
        rows = conn.execute(select(ct.incidents)).all()
    figures: dict[str, Any] = {"incidents": len(rows), "open": sum(r.status != "closed" for r in rows)}
    for name in ("detect_hours", "contain_hours", "close_hours"):
        values = [v for r in rows if (v := _readiness(r)[name]) is not None]
        figures[name] = (
            {"median": round(statistics.median(values), 2), "max": max(values), "n": len(values)} if values else None
        )
    return figures


__all__ = [
    "SEVERITIES",
    "close",
    "contain",
    "incident_json",
    "list_incidents",
    "meet_deadline",
    "open_incident",
    "readiness",
    "remind",
    "show_incident",
    "timeline",
]
