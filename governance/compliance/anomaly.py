"""Anomaly scans: run the rules and the statistical detector over the log, store and log alerts.

A scan covers ``since`` .. ``until`` (default: from the end of the previous scan to now) and
reads ``HISTORY`` before ``since`` so that "unusual for this person" has a baseline. Each
finding is stored once (its key is rule, person and what it is about), so scanning the same
period twice adds nothing; each new alert is an ``anomaly.alerted`` event naming its evidence
events by sequence number and id, and each scan an ``anomaly.scanned`` event. An officer
dismisses an alert with a reason or opens an incident from it (:mod:`.incidents`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from governance import compliance_tables as ct
from governance.app import App
from governance.capabilities import authorize
from governance.compliance.activity import read_activities
from governance.compliance.isolation import isolation_alerts
from governance.compliance.rules import Alert, run_rules
from governance.db import transaction
from governance.ids import resolve
from lineage import EventLog, NewEvent
from policies.compliance import CompliancePolicy, load_compliance
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError, NotFoundError

HISTORY = timedelta(days=90)  # longer than any rule's look-back (slow drip: three 21-day windows)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def compliance_policy(app: App) -> CompliancePolicy:
    return load_compliance()


def detect(
    conn: Connection, since: datetime, until: datetime, policy: CompliancePolicy
) -> tuple[list[Alert], list[str]]:
    """The alerts of every detector for ``since`` .. ``until``, and notes on detectors that did not run."""
    acts = read_activities(conn, max(EPOCH, since - HISTORY), until)
    alerts = [a for a in run_rules(acts, since, policy) if a.at >= since]
    forest, note = isolation_alerts(acts, since, policy)
    return alerts + [a for a in forest if a.at >= since], [note] if note else []


def scan(app: App, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Scan the log for anomalies; new alerts are stored and logged, known ones are not repeated."""
    until = as_utc(until) if until else datetime.now(UTC)
    since = as_utc(since) if since else None
    policy = compliance_policy(app)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "compliance.sweep")
        if since is None:
            last = conn.execute(select(func.max(ct.anomaly_scans.c.until))).scalar()
            since = as_utc(last) if last is not None else EPOCH
        if since > until:
            raise InputError(f"--since: {iso_utc(since)} is after the end of the scan ({iso_utc(until)})")
        found, notes = detect(conn, since, until, policy)
    scan_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "compliance.sweep")
        log = EventLog(conn)
        log.lock_head()  # two scans at once: the second sees the first's keys
        keys = {a.key for a in found}
        known = {r.key for r in conn.execute(select(ct.anomaly_alerts.c.key).where(ct.anomaly_alerts.c.key.in_(keys)))}
        fresh = [a for a in found if a.key not in known]
        conn.execute(
            insert(ct.anomaly_scans).values(
                id=scan_id,
                since=since,
                until=until,
                alerts=len(fresh),
                notes=notes,
                scanned_by=app.user,
                scanned_at=now,
            )
        )
        events, stored = [], []
        for alert in fresh:
            alert_id = str(uuid.uuid4())
            doc = alert.to_json()
            conn.execute(
                insert(ct.anomaly_alerts).values(
                    id=alert_id,
                    key=alert.key,
                    scan_id=scan_id,
                    rule=alert.rule,
                    person=alert.person,
                    at=alert.at,
                    severity=alert.severity,
                    reviewer=alert.reviewer,
                    summary=alert.summary,
                    evidence=doc["evidence"],
                    score=alert.score,
                    status="open",
                    detected_at=now,
                )
            )
            ref = log.actor_ref(alert.person)
            payload = {k: v for k, v in doc.items() if k != "person"} | {"alert": alert_id, "person_ref": ref}
            events.append(NewEvent("anomaly.alerted", app.user, [alert_id, ref], payload, now))
            stored.append({"id": alert_id, "status": "open", "detected_at": iso_utc(now)} | doc)
        events.append(
            NewEvent(
                "anomaly.scanned",
                app.user,
                [scan_id],
                {
                    "scan": scan_id,
                    "since": iso_utc(since),
                    "until": iso_utc(until),
                    "alerts": len(fresh),
                    "already_known": len(found) - len(fresh),
                    "notes": notes,
                },
                now,
            )
        )
        log.append_many(events)
    return {
        "scan": scan_id,
        "since": iso_utc(since),
        "until": iso_utc(until),
        "alerts": stored,
        "already_known": len(found) - len(fresh),
        "notes": notes,
    }


def alert_json(row: Any) -> dict[str, Any]:
    doc = {
        "id": row.id,
        "rule": row.rule,
        "person": row.person,
        "at": iso_utc(row.at),
        "severity": row.severity,
        "reviewer": row.reviewer,
        "summary": row.summary,
        "evidence": row.evidence,
        "status": row.status,
        "detected_at": iso_utc(row.detected_at),
        "key": row.key,
    }
    for name in ("score", "incident_id", "resolution", "resolved_by"):
        if getattr(row, name) is not None:
            doc[name] = getattr(row, name)
    return doc


def get_alert_row(conn: Connection, alert_id: str) -> Any:
    row = conn.execute(select(ct.anomaly_alerts).where(ct.anomaly_alerts.c.id == alert_id)).first()
    if row is None:
        raise NotFoundError(f"alert {alert_id!r} does not exist ('qgov anomaly list' shows the alerts)")
    return row


def list_alerts(app: App, status: str | None = None) -> list[dict[str, Any]]:
    """Alerts, newest first; ``status`` one of open, dismissed, incident."""
    if status is not None and status not in ("open", "dismissed", "incident"):
        raise InputError(f"--status: expected open, dismissed or incident, got {status!r}")
    with app.engine.connect() as conn:
        authorize(conn, app.user, "anomaly.read")
        query = select(ct.anomaly_alerts).order_by(ct.anomaly_alerts.c.at.desc(), ct.anomaly_alerts.c.id)
        if status is not None:
            query = query.where(ct.anomaly_alerts.c.status == status)
        return [alert_json(r) for r in conn.execute(query)]


def show_alert(app: App, alert_id: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "anomaly.read")
        return alert_json(get_alert_row(conn, resolve(conn, "alert", alert_id)))


def dismiss_alert(app: App, alert_id: str, reason: str) -> dict[str, Any]:
    """An officer closes an alert as legitimate activity, with the reason (kept in the record)."""
    if not reason.strip():
        raise InputError("--reason: dismissing an alert needs a reason (it is part of the record)")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "incident.manage")
        alert_id = resolve(conn, "alert", alert_id)
        row = get_alert_row(conn, alert_id)
        if row.status != "open":
            raise InputError(f"alert {alert_id} is already {row.status}")
        conn.execute(
            update(ct.anomaly_alerts)
            .where(ct.anomaly_alerts.c.id == alert_id)
            .values(status="dismissed", resolution=reason, resolved_by=app.user)
        )
        EventLog(conn).append(
            NewEvent("anomaly.dismissed", app.user, [alert_id], {"alert": alert_id, "reason": reason})
        )
        return alert_json(get_alert_row(conn, alert_id))


__all__ = ["HISTORY", "alert_json", "compliance_policy", "detect", "dismiss_alert", "list_alerts", "scan", "show_alert"]
