"""Suspending a person's live grants: one step shared by incident containment and training lapses.

The caller authorises and owns the transaction; each suspension is an ``access.suspended``
event naming why (the grant fold in :mod:`governance.consistency` reads its time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from governance import tables as t
from lineage import EventLog, NewEvent
from qgov.canonical import as_utc


def suspend_live_grants(
    conn: Connection, log: EventLog, person: str, at: datetime, actor: str, reason: str, subject: str
) -> list[str]:
    g = t.grants
    rows = conn.execute(
        select(g).where(g.c.person == person, g.c.revoked_at.is_(None), g.c.suspended_at.is_(None))
    ).all()
    live = [r for r in rows if as_utc(r.expires_at) > at]
    for r in live:
        conn.execute(update(g).where(g.c.id == r.id).values(suspended_at=at))
    log.append_many(
        [
            NewEvent("access.suspended", actor, [r.id, subject, *r.artifacts], {"grant": r.id, "reason": reason}, at)
            for r in live
        ]
    )
    return [r.id for r in live]


__all__ = ["suspend_live_grants"]
