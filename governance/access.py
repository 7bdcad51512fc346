"""Access service: what-if access checks against the policy, screening and the catalog.

``check`` takes a REQUEST exactly as given (DESIGN.md): an inline ITEM is classified as
given, an ``{"artifact": id}`` uses the artifact's effective classification in the
catalog; the requester's name *and* affiliation are screened against the current
restricted-party list. Nothing is recorded: requests that are recorded, queued and
granted go through ``qgov access request`` (a later capability).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from governance.app import App
from governance.catalog import get_artifact
from governance.classification import JURISDICTION
from governance.policy_store import in_force_or_builtin
from governance.screening import current_matcher
from policies.access import AccessDecision, check_request, decide
from policies.bundle import load_policies
from policies.classify import check_item, classify


def screen(app: App, name: str, country: str | None = None) -> Any:
    """Screen one name against the list in force (the bundled sample until one is loaded)."""
    return current_matcher(app).screen(name, country)


def screen_requester(app: App, requester: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Screen name and affiliation; returns (matches as decision inputs, results for the record).

    Each name is screened with its own country: the person's with where they are, the
    affiliation's with the country registered for it (``affiliation_country``) or none at
    all — never the person's location, which says nothing about where an institute is (a
    researcher in the US must not lower the score of a listed Chinese institute).
    """
    location = requester.get("location") if isinstance(requester.get("location"), str) else None
    affiliation_country = requester.get("affiliation_country")
    countries = {
        "name": location,
        "affiliation": affiliation_country if isinstance(affiliation_country, str) else None,
    }
    inputs, records = [], []
    matcher = current_matcher(app)
    for field, country in countries.items():
        result = matcher.screen(requester[field], country)
        records.append({"field": field} | result.to_json())
        inputs += [
            {
                "entry_id": m.entry_id,
                "exact": m.exact,
                "list": m.list,
                "license_policy": m.license_policy,
                "score": m.score,
                "field": field,
            }
            for m in result.matches
        ]
    return inputs, records


def check(
    app: App, request: Any, at: datetime, source: str = "request", policy_dir: Path | None = None
) -> tuple[AccessDecision, dict[str, Any]]:
    """Decide a request as given (what-if); returns the decision and its evidence.

    ``policy_dir`` (default ``QGOV_POLICY_DIR``) tries a directory over the built-in bundles
    instead of the published policy: fine for a what-if, which records nothing."""
    request = check_request(request, source)
    policy_dir = policy_dir or app.settings.policy_dir
    bundle = (load_policies(policy_dir) if policy_dir else in_force_or_builtin(app.engine)[0]).get(JURISDICTION)
    item = request["item"]
    if set(item) == {"artifact"}:
        with app.engine.connect() as conn:
            art = get_artifact(conn, str(item["artifact"]))
        classification: dict[str, Any] = art.effective_classification()
        kind = art.kind
    else:
        check_item(item, f"{source}.item")
        classification = classify(item, bundle).to_json()
        kind = item["kind"]
    screening, records = screen_requester(app, request["requester"])
    decision = decide(request, classification, kind, screening, at, bundle.require_access(), bundle.version)
    return decision, {"screening": records, "kind": kind}


__all__ = ["check", "screen", "screen_requester"]
