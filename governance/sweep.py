"""The retention sweep: act on every artifact whose retention has ended, skipping held ones.

Per the artifact's schedule: ``delete`` crypto-shreds it with a certificate, ``review`` and
``archive`` are recorded once as due (an officer decides; there is no archive tier to move
data to yet). It also finishes ciphertext removals a killed deletion left behind. A dry run
(the default from the command line) reports exactly what acting would do.

Holds can be placed while the sweep runs. Each deletion checks for holds again under the
log's head lock (ADR 0011); one that became held since the sweep looked is skipped and
reported under ``held`` (with ``held_during_sweep``), and the sweep carries on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import ArtifactDeletedError
from governance.db import transaction
from governance.deletion import HeldError, complete_removals, delete_artifact, plan_deletion
from governance.retention import retention_of
from lineage import EventLog, NewEvent, schema
from qgov.canonical import parse_iso


def _recorded(app: App, artifact: str, event_type: str) -> bool:
    with app.engine.connect() as conn:
        row = conn.execute(
            select(schema.events.c.seq)
            .join(schema.event_subjects, schema.event_subjects.c.seq == schema.events.c.seq)
            .where(schema.event_subjects.c.subject_id == artifact, schema.events.c.type == event_type)
            .limit(1)
        ).first()
    return row is not None


def sweep(app: App, act: bool = False, at: datetime | None = None) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        if act:
            authorize(conn, app.user, "retention.sweep")
        ids = [r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.deleted_at.is_(None)))]
        pending = conn.execute(select(t.blobs.c.object_id).where(t.blobs.c.shredded_at.is_not(None))).all()
    report: dict[str, Any] = {
        "dry_run": not act,
        "as_of": at.isoformat(),
        "checked": len(ids),
        "deleted": [],
        "review": [],
        "archive": [],
        "held": [],
    }
    report["ciphertext_removed"] = (
        complete_removals(app) if act else sum(app.blobs.exists(p.object_id) for p in pending)
    )
    deleted: set[str] = set()
    for artifact in ids:
        if artifact in deleted:
            continue
        kept = retention_of(app, artifact, at)
        if parse_iso(kept["keep_until"]) > at:
            continue
        entry = {"artifact": artifact, "path": kept["path"], "keep_until": kept["keep_until"]}
        entry["schedule"] = kept["schedule"]
        if kept["holds"]:
            report["held"].append(entry | {"hold": kept["holds"][0]["hold"]})
            continue
        action = kept["action"]
        if action == "delete":
            try:
                blocking = plan_deletion(app, artifact)["holds"]  # also holds on artifacts sharing its content
            except ArtifactDeletedError:  # deleted by someone else meanwhile, with its own certificate
                continue
            if blocking:
                report["held"].append(entry | {"hold": blocking[0]["hold"]})
                continue
            if act:
                try:
                    signed = delete_artifact(app, artifact, f"retention schedule {kept['schedule']} ended", as_of=at)
                except HeldError as exc:  # held since it was checked above: skip it and carry on
                    report["held"].append(entry | {"hold": exc.hold["hold"], "held_during_sweep": True})
                    continue
                except ArtifactDeletedError:  # deleted by someone else meanwhile, with its own certificate
                    continue
                deleted |= {a["id"] for a in signed["certificate"]["artifacts"]}
                entry["certificate"] = signed["certificate"]["certificate_id"]
            report["deleted"].append(entry)
            continue
        kind = "retention.review_due" if action == "review" else "retention.archive_due"
        if act and not _recorded(app, artifact, kind):
            with transaction(app.engine) as conn:
                EventLog(conn).append(
                    NewEvent(
                        kind,
                        app.user,
                        [artifact],
                        {"artifact": artifact, "schedule": kept["schedule"], "keep_until": kept["keep_until"]},
                    )
                )
        report[action].append(entry)
    return report


__all__ = ["sweep"]
