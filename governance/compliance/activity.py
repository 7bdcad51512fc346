"""From the provenance log to activity records: what each person did, with the facts rules need.

Reads only events (and the rows they name: grants, requests, releases, artifacts), so a
finding always points back at log entries. Who did it is the event's actor, except where the
actor is someone else acting on a person's behalf: an officer's denial counts against the
requester, a published release against the person who asked for it, a screening hit against
the person it names. An artifact whose classification is unknown counts as controlled
(deny when unsure).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from governance import tables as t
from governance.compliance.rules import Activity
from lineage import EventLog, schema
from qgov.canonical import as_utc
from qgov.chunks import chunked

TYPES = ("artifact.fetched", "access.decided", "access.denied", "release.refused", "release.published", "screening.hit")


def _rows(conn: Connection, table: Any, ids: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for chunk in chunked(sorted(set(ids)), 1000):
        out.update((r.id, r) for r in conn.execute(select(table).where(table.c.id.in_(chunk))))
    return out


def _end(grant: Any) -> datetime:
    ends = [as_utc(x) for x in (grant.expires_at, grant.revoked_at, grant.suspended_at) if x is not None]
    return min(ends)


def read_activities(conn: Connection, start: datetime, until: datetime) -> list[Activity]:
    """Every activity from ``start`` up to ``until``, in log order."""
    e = schema.events
    events = conn.execute(
        select(e.c.seq, e.c.event_id, e.c.type, e.c.occurred_at, e.c.actor_ref, e.c.payload)
        .where(e.c.type.in_(TYPES), e.c.occurred_at >= start, e.c.occurred_at <= until)
        .order_by(e.c.seq)
    ).all()
    refs = {ev.actor_ref for ev in events} | {
        ev.payload["person_ref"] for ev in events if ev.type == "screening.hit" and "person_ref" in ev.payload
    }
    names = EventLog(conn).actor_names(sorted(refs))
    grant_ids = [
        str(ev.payload.get("authority", "")).removeprefix("grant:")
        for ev in events
        if ev.type == "artifact.fetched" and str(ev.payload.get("authority", "")).startswith("grant:")
    ]
    grants = _rows(conn, t.grants, grant_ids)
    artifacts = _rows(conn, t.artifacts, [ev.payload["artifact"] for ev in events if ev.type == "artifact.fetched"])
    requests = _rows(conn, t.access_requests, [ev.payload["request"] for ev in events if ev.type == "access.denied"])
    releases = _rows(conn, t.releases, [ev.payload["release"] for ev in events if ev.type.startswith("release.")])
    out = []
    for ev in events:
        p, at = ev.payload, as_utc(ev.occurred_at)
        base = {"seq": int(ev.seq), "event_id": ev.event_id, "at": at}
        actor = names.get(ev.actor_ref, "[unknown]")
        if ev.type == "artifact.fetched":
            art = artifacts.get(p["artifact"])
            grant_id = str(p.get("authority", "")).removeprefix("grant:") or None
            grant = grants.get(grant_id) if grant_id else None
            out.append(
                Activity(
                    **base,
                    person=actor,
                    kind="fetch",
                    artifact=p["artifact"],
                    controlled=art is None or art.controlled is not False,
                    location=p.get("location"),
                    grant=grant_id if grant is not None else None,
                    grant_start=as_utc(grant.granted_at) if grant is not None else None,
                    grant_end=_end(grant) if grant is not None else None,
                    grant_covers=grant is not None and p["artifact"] in grant.artifacts,
                )
            )
        elif ev.type == "access.decided" and p.get("outcome") == "deny":
            out.append(Activity(**base, person=actor, kind="denied"))
        elif ev.type == "access.denied" and p.get("request") in requests:
            out.append(Activity(**base, person=requests[p["request"]].requester, kind="denied"))
        elif ev.type.startswith("release.") and p.get("release") in releases:
            row = releases[p["release"]]
            kind = "denied" if ev.type == "release.refused" else "release"
            column = f"{row.dataset_id}:{row.query.get('column')}"
            out.append(Activity(**base, person=row.requester, kind=kind, column=column))
        elif ev.type == "screening.hit" and p.get("person_ref") in names:
            out.append(Activity(**base, person=names[p["person_ref"]], kind="screening_hit"))
    return out


__all__ = ["TYPES", "read_activities"]
