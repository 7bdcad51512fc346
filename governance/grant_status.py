"""A researcher's view of access: their requests and grants, and why a fetch is refused.

"No valid grant" has several causes a researcher acts on differently: a request still
pending review (wait), a grant suspended by re-screening (an officer reviews the match),
revoked or expired (ask again), a denied request (read the reason), or nothing ever asked.
:func:`why_no_grant` says which, as a typed :data:`Refusal` reason that the command line
prints and the API's problem document carries (``grant_status``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import JURISDICTION
from governance.info_requests import review_waited_hours
from governance.people import grant_state
from qgov.canonical import as_utc, iso_utc
from qgov.errors import AccessDenied

Refusal = Literal["pending", "suspended", "revoked", "expired", "denied", "never_requested"]
REFUSALS: tuple[Refusal, ...] = ("pending", "suspended", "revoked", "expired", "denied", "never_requested")


class NoGrantError(AccessDenied):
    """A fetch refused for want of a valid grant; ``reason`` says which case applies."""

    def __init__(self, message: str, reason: Refusal) -> None:
        super().__init__(message)
        self.reason = reason

    def problem_fields(self) -> dict[str, str]:
        return {"grant_status": self.reason}


def _hours(start: datetime, end: datetime) -> float:
    return round((as_utc(end) - as_utc(start)).total_seconds() / 3600, 1)


def why_no_grant(conn: Connection, person: str, artifact: str, at: datetime) -> NoGrantError:
    """The refusal for ``person`` fetching ``artifact`` when no valid grant covers it."""
    head = f"user {person!r} may not fetch artifact {artifact}: no valid grant covers it"
    grants = sorted(
        (g for g in conn.execute(select(t.grants).where(t.grants.c.person == person)) if artifact in g.artifacts),
        key=lambda g: as_utc(g.granted_at),
        reverse=True,
    )
    suspended = [g for g in grants if grant_state(g, at) == "suspended"]
    if suspended:
        g = suspended[0]
        return NoGrantError(
            f"{head} (suspended): grant {g.id} was suspended by re-screening on {iso_utc(as_utc(g.suspended_at))}; "
            "an export-control officer reviews the match",
            "suspended",
        )
    requests = sorted(
        (
            r
            for r in conn.execute(select(t.access_requests).where(t.access_requests.c.requester == person))
            if artifact in r.artifacts
        ),
        key=lambda r: as_utc(r.created_at),
        reverse=True,
    )
    pending = [r for r in requests if r.status in ("queued", "info_requested")]
    if pending:
        r = pending[0]
        if r.status == "info_requested":
            return NoGrantError(
                f"{head} (pending): an officer asked a question about request {r.id}; read it with "
                f"'qgov access mine' and answer with 'qgov access answer {r.id} --text …'",
                "pending",
            )
        return NoGrantError(
            f"{head} (pending): request {r.id} waits for an officer's review ({_hours(r.created_at, at)} h so far); "
            "see 'qgov access mine'",
            "pending",
        )
    if grants:
        g = grants[0]
        state = grant_state(g, at)
        if state == "revoked":
            return NoGrantError(
                f"{head} (revoked): grant {g.id} was revoked on {iso_utc(as_utc(g.revoked_at))}; "
                "ask again with 'qgov access request'",
                "revoked",
            )
        return NoGrantError(
            f"{head} (expired): grant {g.id} expired on {iso_utc(as_utc(g.expires_at))}; "
            "ask again with 'qgov access request'",
            "expired",
        )
    denied = [r for r in requests if r.status == "denied"]
    if denied:
        r = denied[0]
        why = f": {r.reason}" if r.reason else ""
        return NoGrantError(f"{head} (denied): request {r.id} was denied{why}", "denied")
    return NoGrantError(
        f"{head} (never requested): ask with 'qgov access request --artifact {artifact} --purpose …'",
        "never_requested",
    )


def my_access(app: App, at: datetime | None = None) -> dict[str, Any]:
    """The acting person's requests (newest first) with status, the rule behind the automatic
    decision and the time waited, and their grants with what each is worth now."""
    at = at or datetime.now(UTC)
    sla = app.policies.get(JURISDICTION).require_access().review_sla_hours
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.request")
        requests = conn.execute(
            select(t.access_requests)
            .where(t.access_requests.c.requester == app.user)
            .order_by(t.access_requests.c.created_at.desc(), t.access_requests.c.id)
        ).all()
        grants = conn.execute(
            select(t.grants).where(t.grants.c.person == app.user).order_by(t.grants.c.granted_at.desc())
        ).all()
    return {
        "person": app.user,
        "review_sla_hours": sla,
        "requests": [_request_row(r, at) for r in requests],
        "grants": [
            {
                "grant": g.id,
                "request": g.request_id,
                "artifacts": list(g.artifacts),
                "status": grant_state(g, at),
                "licence": g.licence,
                "granted_at": iso_utc(as_utc(g.granted_at)),
                "expires_at": iso_utc(as_utc(g.expires_at)),
            }
            for g in grants
        ],
    }


def _request_row(r: Any, at: datetime) -> dict[str, Any]:
    reasons = [
        {"artifact": a["artifact"], "rule": reason["rule"], "citation": reason.get("citation"), "text": reason["text"]}
        for a in r.decision["artifacts"]
        for reason in a["reasons"]
        if reason["outcome"] == r.outcome
    ]
    return {
        "request": r.id,
        "artifacts": list(r.artifacts),
        "purpose": r.purpose,
        "destination": r.destination,
        "days": r.duration_days,
        "status": r.status,
        "outcome": r.outcome,
        "rules": sorted({x["rule"] for x in reasons}),
        "reasons": reasons,
        "created_at": iso_utc(as_utc(r.created_at)),
        "decided_at": iso_utc(as_utc(r.decided_at)) if r.decided_at else None,
        "decided_by": r.decided_by,
        "denial_reason": r.reason,
        "waited_hours": review_waited_hours(r, at),
        "question": r.info_question,
        "answer": r.info_answer,
    }


__all__ = ["REFUSALS", "NoGrantError", "Refusal", "my_access", "why_no_grant"]
