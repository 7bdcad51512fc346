"""The officer's queue with the full context of each request, one page at a time.

Each queued request comes with what a decision rests on: the person's registered facts
(citizenships, permanent residence, location, affiliation, training), every screening match
with its listed entry, list, score and list version (and any the officer already cleared),
each artifact's classification with the rules and citations behind it, the destination,
duration and purpose, and the time waited against the review SLA. Oldest first; three
queries per page whatever its length.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import JURISDICTION
from governance.info_requests import review_waited_hours
from qgov.canonical import as_utc
from qgov.errors import InputError

MAX_PAGE = 500


def _screening(decision: dict[str, Any]) -> list[dict[str, Any]]:
    if decision.get("suspended_grant"):
        return [
            {"field": "re-screening", "list_version": decision.get("list_version", ""), "entry_id": e}
            | {"list": "", "score": None, "matched_name": "", "cleared": False}
            for e in decision.get("entries", [])
        ]
    out = []
    for record in decision.get("screening", []):
        cleared = set(record.get("cleared", []))
        for m in record.get("matches", []):
            out.append(
                {
                    "field": record.get("field", ""),
                    "list_version": record.get("list_version", ""),
                    "entry_id": m["entry_id"],
                    "list": m.get("list", ""),
                    "score": m.get("score"),
                    "matched_name": m.get("matched_name", ""),
                    "exact": m.get("exact", False),
                    "cleared": m["entry_id"] in cleared,
                }
            )
    return out


def queue_context(app: App, limit: int = 100, offset: int = 0, at: datetime | None = None) -> dict[str, Any]:
    """One page of the review queue, oldest first, each request with its full context."""
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit: expected 1 to {MAX_PAGE}, got {limit}")
    if offset < 0:
        raise InputError(f"offset: expected 0 or more, got {offset}")
    at = at or datetime.now(UTC)
    sla = app.policies.get(JURISDICTION).require_access().review_sla_hours
    queued = t.access_requests.c.status == "queued"
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.queue")
        total = conn.execute(select(func.count()).select_from(t.access_requests).where(queued)).scalar_one()
        oldest = conn.execute(select(func.min(t.access_requests.c.created_at)).where(queued)).scalar()
        asked = conn.execute(
            select(func.count()).select_from(t.access_requests).where(t.access_requests.c.status == "info_requested")
        ).scalar_one()
        rows = conn.execute(
            select(t.access_requests)
            .where(queued)
            .order_by(t.access_requests.c.created_at, t.access_requests.c.id)
            .limit(limit)
            .offset(offset)
        ).all()
        people = {
            p.name: p
            for p in conn.execute(select(t.people).where(t.people.c.name.in_(sorted({r.requester for r in rows}))))
        }
        ids = sorted({a for r in rows for a in r.artifacts})
        names = {
            a.id: a.path
            for a in conn.execute(select(t.artifacts.c.id, t.artifacts.c.path).where(t.artifacts.c.id.in_(ids)))
        }
    items = []
    for r in rows:
        waited = review_waited_hours(r, at)
        person = people.get(r.requester)
        decision = r.decision or {}
        items.append(
            {
                "id": r.id,
                "requester": r.requester,
                "person": None
                if person is None
                else {
                    "citizenships": list(person.citizenships),
                    "us_permanent_resident": bool(person.us_permanent_resident),
                    "permanent_residence": person.permanent_residence,
                    "location": person.location,
                    "affiliation": person.affiliation,
                    "training_completed_on": person.training_completed_on,
                },
                "outcome": r.outcome,
                "purpose": r.purpose,
                "destination": r.destination,
                "days": r.duration_days,
                "created_at": as_utc(r.created_at),
                "waited_hours": waited,
                "overdue": waited > sla,
                "question": r.info_question,
                "answer": r.info_answer,
                "policy_version": decision.get("policy_version", ""),
                "rescreening": bool(decision.get("suspended_grant")),
                "screening": _screening(decision),
                "artifacts": [
                    {
                        "id": a.get("artifact"),
                        "name": names.get(a.get("artifact", ""), a.get("artifact")),
                        "classification": a.get("classification") or "",
                        "outcome": a.get("outcome"),
                        "reasons": a.get("reasons", []),
                    }
                    for a in decision.get("artifacts", [])
                ],
            }
        )
    oldest_hours = round((at - as_utc(oldest)).total_seconds() / 3600, 1) if oldest is not None else None
    return {
        "items": items,
        "total": total,
        "limit": limit,
        "offset": offset,
        "sla_hours": sla,
        "oldest_hours": oldest_hours,
        "waiting_for_requester": asked,
    }


__all__ = ["queue_context"]
