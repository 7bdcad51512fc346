"""The classification evaluator: pure, total, explainable, fail-closed.

``classify(item, bundle)`` reads only its arguments (no clock, no database, no network)
and never raises on a well-formed item. It evaluates the bundle's rules and carve-outs
as *sets* — their order and any duplication do not change the answer — and returns the
classification with the rules that fired, those considered and why they did not apply,
their citations and verification status, and the bundle's ``policy_version``.

Failing closed: a missing parameter that a rule needs gives ``INCOMPLETE`` naming the
field; an unknown subject type, a subject the jurisdiction's rules do not cover, and an
entry whose control parameters are unverified (``parameters_unverified``) give
``INCOMPLETE`` too; none is ever "not controlled" or "not listed".

A carve-out applies only when claimed and never to hardware. It is claimed when one of
the facts it needs to be true is true (``published``, ``catalog_course``,
``research.fundamental``); once claimed, *every* fact it depends on must be known: an
absent, null or ``"unknown"`` fact (``research.restrictions_accepted`` for 734.8) makes
the answer ``INCOMPLETE`` naming it (docs/adr/0019-carve-outs-need-every-fact.md).
Physically impossible parameters (-5 qubits, a C-NOT error of 2.0) are rejected by
:func:`check_item`; :func:`classify` reads them as unknown, so they never classify.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.bundle import ITEM_KINDS, PARAMETERS, SUBJECT_TYPES, Bundle, CarveOut, ControlRule
from qgov.canonical import canonical_hash
from qgov.errors import InputError

NOT_SUBJECT = "NOT_SUBJECT"
INCOMPLETE = "INCOMPLETE"
UNKNOWN = "unknown"  # a claim field may say so explicitly; it counts as not known

_FAMILY = {
    "hardware": "hardware",
    "source_code": "software",
    "object_code": "software",
    "technology": "technology",
    "dataset": "technology",  # DESIGN.md: a dataset about a controlled subject is technology
}


def rank_of(classification: str | None, controlled: bool | None) -> int:
    """How restrictive: controlled 3 > incomplete 2 > subject but unlisted 1 > not subject 0.

    ``INCOMPLETE`` ranks above unlisted because it may be controlled (fail closed); no
    classification at all ranks lowest (-1) so that anything known outranks it.
    """
    if classification is None:
        return -1
    if controlled:
        return 3
    if classification == INCOMPLETE:
        return 2
    return 0 if classification == NOT_SUBJECT else 1


@dataclass(frozen=True)
class Reason:
    rule: str
    citation: str
    text: str
    status: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "citation": self.citation, "text": self.text, "status": self.status}


@dataclass(frozen=True)
class Considered:
    rule: str
    outcome: str  # fired | not_applicable | needs_facts | excepted
    why: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "outcome": self.outcome, "why": self.why}


@dataclass(frozen=True)
class Classification:
    """The answer and its evidence (DESIGN.md ``qgov classify --json`` contract)."""

    classification: str
    controlled: bool | None
    subject_to_ear: bool | None
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    considered: tuple[Considered, ...]
    policy_version: str
    jurisdiction: str
    entry: str | None
    input_hash: str

    @property
    def rank(self) -> int:
        return rank_of(self.classification, self.controlled)

    def to_json(self) -> dict[str, Any]:
        return {
            "classification": self.classification,
            "controlled": self.controlled,
            "subject_to_ear": self.subject_to_ear,
            "missing": list(self.missing),
            "reasons": [r.to_json() for r in self.reasons],
            "considered": [c.to_json() for c in self.considered],
            "policy_version": self.policy_version,
            "jurisdiction": self.jurisdiction,
            "entry": self.entry,
            "input_hash": self.input_hash,
        }


def check_item(item: Any, source: str = "item") -> dict[str, Any]:
    """Validate an ITEM document's shape (DESIGN.md); InputError names the bad field."""
    if not isinstance(item, dict):
        raise InputError(f"{source}: expected a JSON object describing the item")
    allowed = {"name", "kind", "subject", "research", "published", "catalog_course"}
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise InputError(f"{source}: unknown field {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}")
    if item.get("kind") not in ITEM_KINDS:
        raise InputError(f"{source}.kind: expected one of {', '.join(ITEM_KINDS)}, got {item.get('kind')!r}")
    subject = item.get("subject", {"type": "none"})
    if not isinstance(subject, dict) or not isinstance(subject.get("type"), str):
        raise InputError(f"{source}.subject: expected an object with a string 'type'")
    for key, value in subject.items():
        if key == "type":
            continue
        parameter = PARAMETERS.get(key)
        if parameter is not None:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                problem = parameter.problem(value)
            else:
                problem = f"expected a number ({parameter.expected}), got {value!r}"
            if problem:
                raise InputError(f"{source}.subject.{key}: {problem}")
        elif isinstance(value, bool) or not isinstance(value, (int, float, str)) or value != value:
            raise InputError(f"{source}.subject.{key}: expected a number or a string, got {value!r}")
    research = item.get("research", {})
    if not isinstance(research, dict):
        raise InputError(f"{source}.research: expected an object")
    for key, value in research.items():
        if value is not None and value != UNKNOWN and not isinstance(value, bool):
            raise InputError(f'{source}.research.{key}: expected true, false, null or "unknown", got {value!r}')
    for flag in ("published", "catalog_course"):
        value = item.get(flag)
        if value is not None and value != UNKNOWN and not isinstance(value, bool):
            raise InputError(f"{source}.{flag}: expected true or false, got {value!r}")
    return item


def _fact(item: Mapping[str, Any], path: str) -> bool | None:
    """A claim field's value: True, False, or None when absent, null or "unknown"."""
    if path.startswith("research."):
        research = item.get("research") or {}
        value = research.get(path.split(".", 1)[1]) if isinstance(research, dict) else None
    else:
        value = item.get(path)
    return value if isinstance(value, bool) else None


def _carve_state(item: Mapping[str, Any], carve: CarveOut) -> tuple[str, list[str]]:
    """("not_claimed" | "contradicted" | "unknown" | "holds", the fields behind it).

    Claimed when a fact it needs true is true. Then every fact must be known: a claimed
    734.8 whose ``restrictions_accepted`` is unknown cannot clear anything (15 CFR 734.8:
    fundamental research is research where no restrictions were accepted).
    """
    facts = {path: _fact(item, path) for path, _ in carve.when}
    if not any(facts[path] is True for path, expected in carve.when if expected):
        return "not_claimed", []
    contradicted = [p for p, expected in carve.when if facts[p] is not None and facts[p] is not expected]
    if contradicted:
        return "contradicted", contradicted
    unknown = [p for p, _ in carve.when if facts[p] is None]
    return ("unknown", unknown) if unknown else ("holds", [])


def _number(value: Any, parameter: str) -> float | None:
    """A parameter's value, or None when absent or not physically possible (never classified)."""
    spec = PARAMETERS.get(parameter)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if spec is not None and spec.problem(value) is not None:
        return None
    return float(value) if math.isfinite(value) else None


_INDEXES: dict[int, tuple[Bundle, tuple[dict[str, tuple[ControlRule, ...]], tuple[CarveOut, ...]]]] = {}


def _index(bundle: Bundle) -> tuple[dict[str, tuple[ControlRule, ...]], tuple[CarveOut, ...]]:
    """Rules by subject and carve-outs, deduplicated and sorted: order never matters.

    Cached by identity: hashing a whole bundle on every decision cost more than deciding.
    """
    cached = _INDEXES.get(id(bundle))
    if cached is not None and cached[0] is bundle:
        return cached[1]
    index = _build_index(bundle)
    if len(_INDEXES) > 64:
        _INDEXES.clear()
    _INDEXES[id(bundle)] = (bundle, index)
    return index


def _build_index(bundle: Bundle) -> tuple[dict[str, tuple[ControlRule, ...]], tuple[CarveOut, ...]]:
    by_subject: dict[str, list[ControlRule]] = {}
    for rule in sorted(set(bundle.rules), key=lambda r: r.id):
        by_subject.setdefault(rule.subject, []).append(rule)
    return {k: tuple(v) for k, v in by_subject.items()}, tuple(sorted(set(bundle.carveouts), key=lambda c: c.id))


def _entry_for(rule: ControlRule, family: str) -> str | None:
    return {"hardware": rule.hardware, "software": rule.software, "technology": rule.technology}[family]


def classify(item: Mapping[str, Any], bundle: Bundle) -> Classification:
    """Classify one ITEM against one bundle. Pure and total on well-formed items."""
    input_hash = canonical_hash(item)
    kind = item.get("kind")
    family = _FAMILY.get(kind) if isinstance(kind, str) else None
    subject = item.get("subject") or {}
    subject_type = subject.get("type") if isinstance(subject, dict) else None

    def result(
        classification: str,
        controlled: bool | None,
        subject_to: bool | None,
        reasons: list[Reason],
        considered: list[Considered],
        missing: tuple[str, ...] = (),
        entry: str | None = None,
    ) -> Classification:
        return Classification(
            classification,
            controlled,
            subject_to,
            missing,
            tuple(reasons),
            tuple(considered),
            bundle.version,
            bundle.jurisdiction,
            entry,
            input_hash,
        )

    if family is None:
        return result(INCOMPLETE, None, None, [Reason("input", "", f"unknown item kind {kind!r}", "V")], [], ("kind",))
    if subject_type not in SUBJECT_TYPES:
        text = f"unknown subject type {subject_type!r}: it cannot be classified, so it is not cleared"
        return result(INCOMPLETE, None, None, [Reason("input", "", text, "V")], [], ("subject.type",))

    rules_by_subject, carveouts = _index(bundle)
    considered: list[Considered] = []
    fired: list[ControlRule] = []
    undetermined: list[ControlRule] = []
    needs: dict[str, set[str]] = {}
    for rule in rules_by_subject.get(subject_type, ()):
        failed: list[str] = []
        unknown: list[str] = []
        for band in rule.when:
            value = _number(subject.get(band.parameter), band.parameter)
            if value is None:
                unknown.append(f"subject.{band.parameter}")
            elif not band.holds(value):
                failed.append(f"{band.parameter} {value:g} is outside {band.text}")
        if failed:
            considered.append(Considered(rule.id, "not_applicable", "; ".join(failed)))
        elif unknown:
            needs[rule.id] = set(unknown)
            considered.append(Considered(rule.id, "needs_facts", f"needs {', '.join(unknown)}"))
        elif rule.parameters_unverified:
            undetermined.append(rule)
            considered.append(Considered(rule.id, "unverified", rule.note))
        else:
            fired.append(rule)
            why = " and ".join(b.text for b in rule.when) or f"subject is {subject_type}"
            considered.append(Considered(rule.id, "fired", why))

    # Which entries could this item be? (fired, or possible while facts are missing)
    possible_entries = {_entry_for(r, family) for r in fired + undetermined} | {
        _entry_for(r, family) for r in rules_by_subject.get(subject_type, ()) if r.id in needs
    }
    applicable: list[CarveOut] = []
    unverified: list[CarveOut] = []  # review-only carve-outs that hold: they never clear
    pending: dict[str, list[str]] = {}  # claimed carve-outs whose facts are not all known
    for carve in carveouts:
        state, fields = _carve_state(item, carve)
        if family == "hardware":
            if state != "not_claimed":
                considered.append(Considered(carve.id, "not_applicable", f"{carve.title} never applies to hardware"))
            continue
        if state == "not_claimed":
            considered.append(Considered(carve.id, "not_applicable", f"{carve.title} not claimed"))
        elif possible_entries & set(carve.except_entries):
            considered.append(Considered(carve.id, "excepted", carve.except_note or "not for this entry"))
        elif state == "contradicted":
            wrong = ", ".join(f"{f} is {str(_fact(item, f)).lower()}" for f in fields)
            considered.append(Considered(carve.id, "not_applicable", f"{carve.title} claimed but {wrong}"))
        elif state == "unknown":
            pending[carve.id] = fields
            considered.append(
                Considered(carve.id, "needs_facts", f"{carve.title} claimed; unknown: {', '.join(fields)}")
            )
        elif carve.review_only:
            unverified.append(carve)
            considered.append(Considered(carve.id, "unverified", f"{carve.title} claimed; {carve.note}"))
        else:
            applicable.append(carve)
            considered.append(Considered(carve.id, "fired", f"{carve.title} claimed"))

    if applicable:
        reasons = [Reason(c.id, c.citation, f"not subject: {c.title} ({kind})", c.status) for c in applicable]
        return result(NOT_SUBJECT, False, False, reasons, considered)

    if pending:
        # A carve-out that may apply: the item may be not subject or anything below it.
        missing = tuple(sorted({f for fields in pending.values() for f in fields} | set().union(*needs.values())))
        carve_by_id = {c.id: c for c in carveouts}
        reasons = [
            Reason(
                cid,
                carve_by_id[cid].citation,
                f"{carve_by_id[cid].title} is claimed but {', '.join(fields)} is not known: "
                "every fact the carve-out depends on must be known before it clears anything",
                carve_by_id[cid].status,
            )
            for cid, fields in sorted(pending.items())
        ]
        return result(INCOMPLETE, None, None, reasons, considered, missing)

    if fired and unverified and _entry_for(fired[0], family) is not None:
        # The item is controlled unless a carve-out whose reading of the item is not
        # verified applies: an officer decides (ADR 0006: fail closed, never clear).
        best = fired[0]
        text = f"{kind} for a {subject_type.replace('_', ' ')} matching {best.entry}"
        reasons = [Reason(best.id, best.citation, text, best.status)] + [
            Reason(
                c.id,
                c.citation,
                f"{c.title} is claimed, but {c.note}: it is not applied automatically; an officer decides",
                c.status,
            )
            for c in unverified
        ]
        return result(INCOMPLETE, None, True, reasons, considered, entry=best.entry)

    if fired:
        best = fired[0]  # bands are disjoint: at most one rule per subject fires
        entry = _entry_for(best, family)
        if entry is None:
            text = (
                f"{kind} for {best.entry} has no entry of its own in this bundle; "
                f"subject but unlisted ({bundle.unlisted.classification})"
            )
            reasons = [
                Reason(best.id, best.citation, text, best.status),
                Reason("unlisted", bundle.unlisted.citation, text, bundle.unlisted.status),
            ]
            return result(bundle.unlisted.classification, False, True, reasons, considered, entry=best.entry)
        text = f"{kind} for a {subject_type.replace('_', ' ')} matching {best.entry}"
        if kind == "dataset":
            text += " (a dataset about a controlled subject is treated as technology)"
        if best.note:
            text += f"; {best.note}"
        return result(
            entry, True, True, [Reason(best.id, best.citation, text, best.status)], considered, entry=best.entry
        )

    if needs or undetermined:
        missing = tuple(sorted(set().union(*needs.values())))
        reasons = []
        if needs:
            rule_by_id = {r.id: r for r in rules_by_subject.get(subject_type, ())}
            text = f"cannot rule out {', '.join(sorted(needs))} without {', '.join(missing)}"
            reasons += [Reason(r, rule_by_id[r].citation, text, rule_by_id[r].status) for r in sorted(needs)]
        for rule in undetermined:
            text = (
                f"a {subject_type.replace('_', ' ')} may be {rule.entry}, but the entry's control parameters "
                f"are not verified ({rule.note}): an officer classifies it, it is neither cleared nor controlled"
            )
            reasons.append(Reason(rule.id, rule.citation, text, rule.status))
        return result(INCOMPLETE, None, True, reasons, considered, missing)

    if subject_type not in bundle.covers:
        text = (
            f"the {bundle.jurisdiction} rules in this bundle do not cover a {subject_type.replace('_', ' ')}: "
            f"not classified here (never '{bundle.unlisted.classification}'); an officer classifies it"
        )
        return result(INCOMPLETE, None, None, [Reason("not-covered", "", text, "V")], considered)

    text = f"subject to the rules of {bundle.jurisdiction} but matches no control-list entry"
    return result(
        bundle.unlisted.classification,
        False,
        True,
        [Reason("unlisted", bundle.unlisted.citation, text, bundle.unlisted.status)],
        considered,
    )


__all__ = ["INCOMPLETE", "NOT_SUBJECT", "Classification", "Considered", "Reason", "check_item", "classify", "rank_of"]
