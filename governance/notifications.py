"""Notifications: every decision on the acting person's own requests and grants, newest first.

Read from the provenance log (the record of what happened, not a second copy): the events
about the person's requests and the grants issued for them. Shown on their "My requests"
page. Names never enter the log, so the officer is named from the request row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from lineage import schema
from qgov.canonical import as_utc

WORDS = {
    "access.granted": "granted",
    "access.approved": "approved by an officer",
    "access.denied": "denied",
    "access.decided": "decided by the policy",
    "access.revoked": "revoked",
    "access.suspended": "suspended by re-screening",
    "access.reinstated": "reinstated after a screening match was cleared",
    "access.expired": "expired",
    "access.info_requested": "waiting for your answer to an officer's question",
}


def my_notifications(app: App, limit: int = 100) -> list[dict[str, Any]]:
    """``{"at", "type", "what", "request", "reason"}`` for each decision on my requests."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        r = t.access_requests
        requests = {
            row.id: row for row in conn.execute(select(r).where(r.c.requester == app.user).order_by(r.c.created_at))
        }
        grants = {
            g.id: g.request_id
            for g in conn.execute(
                select(t.grants.c.id, t.grants.c.request_id).where(t.grants.c.request_id.in_(requests))
            )
        }
        about = {**{k: k for k in requests}, **grants}
        s, e = schema.event_subjects, schema.events
        rows = conn.execute(
            select(e.c.seq, e.c.type, e.c.occurred_at, e.c.payload, s.c.subject_id)
            .join(s, s.c.seq == e.c.seq)
            .where(s.c.subject_id.in_(sorted(about)), e.c.type.in_(sorted(WORDS)))
            .order_by(e.c.seq.desc())
            .limit(limit)
        ).all()
    seen: set[int] = set()
    out = []
    for row in rows:
        if row.seq in seen:
            continue
        seen.add(row.seq)
        request_id = about[row.subject_id]
        req = requests[request_id]
        payload = row.payload or {}
        at: datetime = as_utc(row.occurred_at)
        out.append(
            {
                "at": at,
                "type": row.type,
                "what": WORDS[row.type],
                "request": request_id,
                "by": req.decided_by if row.type in ("access.approved", "access.denied") else None,
                "reason": payload.get("reason") or payload.get("question") or "",
            }
        )
    return out


__all__ = ["WORDS", "my_notifications"]
