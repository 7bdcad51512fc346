"""The auditor's event search (type, actor, subject, time) and the list of signed checkpoints.

Filters are SQL conditions on the log's indexed columns, so a search reads only what it
shows (newest first, at most ``MAX_ROWS``). Actors are matched by name through the actor
table; an erased person's events stay findable by their reference only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from governance.app import App
from governance.capabilities import authorize
from governance.db import snapshot
from lineage import EventLog, schema
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError

MAX_ROWS = 500


def search_events(
    app: App,
    type: str = "",  # noqa: A002 - the field is called "type" in the log and in the form
    actor: str = "",
    subject: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Events matching every given filter, newest first. ``type`` ending in ``.`` is a prefix."""
    if not 1 <= limit <= MAX_ROWS:
        raise InputError(f"limit: expected 1 to {MAX_ROWS}, got {limit}")
    if since is not None and until is not None and as_utc(until) < as_utc(since):
        raise InputError(f"until: expected a time after since ({iso_utc(since)}), got {iso_utc(until)}")
    e = schema.events
    query = select(e).order_by(e.c.seq.desc()).limit(limit)
    if type:
        query = query.where(e.c.type.startswith(type) if type.endswith(".") else e.c.type == type)
    if since is not None:
        query = query.where(e.c.occurred_at >= as_utc(since))
    if until is not None:
        query = query.where(e.c.occurred_at <= as_utc(until))
    if subject:
        query = query.where(
            e.c.seq.in_(select(schema.event_subjects.c.seq).where(schema.event_subjects.c.subject_id == subject))
        )
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        if actor:
            ref = conn.execute(select(schema.actors.c.ref).where(schema.actors.c.name == actor)).scalar()
            query = query.where(e.c.actor_ref == (ref or actor))  # a name, or a reference as given
        rows = conn.execute(query).all()
        names = EventLog(conn).actor_names(sorted({r.actor_ref for r in rows}))
    return [
        {
            "seq": int(r.seq),
            "type": r.type,
            "occurred_at": iso_utc(as_utc(r.occurred_at)),
            "actor": names.get(r.actor_ref, r.actor_ref),
            "subjects": list(r.subjects),
            "payload": dict(r.payload),
            "hash": r.hash,
        }
        for r in rows
    ]


def event_types(app: App) -> list[str]:
    """Every event type the log holds, for the search form."""
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        return sorted(r[0] for r in conn.execute(select(schema.events.c.type).distinct()))


def list_checkpoints(app: App, limit: int = 50) -> list[dict[str, Any]]:
    """The newest signed checkpoints: size, root hash, key, time and the signed note."""
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        rows = conn.execute(select(schema.checkpoints).order_by(schema.checkpoints.c.size.desc()).limit(limit)).all()
    return [
        {
            "size": int(r.size),
            "root_hash": r.root_hash,
            "key_name": r.key_name,
            "created_at": iso_utc(as_utc(r.created_at)),
            "note": r.note,
        }
        for r in rows
    ]


__all__ = ["event_types", "list_checkpoints", "search_events"]
