"""Reading access requests and grants: researchers see their own, reviewers and auditors all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can
from governance.ids import resolve
from qgov.errors import InputError, NotFoundError

MAX_PAGE = 500


def _request_json(row: Any, grants: list[Any]) -> dict[str, Any]:
    return {
        "id": row.id,
        "requester": row.requester,
        "artifacts": list(row.artifacts),
        "purpose": row.purpose,
        "destination": row.destination,
        "days": row.duration_days,
        "status": row.status,
        "outcome": row.outcome,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "decided_by": row.decided_by,
        "licence": row.licence,
        "reason": row.reason,
        "decision": row.decision,
        "grants": [
            {
                "id": g.id,
                "expires_at": g.expires_at,
                "revoked_at": g.revoked_at,
                "suspended_at": g.suspended_at,
                "licence": g.licence,
            }
            for g in grants
        ],
    }


def _grants_of(conn: Connection, request_ids: list[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {r: [] for r in request_ids}
    if request_ids:
        for g in conn.execute(select(t.grants).where(t.grants.c.request_id.in_(request_ids))):
            out[g.request_id].append(g)
    return out


def list_requests(app: App, limit: int = 50, offset: int = 0, status: str | None = None) -> dict[str, Any]:
    """One page of access requests, newest first: all of them for reviewers and auditors,
    one's own for everyone else."""
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit: expected 1 to {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InputError(f"offset: expected 0 or more, got {offset}")
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        where = []
        if not can(conn, app.user, "access.read_all"):
            where.append(t.access_requests.c.requester == app.user)
        if status is not None:
            where.append(t.access_requests.c.status == status)
        total = conn.execute(select(func.count()).select_from(t.access_requests).where(*where)).scalar_one()
        rows = conn.execute(
            select(t.access_requests)
            .where(*where)
            .order_by(t.access_requests.c.created_at.desc(), t.access_requests.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
        grants = _grants_of(conn, [r.id for r in rows])
    return {
        "items": [_request_json(r, grants[r.id]) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def get_request(app: App, request_id: str) -> dict[str, Any]:
    """One request: the requester's own, or any for reviewers and auditors (others: not found)."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        if can(conn, app.user, "access.read_all"):  # a prefix's candidates would name others' requests
            request_id = resolve(conn, "request", request_id)
        row = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
        # Someone else's request reads as absent: its id confirms nothing to a stranger.
        if row is None or (row.requester != app.user and not can(conn, app.user, "access.read_all")):
            raise NotFoundError(f"request {request_id!r} does not exist")
        return _request_json(row, _grants_of(conn, [row.id])[row.id])


def what_if(app: App, request: Any, at: datetime | None = None) -> dict[str, Any]:
    """A what-if access check for any registered person (nothing is recorded)."""
    from governance.access import check

    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
    decision, evidence = check(app, request, at or datetime.now(UTC), "request")
    return decision.to_json() | evidence


__all__ = ["get_request", "list_requests", "what_if"]
