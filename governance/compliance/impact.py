"""Policy impact: what a proposed policy directory would change, before anyone publishes it.

The proposed bundle is loaded as ``QGOV_POLICY_DIR`` would be (the built-in bundles, then the
directory's files over them). The catalog is re-classified under it by the very
:class:`governance.classification.Classifier` that reclassification uses — inheritance through
lineage and officers' overrides included — inside a transaction that is rolled back, so the
answer is exact and nothing is recorded. Every live grant is then decided again under the
proposed access rules (:func:`policies.access.decide`) against the re-classified artifacts, and
every DP release of a re-classified artifact is listed. The result lists artifacts
reclassified, grants that would no longer be approved, and releases affected.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from governance import tables as t
from governance.access import screen_requester
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_artifact
from governance.classification import JURISDICTION, Classifier
from governance.requests import get_person
from policies.access import SEVERITY, check_request, decide
from policies.bundle import load_policies
from qgov.canonical import as_utc
from qgov.errors import InputError


def policy_impact(app: App, directory: Path, at: datetime | None = None) -> dict[str, Any]:
    """Artifacts reclassified, grants no longer approved and releases affected under ``directory``."""
    if not directory.is_dir():
        raise InputError(f"DIR {directory}: not a directory of policy files")
    at = at or datetime.now(UTC)
    proposed = load_policies(directory).get(JURISDICTION)
    current = app.policies.get(JURISDICTION)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "classification.reclassify")
        try:
            ids = [r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.deleted_at.is_(None)))]
            changes = Classifier(app, conn, proposed).refresh(ids, "policy impact (not recorded)")
            changed = {c.artifact: c for c in changes}
            after = {a: get_artifact(conn, a) for a in ids}
            grants = [
                g
                for g in conn.execute(
                    select(t.grants).where(t.grants.c.revoked_at.is_(None), t.grants.c.suspended_at.is_(None))
                )
                if as_utc(g.expires_at) > at
            ]
            people = {g.person: get_person(conn, g.person) for g in grants}
            releases = conn.execute(
                select(t.releases.c.id, t.releases.c.artifact_id, t.releases.c.status, t.releases.c.requester).where(
                    t.releases.c.artifact_id.in_(sorted(changed))
                )
            ).all()
        finally:
            conn.rollback()  # what-if: the re-classification is never recorded
    refused = []
    for g in grants:
        requester = people[g.person].as_requester()
        request = check_request({"requester": requester, "item": {}, "purpose": g.purpose, "destination": "US"})
        screening, _ = screen_requester(app, requester)
        outcomes = []
        for a in g.artifacts:
            art = after.get(a)
            if art is None:
                continue
            d = decide(
                request,
                art.effective_classification(),
                art.kind,
                screening,
                at,
                proposed.require_access(),
                proposed.version,
            )
            outcomes.append((a, d))
        if not outcomes:
            continue
        worst = max((d.outcome for _, d in outcomes), key=SEVERITY.__getitem__)
        licensed = worst == "license_required" and bool(g.licence)
        if worst != "approve" and not licensed:
            reasons = sorted({r.text for _, d in outcomes for r in d.reasons if r.outcome == worst})
            refused.append({"grant": g.id, "person": g.person, "outcome": worst, "reasons": reasons})
    return {
        "current_policy_version": current.version,
        "proposed_policy_version": proposed.version,
        "reclassified": [c.to_json() for c in changes],
        "grants_no_longer_approved": refused,
        "releases_affected": [
            {"release": r.id, "artifact": r.artifact_id, "status": r.status, "requester": r.requester} for r in releases
        ],
    }


__all__ = ["policy_impact"]
