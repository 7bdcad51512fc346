"""Audit service: verify the provenance log and the stored objects, list events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from governance import tables as t
from governance.app import App
from lineage import ChainReport, EventLog
from qgov.canonical import iso_utc
from qgov.errors import IntegrityError, StorageError


@dataclass(frozen=True)
class BlobCheck:
    checked: int
    bad: list[dict[str, str]]


def verify_log(app: App) -> ChainReport:
    with app.engine.connect() as conn:
        return EventLog(conn).verify()


def verify_blobs(app: App, progress: Callable[[int, int], None] | None = None) -> BlobCheck:
    """Decrypt and re-hash every stored object (slow: reads all ciphertext)."""
    with app.engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(t.blobs).where(t.blobs.c.wrapped_key.is_not(None))
        ).scalar_one()
        rows = conn.execute(
            select(t.blobs.c.object_id, t.blobs.c.wrapped_key)
            .where(t.blobs.c.wrapped_key.is_not(None))
            .order_by(t.blobs.c.object_id)
        ).all()
    bad: list[dict[str, str]] = []
    for index, row in enumerate(rows, 1):
        try:
            app.blobs.verify(row.object_id, row.wrapped_key)
        except (IntegrityError, StorageError) as exc:
            bad.append({"object_id": row.object_id, "error": exc.diagnostics()})
        if progress is not None:
            progress(index, total)
    return BlobCheck(len(rows), bad)


def list_events(app: App, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        log = EventLog(conn)
        events = []
        for stored in log.iter_events(subject=subject):
            events.append(stored)
            if limit is not None and len(events) >= limit and subject is None:
                break
        names = log.actor_names([e.body.actor_ref for e in events])
    return [
        {
            "seq": e.body.seq,
            "event_id": e.body.event_id,
            "type": e.body.type,
            "occurred_at": iso_utc(e.body.occurred_at),
            "actor": names.get(e.body.actor_ref, "[unknown]"),
            "subjects": list(e.body.subjects),
            "payload": e.body.payload,
            "hash": e.hash,
        }
        for e in events
    ]


__all__ = ["BlobCheck", "list_events", "verify_blobs", "verify_log"]
