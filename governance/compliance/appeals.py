"""Appeals: a denied requester asks again, and a second officer decides.

Due process (the policy article): the requester files an appeal with grounds against their own
denied request; an export-control officer decides it who is neither the requester nor the
officer who denied it. Upholding keeps the denial; granting needs a licence or authorisation
reference (a denial by policy — an embargoed destination, say — is reopened only with one,
``ear.access.embargoed-destination``) and makes the grant through the same step as an approval
(:func:`governance.requests._grant`). The requester sees their appeals; officers, auditors and
admins see all. Every step is an event.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can
from governance.db import transaction
from governance.ids import resolve
from governance.requests import _grant
from lineage import EventLog, NewEvent
from qgov.canonical import iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError


def _json(row: Any) -> dict[str, Any]:
    doc = {
        "id": row.id,
        "request": row.request_id,
        "appellant": row.appellant,
        "grounds": row.grounds,
        "filed_at": iso_utc(row.filed_at),
        "status": row.status,
    }
    if row.decided_at is not None:
        doc |= {"decided_by": row.decided_by, "decided_at": iso_utc(row.decided_at), "reason": row.reason}
    if row.grant_id is not None:
        doc["grant"] = row.grant_id
    return doc


def file_appeal(app: App, request_id: str, grounds: str, at: datetime | None = None) -> dict[str, Any]:
    """The requester appeals their own denied request, with grounds."""
    if not grounds.strip():
        raise InputError("--grounds: an appeal needs its grounds (the deciding officer reads them)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.request")
        req = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
        if req is None:
            raise NotFoundError(f"request {request_id!r} does not exist")
        if req.requester != app.user:
            raise AccessDenied(f"user {app.user!r} may not appeal request {request_id}: only its requester may")
        if req.status != "denied":
            raise InputError(f"request {request_id} is {req.status}: only a denied request can be appealed")
        if conn.execute(select(ct.appeals.c.id).where(ct.appeals.c.request_id == request_id)).first():
            raise InputError(f"request {request_id} has already been appealed ('qgov appeal list')")
        appeal_id = str(uuid.uuid4())
        conn.execute(
            insert(ct.appeals).values(
                id=appeal_id, request_id=request_id, appellant=app.user, grounds=grounds, filed_at=at, status="pending"
            )
        )
        EventLog(conn).append(
            NewEvent(
                "appeal.filed",
                app.user,
                [appeal_id, request_id],
                {"appeal": appeal_id, "request": request_id, "grounds": grounds},
                at,
            )
        )
        return _json(conn.execute(select(ct.appeals).where(ct.appeals.c.id == appeal_id)).one())


def decide_appeal(
    app: App, appeal_id: str, grant: bool, reason: str, licence: str | None = None, at: datetime | None = None
) -> dict[str, Any]:
    """A second officer upholds the denial or grants the request (with a licence reference)."""
    if not reason.strip():
        raise InputError("--reason: an appeal decision needs a reason (the requester sees it)")
    if grant and not (licence and licence.strip()):
        raise InputError("--licence: granting on appeal needs a licence or authorisation reference")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.decide")
        appeal_id = resolve(conn, "appeal", appeal_id)
        row = conn.execute(select(ct.appeals).where(ct.appeals.c.id == appeal_id)).first()
        if row is None:
            raise NotFoundError(f"appeal {appeal_id!r} does not exist")
        if row.status != "pending":
            raise InputError(f"appeal {appeal_id} is already decided ({row.status})")
        req = conn.execute(select(t.access_requests).where(t.access_requests.c.id == row.request_id)).one()
        if app.user == req.requester:
            raise AccessDenied(f"user {app.user!r} may not decide an appeal of their own request")
        if app.user == req.decided_by:
            raise AccessDenied(f"user {app.user!r} denied request {req.id}: a second officer decides the appeal")
        done = conn.execute(
            update(ct.appeals)
            .where(ct.appeals.c.id == appeal_id, ct.appeals.c.status == "pending")
            .values(status="granted" if grant else "upheld", decided_by=app.user, decided_at=at, reason=reason)
        )
        if done.rowcount != 1:
            raise InputError(f"appeal {appeal_id} is already decided")
        log = EventLog(conn)
        outcome = "granted" if grant else "upheld"
        log.append(
            NewEvent(
                "appeal.decided",
                app.user,
                [appeal_id, req.id],
                {"appeal": appeal_id, "request": req.id, "outcome": outcome, "reason": reason, "licence": licence},
                at,
            )
        )
        if grant:
            moved = conn.execute(
                update(t.access_requests)
                .where(t.access_requests.c.id == req.id, t.access_requests.c.status == "denied")
                .values(status="granted", decided_at=at, decided_by=app.user, licence=licence)
            )
            if moved.rowcount != 1:
                raise InputError(f"request {req.id} is no longer denied")
            grant_id = _grant(
                conn,
                log,
                req.id,
                req.requester,
                list(req.artifacts),
                req.purpose,
                licence,
                req.duration_days,
                at,
                app.user,
            )
            conn.execute(update(ct.appeals).where(ct.appeals.c.id == appeal_id).values(grant_id=grant_id))
        return _json(conn.execute(select(ct.appeals).where(ct.appeals.c.id == appeal_id)).one())


def list_appeals(app: App) -> list[dict[str, Any]]:
    """One's own appeals; every appeal for officers, auditors and admins."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        query = select(ct.appeals).order_by(ct.appeals.c.filed_at.desc())
        if not can(conn, app.user, "access.read_all"):
            query = query.where(ct.appeals.c.appellant == app.user)
        return [_json(r) for r in conn.execute(query)]


__all__ = ["decide_appeal", "file_appeal", "list_appeals"]
