"""Export-control training: record completions, remind before expiry, suspend grants on a lapse.

The course's validity is the access bundle's ``training_valid_days`` — the figure new requests
are already refused by (``policies.access``), so a lapse means the same thing here as there.
``policies/compliance.yaml`` (project rules) says when to remind and whether a lapse suspends
the person's live grants. The sweep says each thing once per completion date
(``training_notices``); recording a new completion starts afresh. Every step is an event.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import JURISDICTION
from governance.compliance._suspend import suspend_live_grants
from governance.compliance.anomaly import compliance_policy
from governance.db import transaction
from governance.requests import training_date
from lineage import EventLog, NewEvent
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError, NotFoundError, PolicyError


def _valid_days(app: App) -> int:
    return app.policies.get(JURISDICTION).require_access().training_valid_days


def record_training(app: App, person: str, completed_on: str, at: datetime | None = None) -> dict[str, Any]:
    """An officer or admin records that ``person`` completed export-control training."""
    day = training_date(completed_on) or ""
    at = at or datetime.now(UTC)
    if date.fromisoformat(day) > at.date():
        raise InputError(f"--completed-on {day}: expected a date not in the future")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "training.record")
        if conn.execute(select(t.people.c.name).where(t.people.c.name == person)).first() is None:
            raise NotFoundError(f"person {person!r} is not registered")
        conn.execute(update(t.people).where(t.people.c.name == person).values(training_completed_on=day))
        log = EventLog(conn)
        ref = log.actor_ref(person)
        log.append(NewEvent("training.recorded", app.user, [ref], {"person_ref": ref, "completed_on": day}, at))
    valid_until = date.fromisoformat(day) + timedelta(days=_valid_days(app))
    return {"person": person, "completed_on": day, "valid_until": valid_until.isoformat()}


def training_status(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Every registered person's training: completed, valid until, days left (negative: lapsed)."""
    at = at or datetime.now(UTC)
    valid = _valid_days(app)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.read_all")
        rows = conn.execute(select(t.people.c.name, t.people.c.training_completed_on).order_by(t.people.c.name))
        out = []
        for name, done in rows:
            if done is None:
                out.append({"person": name, "completed_on": None, "valid_until": None, "days_left": None})
                continue
            until = date.fromisoformat(done) + timedelta(days=valid)
            out.append(
                {
                    "person": name,
                    "completed_on": done,
                    "valid_until": until.isoformat(),
                    "days_left": (until - at.date()).days,
                }
            )
        return out


def training_sweep(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Remind people whose training is coming due; on a lapse, suspend their live grants (per policy)."""
    at = as_utc(at) if at else datetime.now(UTC)
    policy = compliance_policy(app).training
    if policy is None:
        raise PolicyError("policies/compliance.yaml: no training section")
    valid = _valid_days(app)
    notices: list[dict[str, Any]] = []
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "compliance.sweep")
        log = EventLog(conn)
        people = conn.execute(select(t.people.c.name, t.people.c.training_completed_on)).all()
        n = ct.training_notices
        given = {(r.person, r.completed_on, r.notice) for r in conn.execute(select(n))}
        for name, done in people:
            if done is None:
                continue  # never trained: every request is refused already, and no grant was given
            until = datetime.combine(date.fromisoformat(done) + timedelta(days=valid), datetime.min.time(), UTC)
            left = (until - at).total_seconds() / 86400
            ref = log.actor_ref(name)
            if left <= 0:
                if (name, done, "lapsed") in given:
                    continue
                suspended = (
                    suspend_live_grants(conn, log, name, at, "qgov", f"training lapsed on {until.date()}", ref)
                    if policy.suspend_grants_on_lapse
                    else []
                )
                doc = {"person_ref": ref, "completed_on": done, "lapsed_on": until.date().isoformat()}
                log.append(NewEvent("training.lapsed", "qgov", [ref], doc | {"suspended": suspended}, at))
                conn.execute(insert(n).values(person=name, completed_on=done, notice="lapsed", at=at))
                notices.append(
                    {"person": name, "notice": "lapsed", "valid_until": iso_utc(until), "suspended": suspended}
                )
                continue
            marks = [str(m) for m in sorted(policy.reminders_days_before, reverse=True) if left <= m]
            fresh = [m for m in marks if (name, done, m) not in given]
            if not fresh:
                continue
            conn.execute(insert(n), [{"person": name, "completed_on": done, "notice": m, "at": at} for m in fresh])
            doc = {"person_ref": ref, "completed_on": done, "valid_until": until.date().isoformat()}
            log.append(NewEvent("training.reminder", "qgov", [ref], doc | {"days_left": round(left, 1)}, at))
            notices.append(
                {"person": name, "notice": "reminder", "valid_until": iso_utc(until), "days_left": round(left, 1)}
            )
    return notices


__all__ = ["record_training", "training_status", "training_sweep"]
