"""Access decisions for a registered artifact under every jurisdiction its dataset names.

The lab's own jurisdiction reads the catalog's effective classification (with officer
overrides and lineage inheritance); every other jurisdiction classifies the artifact's
ITEM — its dataset's description with the artifact's own kind — under its own bundle.
Each jurisdiction decides with its own access rules (a bundle without any answers
``review``), and :func:`policies.jurisdictions.combine` keeps the strictest outcome and
every jurisdiction's reasons (docs/adr/0024-jurisdictions-combine-strictest-wins.md).
Callers hold the connection; nothing here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from governance import tables as t
from governance.app import App
from governance.catalog import Artifact
from governance.classification import artifact_kind
from policies.access import AccessDecision, AccessReason, decide
from policies.bundle import PolicySet
from policies.classify import classify
from policies.jurisdictions import LAB_JURISDICTION, Combined, combine, no_access_rules
from policies.list_age import NO_LIST_CHECK, ListCheck
from qgov.canonical import iso_utc


def artifact_item(conn: Connection, artifact: Artifact) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The jurisdictions that apply to an artifact's dataset, and the artifact as an ITEM."""
    row = conn.execute(select(t.datasets).where(t.datasets.c.name == artifact.dataset)).one()
    item = {
        "name": artifact.path,
        "kind": artifact.kind or artifact_kind(row.kind, artifact.path, artifact.media_type),
        "subject": dict(row.subject),
        "research": dict(row.research),
        "published": bool(row.published),
        "catalog_course": bool(row.catalog_course),
    }
    return tuple(row.jurisdictions or (LAB_JURISDICTION,)), item


def decide_artifact(
    app: App,
    conn: Connection,
    request: Mapping[str, Any],
    artifact: Artifact,
    screening: Sequence[Mapping[str, Any]],
    at: datetime,
    list_check: ListCheck = NO_LIST_CHECK,
    policies: PolicySet | None = None,
) -> Combined:
    """One decision per jurisdiction of the artifact's dataset, combined: strictest wins.

    ``policies`` defaults to the published policy in force (``app.policies``); only a what-if
    passes another set (``--policy DIR``), and a what-if records nothing."""
    policies = policies if policies is not None else app.policies
    jurisdictions, item = artifact_item(conn, artifact)
    decisions: list[tuple[str, AccessDecision]] = []
    for jurisdiction in sorted(set(jurisdictions) | {LAB_JURISDICTION}):
        bundle = policies.get(jurisdiction)
        if jurisdiction == LAB_JURISDICTION:
            classification: dict[str, Any] = artifact.effective_classification()
        else:
            classification = classify(item, bundle).to_json()
        if bundle.access is None:
            decisions.append((jurisdiction, no_access_rules(bundle, classification, iso_utc(at))))
            continue
        decisions.append(
            (
                jurisdiction,
                decide(
                    request, classification, artifact.kind, screening, at, bundle.access, bundle.version, list_check
                ),
            )
        )
    return combine(decisions)


def as_one_decision(combined: Combined) -> AccessDecision:
    """The lab's own decision carrying the combined outcome and every jurisdiction's reasons.

    The shape of ``qgov access check --json`` stays the DESIGN.md one; which jurisdiction
    gave a reason is in its rule id (``ear.``, ``uk.``, ``eu.``) and in ``jurisdictions``.
    """
    own = dict(combined.decisions)[LAB_JURISDICTION]
    reasons = tuple(
        AccessReason(r["rule"], r["outcome"], r["text"], r["citation"], r["status"]) for r in combined.reasons()
    )
    return replace(own, outcome=combined.outcome, reasons=reasons)


__all__ = ["artifact_item", "as_one_decision", "decide_artifact"]
