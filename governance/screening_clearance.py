"""Clearing a false-positive screening match: it stays cleared for that list version.

An officer who finds that a match is not the listed party (same name, another person)
records a clearance for (person, listed entry, list version). From then on:

- decisions on that person's requests leave the cleared entries out, at that list version
  only: a new list version screens afresh, since the entry itself may have changed;
- a re-screening against the same version does not report them as new hits;
- grants that a re-screening suspended for those entries are reinstated as they were —
  same licence, purpose and expiry (an ``access.reinstated`` event) — never re-issued, and
  the review requests the re-screening queued for them are closed.

Before this module, approving a re-screening review issued a fresh grant in place of the
suspended one (licence dropped, purpose replaced, one day instead of the original term)
and the person's next request met the same match again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.db import transaction
from lineage import EventLog, NewEvent
from qgov.errors import AccessDenied, InputError, NotFoundError

RESCREENING_RULE = "ear.access.screening-hit"


def cleared_entries(conn: Connection, person: str, list_version: str) -> set[str]:
    """The listed entries an officer cleared for ``person`` against ``list_version``."""
    rows = conn.execute(
        select(t.screening_clearances.c.entry_id).where(
            t.screening_clearances.c.person == person, t.screening_clearances.c.list_version == list_version
        )
    )
    return {r.entry_id for r in rows}


def without_cleared(
    conn: Connection, person: str, inputs: list[dict[str, Any]], records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The decision inputs of a screening minus the entries cleared for ``person`` at the
    version the screening used; each record notes what was left out, for the decision's evidence."""
    versions = {r.get("list_version") for r in records if r.get("list_version")}
    cleared = set().union(*(cleared_entries(conn, person, str(v)) for v in versions)) if versions else set()
    if not cleared:
        return inputs
    for record in records:
        left_out = sorted({m["entry_id"] for m in record.get("matches", [])} & cleared)
        if left_out:
            record["cleared"] = left_out
    return [m for m in inputs if m["entry_id"] not in cleared]


def _request_row(conn: Connection, request_id: str) -> Any:
    row = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
    if row is None:
        raise NotFoundError(f"request {request_id!r} does not exist")
    return row


def _matches_of(row: Any) -> dict[str, str]:
    """The listed entries behind a request, each with the list version it was matched against."""
    decision = row.decision or {}
    if decision.get("suspended_grant"):
        return {e: decision["list_version"] for e in decision.get("entries", [])}
    return {
        m["entry_id"]: record["list_version"] for record in decision.get("screening", []) for m in record["matches"]
    }


def _record(
    conn: Connection, log: EventLog, person: str, entries: dict[str, str], reason: str, by: str, at: datetime
) -> list[str]:
    new = []
    for entry, version in sorted(entries.items()):
        if entry in cleared_entries(conn, person, version):
            continue
        conn.execute(
            insert(t.screening_clearances).values(
                person=person, entry_id=entry, list_version=version, reason=reason, cleared_by=by, cleared_at=at
            )
        )
        new.append(entry)
    if new:
        ref = log.actor_ref(person)
        versions = sorted({entries[e] for e in new})
        log.append(
            NewEvent(
                "screening.cleared",
                by,
                [ref, *new],
                {"person_ref": ref, "entries": new, "list_versions": versions, "reason": reason},
                at,
            )
        )
    return new


def reinstate_cleared(conn: Connection, log: EventLog, person: str, by: str, at: datetime) -> list[str]:
    """Close every queued re-screening review of ``person`` whose entries are all cleared now,
    and lift the suspension of its grant as it stood (unless revoked meanwhile)."""
    reinstated = []
    reviews = conn.execute(
        select(t.access_requests).where(t.access_requests.c.requester == person, t.access_requests.c.status == "queued")
    ).all()
    for review in reviews:
        decision = review.decision or {}
        grant_id = decision.get("suspended_grant")
        if not grant_id or not set(decision.get("entries", [])) <= cleared_entries(
            conn, person, decision.get("list_version", "")
        ):
            continue
        grant = conn.execute(select(t.grants).where(t.grants.c.id == grant_id)).first()
        note = f"screening match cleared; grant {grant_id} reinstated as it was"
        closed = conn.execute(
            update(t.access_requests)
            .where(t.access_requests.c.id == review.id, t.access_requests.c.status == "queued")
            .values(
                status="granted", decided_at=at, decided_by=by, reason=note, licence=grant.licence if grant else None
            )
        )
        if closed.rowcount != 1:  # another decision got there first
            continue
        events = [
            NewEvent(
                "access.approved",
                by,
                [review.id],
                {"request": review.id, "licence": grant.licence if grant else None, "reinstates": grant_id},
                at,
            )
        ]
        if grant is not None and grant.revoked_at is None and grant.suspended_at is not None:
            conn.execute(update(t.grants).where(t.grants.c.id == grant_id).values(suspended_at=None))
            events.append(
                NewEvent(
                    "access.reinstated",
                    by,
                    [grant_id, review.id, *grant.artifacts],
                    {"grant": grant_id, "review": review.id, "entries": decision.get("entries", [])},
                    at,
                )
            )
            reinstated.append(grant_id)
        log.append_many(events)
    return reinstated


def clear_match(
    app: App, request_id: str, entries: Sequence[str], reason: str, at: datetime | None = None
) -> dict[str, Any]:
    """An officer clears listed entries that matched a request's requester as false positives."""
    if not reason.strip():
        raise InputError("--reason: clearing a screening match needs a reason (it is part of the record)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "screening.clear")
        row = _request_row(conn, request_id)
        if row.requester == app.user:
            raise AccessDenied(f"user {app.user!r} may not clear screening matches on their own request {request_id}")
        matched = _matches_of(row)
        unknown = sorted(set(entries) - matched.keys())
        if not entries or unknown:
            raise InputError(
                f"entry: expected one of the entries matched on request {request_id} "
                f"({', '.join(sorted(matched)) or 'none'}), got {', '.join(unknown) or 'nothing'}"
            )
        log = EventLog(conn)
        new = _record(conn, log, row.requester, {e: matched[e] for e in entries}, reason, app.user, at)
        reinstated = reinstate_cleared(conn, log, row.requester, app.user, at)
    return {"request": request_id, "cleared": new, "reinstated_grants": reinstated}


def clear_for_review(conn: Connection, log: EventLog, row: Any, by: str, at: datetime) -> str | None:
    """Approving a re-screening review clears its entries and reinstates its grant; the grant's
    id, or None when ``row`` is not such a review."""
    decision = row.decision or {}
    if not decision.get("suspended_grant"):
        return None
    _record(conn, log, row.requester, _matches_of(row), f"review {row.id} approved", by, at)
    reinstate_cleared(conn, log, row.requester, by, at)
    return str(decision["suspended_grant"])


__all__ = ["cleared_entries", "clear_for_review", "clear_match", "reinstate_cleared", "without_cleared"]
