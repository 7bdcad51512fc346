"""Published performance figures: the officers' dashboard, ``/metrics`` and the public page.

The policy article's published metrics, from the store as it stands: review turnaround
(p50/p90 by outcome and by destination), the queue's age and SLA breaches, grants suspended
by re-screening, training completion and expiries due, and differential-privacy budget use
per dataset. What qgov does not record yet (incidents) is reported as not recorded, never
as zero. The public figures suppress every count under :data:`SMALL_COUNT`: a count of one
or two requests to a destination can name the person behind it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.classification import JURISDICTION
from qgov.canonical import as_utc

SMALL_COUNT = 5
TRAINING_DUE_DAYS = 30


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats drifting
    return round(ordered[int(rank) - 1], 1)


def _spread(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90)}


def _turnaround(rows: list[Any]) -> tuple[list[float], dict[str, list[float]], dict[str, list[float]]]:
    overall: list[float] = []
    by_outcome: dict[str, list[float]] = defaultdict(list)
    by_destination: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.decided_at is None or r.decided_by in (None, "policy"):
            continue
        hours = (as_utc(r.decided_at) - as_utc(r.created_at)).total_seconds() / 3600
        overall.append(hours)
        by_outcome[r.status].append(hours)
        by_destination[r.destination].append(hours)
    return overall, by_outcome, by_destination


def dashboard(app: App, at: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard and of ``/metrics``."""
    at = at or datetime.now(UTC)
    access = app.policies.get(JURISDICTION).require_access()
    sla = access.review_sla_hours
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.read_all")
        requests = conn.execute(
            select(
                t.access_requests.c.status,
                t.access_requests.c.destination,
                t.access_requests.c.created_at,
                t.access_requests.c.decided_at,
                t.access_requests.c.decided_by,
            )
        ).all()
        grants = conn.execute(select(t.grants.c.revoked_at, t.grants.c.suspended_at, t.grants.c.expires_at)).all()
        training = [r[0] for r in conn.execute(select(t.people.c.training_completed_on))]
        budgets = conn.execute(
            select(t.datasets.c.name, t.privacy_budgets.c.epsilon, t.privacy_budgets.c.spent_epsilon).join(
                t.datasets, t.datasets.c.id == t.privacy_budgets.c.dataset_id
            )
        ).all()
    overall, by_outcome, by_destination = _turnaround(requests)
    queued = [(at - as_utc(r.created_at)).total_seconds() / 3600 for r in requests if r.status == "queued"]
    late_decisions = sum(1 for hours in overall if hours > sla)
    valid_days = access.training_valid_days
    today = at.date()
    expiries = [date.fromisoformat(d) + timedelta(days=valid_days) for d in training if d]
    return {
        "generated_at": at,
        "sla_hours": sla,
        "turnaround": _spread(overall)
        | {
            "by_outcome": {k: _spread(v) for k, v in sorted(by_outcome.items())},
            "by_destination": {k: _spread(v) for k, v in sorted(by_destination.items())},
        },
        "queue": {
            "pending": len(queued),
            "oldest_hours": round(max(queued), 1) if queued else None,
            "overdue": sum(1 for h in queued if h > sla),
        },
        "sla_breaches": sum(1 for h in queued if h > sla) + late_decisions,
        "requests": {s: sum(1 for r in requests if r.status == s) for s in ("queued", "granted", "denied")},
        "grants": {
            "active": sum(
                1 for g in grants if g.revoked_at is None and g.suspended_at is None and as_utc(g.expires_at) > at
            ),
            "suspended": sum(1 for g in grants if g.suspended_at is not None and g.revoked_at is None),
            "revoked": sum(1 for g in grants if g.revoked_at is not None),
        },
        "training": {
            "people": len(training),
            "current": sum(1 for e in expiries if e >= today),
            "missing": sum(1 for d in training if not d),
            "expired": sum(1 for e in expiries if e < today),
            "due_within_days": TRAINING_DUE_DAYS,
            "due": sum(1 for e in expiries if today <= e <= today + timedelta(days=TRAINING_DUE_DAYS)),
        },
        "budgets": [
            {
                "dataset": b.name,
                "epsilon": float(Fraction(b.epsilon)),
                "spent": float(Fraction(b.spent_epsilon)),
                "used": float(Fraction(b.spent_epsilon) / Fraction(b.epsilon)) if Fraction(b.epsilon) else None,
            }
            for b in sorted(budgets, key=lambda b: b.name)
        ],
        "incidents": None,  # not recorded by qgov yet: shown as "none recorded"
    }


def _suppressed(count: int) -> int | None:
    return count if count >= SMALL_COUNT or count == 0 else None


def public_figures(app: App, at: datetime | None = None) -> dict[str, Any]:
    """The transparency page: the controls with their reasons and citations, the policy
    version, and aggregate figures with every count under five suppressed (None)."""
    at = at or datetime.now(UTC)
    bundle = app.policies.get(JURISDICTION)
    access = bundle.require_access()
    with app.engine.connect() as conn:
        requests = conn.execute(
            select(
                t.access_requests.c.status,
                t.access_requests.c.destination,
                t.access_requests.c.created_at,
                t.access_requests.c.decided_at,
                t.access_requests.c.decided_by,
            )
        ).all()
    overall, _, _ = _turnaround(requests)
    by_status = {s: _suppressed(sum(1 for r in requests if r.status == s)) for s in ("queued", "granted", "denied")}
    return {
        "policy_version": bundle.version,
        "title": bundle.title,
        "sla_hours": access.review_sla_hours,
        "controls": [
            {"id": r.id, "entry": r.entry, "subject": r.subject, "citation": r.citation, "status": r.status}
            | {"note": r.note, "effective": r.effective.isoformat()}
            for r in sorted(set(bundle.rules), key=lambda r: r.id)
        ],
        "carveouts": [
            {"id": c.id, "title": c.title, "citation": c.citation, "status": c.status}
            for c in sorted(set(bundle.carveouts), key=lambda c: c.id)
        ],
        "access_rules": [
            {"id": r.id, "outcome": r.outcome, "text": r.text, "citation": r.citation, "status": r.status}
            for r in sorted(set(access.rules), key=lambda r: r.id)
        ],
        "requests": by_status,
        "reviews": _suppressed(len(overall)),
        "turnaround_p50": percentile(overall, 50) if len(overall) >= SMALL_COUNT else None,
        "turnaround_p90": percentile(overall, 90) if len(overall) >= SMALL_COUNT else None,
        "small_count": SMALL_COUNT,
        "generated_at": at,
    }


__all__ = ["SMALL_COUNT", "dashboard", "percentile", "public_figures"]
