"""Quarantine entries end when the file at their path is governed or replaced.

A file that fails its dataset's expectations is held in ``quarantine`` by (dataset, path,
sha256). When a later ingest finds that path holding a file that is governed (fixed, or
passing expectations that changed) or another file that fails in its turn, the old entry
no longer describes anything in the folder: it is removed and a ``quarantine.released``
event records which bytes were held, why they were, and what replaced them. A file that
still fails keeps its entry (and is listed as quarantined again by the run that found it).
Paths an ingest could not read (skipped, unreadable) keep theirs: nothing was learnt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from governance import tables as t
from governance.app import App
from governance.db import transaction
from lineage import EventLog, NewEvent
from qgov.chunks import chunked

if TYPE_CHECKING:
    from governance.catalog import Dataset
    from governance.ingest import BatchResult


def _stale(conn: Any, dataset_id: str, current: dict[str, dict[str, Any]], held: set[tuple[str, str]]) -> list[Any]:
    rows = []
    for chunk in chunked(sorted(current), 500):
        rows += conn.execute(
            select(t.quarantine.c.id, t.quarantine.c.path, t.quarantine.c.sha256, t.quarantine.c.reason).where(
                t.quarantine.c.dataset_id == dataset_id, t.quarantine.c.path.in_(chunk)
            )
        ).all()
    return [r for r in rows if (r.path, r.sha256) not in held]


def release_superseded(app: App, dataset: Dataset, run_id: str, result: BatchResult) -> int:
    """End the quarantine entries that ``result`` (one ingest batch) shows are out of date."""
    current: dict[str, dict[str, Any]] = {}
    for a in [*result.ingested, *result.unchanged, *result.concurrent]:
        current[a["path"]] = {"sha256": a["sha256"], "artifact": a["id"], "status": "governed"}
    for q in result.quarantined:
        current[q["path"]] = {"sha256": q["sha256"], "status": "quarantined"}
    held = {(q["path"], q["sha256"]) for q in result.quarantined}
    if not current:
        return 0
    with app.engine.connect() as conn:
        if not _stale(conn, dataset.id, current, held):
            return 0  # the common case: nothing to release, no write transaction
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        stale = _stale(conn, dataset.id, current, held)  # again, under the lock
        if not stale:
            return 0
        conn.execute(delete(t.quarantine).where(t.quarantine.c.id.in_([r.id for r in stale])))
        events = []
        for r in stale:
            now = current[r.path]
            if now["status"] == "governed" and now["sha256"] == r.sha256:
                why = f"these bytes now pass the dataset's expectations; governed as artifact {now['artifact']}"
            elif now["status"] == "governed":
                why = f"the file at this path was replaced; its content is governed as artifact {now['artifact']}"
            else:
                why = "the file at this path was replaced by other content, which is quarantined in its turn"
            events.append(
                NewEvent(
                    "quarantine.released",
                    app.user,
                    subjects=[dataset.id, r.sha256, *([now["artifact"]] if "artifact" in now else [])],
                    payload={
                        "dataset": dataset.name,
                        "path": r.path,
                        "sha256": r.sha256,
                        "quarantined_for": r.reason,
                        "released_because": why,
                        "now": {k: v for k, v in now.items() if k != "status"} | {"status": now["status"]},
                        "ingest_run": run_id,
                    },
                )
            )
        log.append_many(events)
        return len(stale)


__all__ = ["release_superseded"]
