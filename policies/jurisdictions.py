"""Several jurisdictions at once: side-by-side classification, and strictest-wins access.

Pure, like the evaluators it combines. :func:`compare` classifies one ITEM under every
bundle given and lists, for the item's subject type, each threshold band with the
jurisdictions that use it — a band not shared by all of them is a difference (the policy
article behind qgov asks for harmonised thresholds, so nobody can shop between lists).

:func:`combine` merges one access decision per jurisdiction into one outcome by severity,
``deny`` > ``license_required`` > ``review`` > ``approve`` (:data:`policies.access.SEVERITY`):
the strictest wins, so adding a jurisdiction never makes an outcome less strict, and every
jurisdiction's reasons stay in the result (docs/adr/0024-jurisdictions-combine-strictest-wins.md).
It refuses an empty list (no jurisdiction is not "approve"). A jurisdiction whose bundle has
no access rules cannot approve anything: :func:`no_access_rules` gives its ``review``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policies.access import SEVERITY, AccessDecision, AccessReason
from policies.bundle import Bundle
from policies.classify import Classification, classify
from qgov.errors import PolicyError

# The lab's own jurisdiction: the bundle the catalog classifies every artifact under, and
# one that applies to every dataset. (governance.classification.JURISDICTION is this.)
LAB_JURISDICTION = "US-EAR"


@dataclass(frozen=True)
class Threshold:
    """One band of control parameters (as text) and the jurisdictions whose rules use it."""

    text: str
    jurisdictions: tuple[str, ...]
    missing_in: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"when": self.text, "jurisdictions": list(self.jurisdictions), "missing_in": list(self.missing_in)}


@dataclass(frozen=True)
class Comparison:
    subject: str | None
    answers: tuple[Classification, ...]
    titles: dict[str, str]
    thresholds: tuple[Threshold, ...]

    @property
    def differing(self) -> tuple[Threshold, ...]:
        return tuple(t for t in self.thresholds if t.missing_in)

    @property
    def strictest(self) -> Classification:
        return max(self.answers, key=lambda a: (a.rank, a.jurisdiction))

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "jurisdictions": [a.to_json() | {"title": self.titles[a.jurisdiction]} for a in self.answers],
            "strictest": {"jurisdiction": self.strictest.jurisdiction, "classification": self.strictest.classification},
            "thresholds": [t.to_json() for t in self.thresholds],
            "differing_thresholds": [t.to_json() for t in self.differing],
            "same_thresholds": not self.differing,
        }


def _bands(bundle: Bundle, subject: str) -> set[str]:
    out = set()
    for rule in bundle.rules:
        if rule.subject != subject:
            continue
        if rule.parameters_unverified:
            out.add("parameters unverified (INCOMPLETE)")
        else:
            out.add(" and ".join(b.describe() for b in rule.when) or "the subject alone")
    if not out and subject not in bundle.covers:
        out.add("not encoded (INCOMPLETE)")
    return out


def compare(item: Mapping[str, Any], bundles: Sequence[Bundle]) -> Comparison:
    """Classify ``item`` under each bundle; the thresholds for its subject, shared or not."""
    if not bundles:
        raise PolicyError("compare: no jurisdiction to compare (an empty comparison answers nothing)")
    ordered = sorted(bundles, key=lambda b: b.jurisdiction)
    answers = tuple(classify(item, b) for b in ordered)
    subject_raw = item.get("subject")
    subject = subject_raw.get("type") if isinstance(subject_raw, dict) else None
    thresholds: list[Threshold] = []
    if isinstance(subject, str):
        per = {b.jurisdiction: _bands(b, subject) for b in ordered}
        names = [b.jurisdiction for b in ordered]
        for text in sorted(set().union(*per.values())):
            have = tuple(j for j in names if text in per[j])
            thresholds.append(Threshold(text, have, tuple(j for j in names if j not in have)))
    return Comparison(subject, answers, {b.jurisdiction: b.title for b in ordered}, tuple(thresholds))


@dataclass(frozen=True)
class Combined:
    """One outcome over several jurisdictions, and each jurisdiction's own decision."""

    outcome: str
    decisions: tuple[tuple[str, AccessDecision], ...]

    @property
    def deciding(self) -> tuple[str, ...]:
        return tuple(j for j, d in self.decisions if d.outcome == self.outcome)

    def reasons(self) -> list[dict[str, str]]:
        """Every jurisdiction's reasons, the deciding jurisdictions' first, each tagged."""
        ordered = sorted(self.decisions, key=lambda jd: (-SEVERITY[jd[1].outcome], jd[0]))
        return [r.to_json() | {"jurisdiction": j} for j, d in ordered for r in d.reasons]

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "deciding": list(self.deciding),
            "jurisdictions": [
                {
                    "jurisdiction": j,
                    "outcome": d.outcome,
                    "classification": d.classification,
                    "reasons": [r.to_json() for r in d.reasons],
                    "policy_version": d.policy_version,
                    "input_hash": d.input_hash,
                }
                for j, d in self.decisions
            ],
        }


def combine(decisions: Sequence[tuple[str, AccessDecision]]) -> Combined:
    """Strictest wins: the most severe outcome of any jurisdiction is the outcome."""
    if not decisions:
        raise PolicyError("combine: no jurisdiction decided (an empty set of decisions is never an approval)")
    ordered = tuple(sorted(decisions, key=lambda jd: jd[0]))
    names = [j for j, _ in ordered]
    if len(set(names)) != len(names):
        raise PolicyError(f"combine: one decision per jurisdiction, got {', '.join(names)}")
    outcome = max((d.outcome for _, d in ordered), key=SEVERITY.__getitem__)
    return Combined(outcome, ordered)


def no_access_rules(bundle: Bundle, classification: Mapping[str, Any], at_iso: str) -> AccessDecision:
    """A jurisdiction without access rules: review (it cannot approve; ADR 0006 fails closed)."""
    reason = AccessReason(
        f"{bundle.jurisdiction}.no-access-rules",
        "review",
        f"the {bundle.jurisdiction} bundle has no access rules: an officer decides under its law",
        "project rule (fail closed; ADR 0006)",
        "V",
    )
    return AccessDecision(
        "review",
        (reason,),
        str(classification.get("classification")),
        {},
        (),
        bundle.version,
        "",
        at_iso,
    )


__all__ = [
    "LAB_JURISDICTION",
    "Combined",
    "Comparison",
    "Threshold",
    "combine",
    "compare",
    "no_access_rules",
]
