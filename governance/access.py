"""Access service: what-if access checks against the policy, screening and the catalog.

``check`` takes a REQUEST exactly as given (DESIGN.md): an inline ITEM is classified as
given, an ``{"artifact": id}`` uses the artifact's effective classification in the
catalog; the requester's name *and* affiliation are screened against the current
restricted-party list. Nothing is recorded: requests that are recorded, queued and
granted go through ``qgov access request`` (a later capability).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from governance.app import App
from governance.catalog import get_artifact
from governance.classification import JURISDICTION
from governance.jurisdictions import as_one_decision, decide_artifact
from governance.policy_store import in_force_or_builtin
from governance.screening import current_matcher, screening_warnings
from policies.access import AccessDecision, check_request, decide
from policies.bundle import load_policies
from policies.classify import check_item, classify
from policies.screening import ScreeningResult


def screen(app: App, name: str, country: str | None = None, at: datetime | None = None) -> ScreeningResult:
    """Screen one name against the list in force (the bundled sample until one is loaded).

    The result warns when that list is the sample or older than the policy allows: a
    "clear" against it is never silent.
    """
    listed, list_check = screening_warnings(app, at)
    result = current_matcher(app).screen(name, country)
    return replace(result, warnings=list_check.warnings, listed=listed)


def screen_requester(
    app: App, requester: dict[str, Any], at: datetime | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
    for field, country in countries.items():
        result = screen(app, requester[field], country, at)
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
    policies = load_policies(policy_dir) if policy_dir else in_force_or_builtin(app.engine)[0]
    bundle = policies.get(JURISDICTION)
    item = request["item"]
    screening, records = screen_requester(app, request["requester"], at)
    _, list_check = screening_warnings(app, at)
    if set(item) == {"artifact"}:
        # A registered artifact: every jurisdiction its dataset names decides; strictest wins.
        with app.engine.connect() as conn:
            art = get_artifact(conn, str(item["artifact"]))
            combined = decide_artifact(app, conn, request, art, screening, at, list_check, policies)
        evidence = combined.to_json()
        return as_one_decision(combined), {
            "screening": records,
            "kind": art.kind,
            "deciding": evidence["deciding"],
            "jurisdictions": evidence["jurisdictions"],
        }
    check_item(item, f"{source}.item")
    classification = classify(item, bundle).to_json()
    kind = item["kind"]
    decision = decide(request, classification, kind, screening, at, bundle.require_access(), bundle.version, list_check)
    return decision, {"screening": records, "kind": kind}


__all__ = ["check", "screen", "screen_requester"]
