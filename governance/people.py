"""People: who is registered, their facts and roles, their requests and grants; revoking roles.

A person's facts (citizenships, residence, location, affiliation) are personal data: admins,
officers and auditors read them (``person.read``), everyone reads their own. The summary of
requests and grants follows ``access.read_all`` the same way. Revoking a role is an event;
the last admin's admin role is never revoked (the store would have no one to manage it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can, roles_of
from governance.db import transaction
from governance.email_address import check_email
from governance.vocabulary import require_person
from lineage import EventLog, NewEvent
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError

MAX_PAGE = 500


def _page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit: expected 1 to {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InputError(f"offset: expected 0 or more, got {offset}")


def _facts(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "citizenships": list(row.citizenships),
        "us_permanent_resident": bool(row.us_permanent_resident),
        "permanent_residence": row.permanent_residence,
        "location": row.location,
        "affiliation": row.affiliation,
        "training_completed_on": row.training_completed_on,
        "email": row.email,
        "registered_at": iso_utc(as_utc(row.created_at)),
    }


def _roles_by_person(conn: Connection, names: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {n: [] for n in names}
    if names:
        rows = conn.execute(select(t.role_assignments).where(t.role_assignments.c.person.in_(names)))
        for r in rows:
            out[r.person].append(r.role)
    return {n: sorted(roles) for n, roles in out.items()}


def list_people(app: App, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """One page of registered people (by name) with their facts and roles."""
    _page(limit, offset)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "person.read")
        total = conn.execute(select(func.count()).select_from(t.people)).scalar_one()
        rows = conn.execute(select(t.people).order_by(t.people.c.name).limit(limit).offset(offset)).all()
        roles = _roles_by_person(conn, [r.name for r in rows])
    return {
        "items": [_facts(r) | {"roles": roles[r.name]} for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def show_person(app: App, name: str, at: datetime | None = None) -> dict[str, Any]:
    """One person: facts and roles, and a summary of their requests and grants, as the
    capability table allows (one's own always)."""
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        if name != app.user:
            authorize(conn, app.user, "person.read")  # before any lookup: a refusal reveals nothing
            require_person(conn, name)
        row = conn.execute(select(t.people).where(t.people.c.name == name)).first()
        doc: dict[str, Any] = _facts(row) if row is not None else {"name": name, "registered_at": None}
        doc["roles"] = sorted(roles_of(conn, name))
        if name == app.user or can(conn, app.user, "access.read_all"):
            doc["requests"] = _request_summary(conn, name)
            doc["grants"] = _grant_summary(conn, name, at)
    return doc


def _request_summary(conn: Connection, name: str) -> dict[str, int]:
    rows = conn.execute(
        select(t.access_requests.c.status, func.count())
        .where(t.access_requests.c.requester == name)
        .group_by(t.access_requests.c.status)
    ).all()
    return {status: int(n) for status, n in rows}


def grant_state(row: Any, at: datetime) -> str:
    """active | suspended | revoked | expired: what a grant is worth at ``at``."""
    if row.revoked_at is not None:
        return "revoked"
    if as_utc(row.expires_at) <= at:
        return "expired"
    if row.suspended_at is not None:
        return "suspended"
    return "active"


def _grant_summary(conn: Connection, name: str, at: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    for g in conn.execute(select(t.grants).where(t.grants.c.person == name)):
        state = grant_state(g, at)
        counts[state] = counts.get(state, 0) + 1
    return counts


def revoke_role(app: App, person: str, role: str) -> bool:
    """An admin takes a role away (recorded); False when the person did not hold it."""
    if role not in t.ROLES:
        raise InputError(f"role {role!r}: expected one of {', '.join(t.ROLES)}")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "role.manage")
        require_person(conn, person)
        if role not in roles_of(conn, person):
            return False
        if role == "admin":
            admins = conn.execute(
                select(func.count()).select_from(t.role_assignments).where(t.role_assignments.c.role == "admin")
            ).scalar_one()
            if admins <= 1:
                raise InputError(f"role admin: {person!r} is the last admin; grant admin to someone else first")
        conn.execute(
            delete(t.role_assignments).where(t.role_assignments.c.person == person, t.role_assignments.c.role == role)
        )
        log = EventLog(conn)
        log.append(NewEvent("role.revoked", app.user, [], {"role": role, "person_ref": log.actor_ref(person)}))
    return True


def set_email(app: App, person: str, email: str | None) -> dict[str, Any]:
    """Set (or, with None, remove) the address ``person``'s decision e-mails go to: admins for
    anyone, everyone for themselves. The log keeps a reference to the address, not the address."""
    if email is not None:
        check_email(email)
    with transaction(app.engine) as conn:
        if person != app.user:
            authorize(conn, app.user, "person.register")  # before the lookup: a refusal reveals nothing
        require_person(conn, person)
        conn.execute(update(t.people).where(t.people.c.name == person).values(email=email))
        log = EventLog(conn)
        payload: dict[str, Any] = {"person_ref": log.actor_ref(person)}
        payload["email_ref"] = log.personal_ref(person, email) if email is not None else None
        log.append(NewEvent("person.email_set", app.user, [], payload))
    return {"name": person, "email": email}


__all__ = ["grant_state", "list_people", "revoke_role", "set_email", "show_person"]
