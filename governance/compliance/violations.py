"""Violations: an officer records what a person did wrong, a proportionate sanction and remediation.

Due process (the policy article): the record names what happened, the log events it rests on,
one sanction from the policy's list (``policies/compliance.yaml`` ``violations.sanctions``,
mildest first; the organisation's list, not a legal penalty) and remediation steps with due
dates. The person sees their own violations; officers, auditors and admins see all. Completing
a step is recorded (by the person or an officer); when every step is done the violation is
remediated. Every step is an event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can
from governance.db import transaction
from governance.ids import resolve, resolve_all
from lineage import EventLog, NewEvent, schema
from policies.compliance import load_compliance
from qgov.canonical import iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError, PolicyError


def _json(row: Any, at: date) -> dict[str, Any]:
    steps = [s | {"overdue": s.get("done_at") is None and s["due_on"] < at.isoformat()} for s in row.remediation]
    return {
        "id": row.id,
        "person": row.person,
        "summary": row.summary,
        "evidence": list(row.evidence),
        "sanction": row.sanction,
        "remediation": steps,
        "status": row.status,
        "recorded_by": row.recorded_by,
        "recorded_at": iso_utc(row.recorded_at),
    }


def parse_step(text: str, today: date) -> dict[str, Any]:
    """``STEP@YYYY-MM-DD``: a remediation step and the date it is due by."""
    step, sep, due = text.rpartition("@")
    if not sep or not step.strip():
        raise InputError(f"--step {text!r}: expected 'what to do@YYYY-MM-DD'")
    try:
        day = date.fromisoformat(due.strip())
    except ValueError:
        raise InputError(f"--step {text!r}: expected a due date YYYY-MM-DD after '@', got {due!r}") from None
    if day < today:
        raise InputError(f"--step {text!r}: the due date {day} is in the past")
    return {"step": step.strip(), "due_on": day.isoformat()}


def record_violation(
    app: App,
    person: str,
    summary: str,
    sanction: str,
    steps: list[str],
    evidence: list[str],
    at: datetime | None = None,
) -> dict[str, Any]:
    """Officers: record a violation against ``person`` with a sanction from the policy's list."""
    at = at or datetime.now(UTC)
    if not summary.strip():
        raise InputError("--what: say what happened (the person reads it)")
    policy = load_compliance().violations
    if policy is None:
        raise PolicyError("policies/compliance.yaml: no violations section")
    known = [s.id for s in policy.sanctions]
    if sanction not in known:
        raise InputError(f"--sanction {sanction!r}: expected one of {', '.join(known)} (policies/compliance.yaml)")
    if not steps:
        raise InputError("--step: name at least one remediation step ('what to do@YYYY-MM-DD')")
    remediation = [parse_step(s, at.date()) for s in steps]
    if not evidence:
        raise InputError("--evidence: name at least one event id in the log that the violation rests on")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "violation.manage")
        if conn.execute(select(t.people.c.name).where(t.people.c.name == person)).first() is None:
            raise NotFoundError(f"person {person!r} is not registered")
        if person == app.user:
            raise AccessDenied(f"user {app.user!r} may not record a violation against themselves")
        ids = resolve_all(conn, "event", evidence)
        found = set(conn.execute(select(schema.events.c.event_id).where(schema.events.c.event_id.in_(ids))).scalars())
        if missing := [e for e in ids if e not in found]:
            raise NotFoundError(f"--evidence {missing[0]}: no such event in the log")
        violation_id = str(uuid.uuid4())
        conn.execute(
            insert(ct.violations).values(
                id=violation_id,
                person=person,
                summary=summary,
                evidence=ids,
                sanction=sanction,
                remediation=remediation,
                status="open",
                recorded_by=app.user,
                recorded_at=at,
            )
        )
        log = EventLog(conn)
        ref = log.actor_ref(person)
        payload = {"violation": violation_id, "person_ref": ref, "summary": summary, "sanction": sanction}
        payload |= {"evidence": ids, "remediation": remediation}
        log.append(NewEvent("violation.recorded", app.user, [violation_id, ref, *ids], payload, at))
        return _json(_row(conn, violation_id), at.date())


def _row(conn: Connection, violation_id: str) -> Any:
    row = conn.execute(select(ct.violations).where(ct.violations.c.id == violation_id)).first()
    if row is None:
        raise NotFoundError(f"violation {violation_id!r} does not exist")
    return row


def _visible(conn: Connection, user: str, row: Any) -> None:
    if row.person != user and not can(conn, user, "violation.read"):
        raise AccessDenied(f"user {user!r} may not read violation {row.id}: only its person and officers may")


def complete_step(app: App, violation_id: str, step: int, note: str, at: datetime | None = None) -> dict[str, Any]:
    """The person or an officer records remediation step ``step`` (1-based) as done."""
    if not note.strip():
        raise InputError("--note: say how the step was done (kept in the record)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.request")  # every registered role; who, below
        violation_id = resolve(conn, "violation", violation_id)
        row = _row(conn, violation_id)
        _visible(conn, app.user, row)
        if row.person != app.user and not can(conn, app.user, "violation.manage"):
            raise AccessDenied(f"user {app.user!r} may not record remediation of another person's violation")
        steps = [dict(s) for s in row.remediation]
        if not 1 <= step <= len(steps):
            raise InputError(f"--step {step}: expected 1 to {len(steps)}")
        if steps[step - 1].get("done_at") is not None:
            raise InputError(f"step {step} of violation {violation_id} is already done")
        steps[step - 1] |= {"done_at": iso_utc(at), "done_by": app.user, "note": note}
        status = "remediated" if all(s.get("done_at") for s in steps) else "open"
        conn.execute(
            update(ct.violations).where(ct.violations.c.id == violation_id).values(remediation=steps, status=status)
        )
        log = EventLog(conn)
        payload = {"violation": violation_id, "step": step, "note": note, "status": status}
        log.append(NewEvent("violation.remediated", app.user, [violation_id], payload, at))
        return _json(_row(conn, violation_id), at.date())


def list_violations(app: App, mine: bool = False, at: datetime | None = None) -> list[dict[str, Any]]:
    """One's own violations; every violation for officers, auditors and admins (unless ``mine``)."""
    today = (at or datetime.now(UTC)).date()
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        query = select(ct.violations).order_by(ct.violations.c.recorded_at.desc())
        if mine or not can(conn, app.user, "violation.read"):
            query = query.where(ct.violations.c.person == app.user)
        return [_json(r, today) for r in conn.execute(query)]


def show_violation(app: App, violation_id: str, at: datetime | None = None) -> dict[str, Any]:
    today = (at or datetime.now(UTC)).date()
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        row = _row(conn, resolve(conn, "violation", violation_id))
        _visible(conn, app.user, row)
        return _json(row, today)


__all__ = ["complete_step", "list_violations", "parse_step", "record_violation", "show_violation"]
