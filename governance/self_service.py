"""A researcher's own view: their requests and grants explained, a decision preview, and why
a fetch would be refused.

Everything here concerns the acting person only (``access.request``, which every registered
person holds). The preview decides exactly as :func:`governance.requests.request_access`
would — the same facts, screening (an officer's cleared matches left out) and policy — but
records nothing: the policy article's pre-emptive disclosure, so a researcher knows the
licensing burden before a collaboration starts.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from governance import tables as t
from governance.access import screen_requester
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_artifact
from governance.classification import JURISDICTION
from governance.info_requests import review_waited_hours
from governance.requests import get_person
from governance.screening_clearance import without_cleared
from policies.access import SEVERITY, check_request, decide
from qgov.canonical import as_utc
from qgov.errors import InputError

NEXT_STEP = {
    "queued": "Wait for an export-control officer; nothing is needed from you unless they ask.",
    "active": "Fetch the files below while the grant lasts.",
    "suspended": "A new screening match suspended this grant; an officer reviews it. You need do nothing.",
    "revoked": "An officer revoked this grant; ask them why, or file a new request.",
    "expired": "The grant ran out; file a new request if you still need the data.",
    "denied": "Read the reason; an officer may reconsider a new request with more context.",
    "granted": "Granted.",
    "info_requested": "An officer asked you a question: answer it below (or 'qgov access answer'); "
    "the review resumes when you do.",
}


def _hours(start: datetime, end: datetime) -> float:
    return round((as_utc(end) - as_utc(start)).total_seconds() / 3600, 1)


def grant_state(grant: Any, at: datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.suspended_at is not None:
        return "suspended"
    if as_utc(grant.expires_at) <= at:
        return "expired"
    return "active"


def review_hours(conn: Connection) -> list[float]:
    """How long officers took over every request they decided (never the policy's instant answers)."""
    rows = conn.execute(
        select(t.access_requests.c.created_at, t.access_requests.c.decided_at).where(
            t.access_requests.c.decided_at.is_not(None), t.access_requests.c.decided_by != "policy"
        )
    )
    return [_hours(r.created_at, r.decided_at) for r in rows]


def _reasons(row: Any) -> list[dict[str, str]]:
    """The rules behind the request's outcome, each once, with its citation."""
    seen: dict[str, dict[str, str]] = {}
    for art in (row.decision or {}).get("artifacts", []):
        for reason in art.get("reasons", []):
            if reason.get("outcome") == row.outcome:
                seen.setdefault(reason["rule"], reason)
    return list(seen.values())


def my_requests(app: App, at: datetime | None = None) -> dict[str, Any]:
    """The acting person's requests, newest first, each with its state, the rules and
    citations behind it, the time waited against the review SLA, and what to do next."""
    at = at or datetime.now(UTC)
    sla = app.policies.get(JURISDICTION).require_access().review_sla_hours
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        rows = conn.execute(
            select(t.access_requests)
            .where(t.access_requests.c.requester == app.user)
            .order_by(t.access_requests.c.created_at.desc())
            .limit(200)
        ).all()
        grants = {
            g.request_id: g
            for g in conn.execute(select(t.grants).where(t.grants.c.request_id.in_([r.id for r in rows])))
        }
        ids = sorted({a for r in rows for a in r.artifacts})
        names = {a.id: a.path for a in conn.execute(select(t.artifacts).where(t.artifacts.c.id.in_(ids)))}
        typical = review_hours(conn)
    items = []
    for r in rows:
        grant = grants.get(r.id)
        state = grant_state(grant, at) if grant is not None else r.status
        waited = review_waited_hours(r, at)
        items.append(
            {
                "id": r.id,
                "artifacts": [{"id": a, "name": names.get(a, a)} for a in r.artifacts],
                "purpose": r.purpose,
                "destination": r.destination,
                "days": r.duration_days,
                "status": r.status,
                "state": state,
                "outcome": r.outcome,
                "created_at": as_utc(r.created_at),
                "waited_hours": waited,
                "overdue": r.status == "queued" and waited > sla,
                "reasons": _reasons(r),
                "officer_reason": r.reason,
                "question": r.info_question,
                "answer": r.info_answer,
                "licence": r.licence,
                "decided_by": r.decided_by,
                "grant": None
                if grant is None
                else {"id": grant.id, "expires_at": as_utc(grant.expires_at), "licence": grant.licence},
                "next": NEXT_STEP.get(state, ""),
            }
        )
    return {
        "items": items,
        "sla_hours": sla,
        "typical_review_hours": round(statistics.median(typical), 1) if typical else None,
        "reviews_counted": len(typical),
    }


def preview_request(
    app: App, artifacts: list[str], purpose: str, destination: str, at: datetime | None = None
) -> dict[str, Any]:
    """What ``request_access`` would decide now for the acting person; nothing is recorded."""
    if not artifacts:
        raise InputError("artifact: choose at least one artifact")
    at = at or datetime.now(UTC)
    bundle = app.policies.get(JURISDICTION)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        person = get_person(conn, app.user)
    request = check_request(
        {"requester": person.as_requester(), "item": {}, "purpose": purpose, "destination": destination}
    )
    screening, records = screen_requester(app, request["requester"])
    with app.engine.connect() as conn:
        screening = without_cleared(conn, person.name, screening, records)
        found = [get_artifact(conn, a) for a in artifacts]
    per_artifact = [
        (
            a,
            decide(
                request, a.effective_classification(), a.kind, screening, at, bundle.require_access(), bundle.version
            ),
        )
        for a in found
    ]
    outcome = max((d.outcome for _, d in per_artifact), key=SEVERITY.__getitem__)
    return {
        "outcome": outcome,
        "policy_version": bundle.version,
        "artifacts": [
            {"id": a.id, "name": a.path, "classification": d.classification, "outcome": d.outcome}
            | {"reasons": [r.to_json() for r in d.reasons]}
            for a, d in per_artifact
        ],
        "screening": [{k: v for k, v in r.items() if k != "query"} for r in records],
    }


def why_not_fetchable(app: App, artifact: str, at: datetime | None = None) -> str:
    """Why the acting person cannot fetch ``artifact`` now, in their words; "" when they can."""
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        requests = [
            r
            for r in conn.execute(
                select(t.access_requests)
                .where(t.access_requests.c.requester == app.user)
                .order_by(t.access_requests.c.created_at.desc())
            )
            if artifact in r.artifacts
        ]
        grants = {
            g.request_id: g
            for g in conn.execute(select(t.grants).where(t.grants.c.person == app.user))
            if artifact in g.artifacts
        }
    states = [(r, grants.get(r.id)) for r in requests]
    if any(g is not None and grant_state(g, at) == "active" for _, g in states):
        return ""
    if not states:
        return "you have not asked for it: file a request"
    request, grant = states[0]
    if grant is not None:
        state = grant_state(grant, at)
        when = {
            "suspended": grant.suspended_at,
            "revoked": grant.revoked_at,
            "expired": grant.expires_at,
        }[state]
        return f"your grant {grant.id} was {state} on {as_utc(when):%Y-%m-%d %H:%M} UTC. {NEXT_STEP[state]}"
    if request.status == "info_requested":
        return f"your request {request.id} waits for your answer to an officer's question (see My requests)"
    if request.status == "queued":
        return f"your request {request.id} is pending review since {as_utc(request.created_at):%Y-%m-%d %H:%M} UTC"
    return f"your request {request.id} was denied: {request.reason or 'by the access policy'}"


__all__ = ["grant_state", "my_requests", "preview_request", "review_hours", "why_not_fetchable"]
