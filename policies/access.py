"""The access-decision evaluator: pure, explainable, fail-closed (Cedar's invariants).

``decide(request, classification, screening, at, policy)`` derives facts from the request
(who, where, what, why, trained when), the item's classification and the screening
results, then evaluates the bundle's access rules as a *set*:

* outcomes combine by severity — ``deny`` > ``license_required`` > ``review`` > ``approve``;
  any matching deny rule denies;
* ``approve`` only when an approving rule fired; a request no rule decides goes to review;
* a fact that cannot be known (an incomplete classification, missing citizenship) counts as
  *true* for restricting rules and *false* for approving ones, so uncertainty never approves;
* rule order and duplication do not change the answer.

Where the requester is, and who they are, both count (15 CFR 734.13): the request is
connected to countries by ``destination`` (where the item is sent: an export), by
``location`` (where the person is: handing it to them there is an export, or a reexport
when it goes on from a foreign destination), and — for a foreign person — by
``nationality`` (every citizenship and the permanent residence: a release in the United
States is a deemed export to the most recent of them, 734.13(b); qgov cannot tell which is
most recent, so all apply and the strictest wins). A rule with ``countries`` and ``via``
fires when one of those connections reaches one of its countries (Part 746 embargoes and
sanctions are written that way in ``access.yaml``). US-person status has one source of
truth, :func:`policies.exports.us_person`; the countries are worked out in :mod:`policies.exports`.

Time is an argument (training validity, SLA), never read from the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from policies.exports import Export, connections, us_person
from policies.license_policy import PRESUMPTION_OF_DENIAL, is_entity_list, normalize_license_policy
from policies.list_age import LIST_WARNING_CITATION, NO_LIST_CHECK, ListCheck, ScreeningPolicy, parse_screening
from policies.privacy import PrivacyPolicy, parse_privacy
from policies.retention import RetentionPolicy, parse_retention
from qgov.canonical import canonical_hash, iso_utc
from qgov.errors import InputError, PolicyError

OUTCOMES = ("approve", "review", "license_required", "deny")
SEVERITY = {name: rank for rank, name in enumerate(OUTCOMES)}
FACTS = (
    "subject_to_ear",
    "controlled",
    "classification_known",
    "releasable_technology",
    "foreign_person",
    "foreign_destination",
    "embargoed_destination",
    "embargoed_location",
    "located_abroad",
    "nationality_known",
    "screening_hit",
    "screening_exact_denial",
    "screening_list_stale",
    "entity_list_match",
    "entity_list_denial",
    "training_valid",
    "purpose_given",
)
VIA = ("destination", "location", "nationality")
_RELEASABLE = {"technology", "source_code", "dataset"}  # 734.13(a)(2): not object code, not commodities


@dataclass(frozen=True)
class CountryGroup:
    members: frozenset[str]
    citation: str
    status: str


@dataclass(frozen=True)
class AccessRule:
    id: str
    outcome: str
    when: tuple[tuple[str, bool], ...]
    text: str
    citation: str
    status: str
    countries: frozenset[str] = frozenset()
    via: tuple[str, ...] = ()

    def content(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "outcome": self.outcome,
            "when": dict(self.when),
            "text": self.text,
            "citation": self.citation,
            "status": self.status,
        }
        if self.countries:
            data |= {"countries": sorted(self.countries), "via": list(self.via)}
        return data


@dataclass(frozen=True)
class AccessPolicy:
    jurisdiction: str
    rules: tuple[AccessRule, ...]
    embargoed: CountryGroup
    domestic: CountryGroup
    review_sla_hours: float
    training_valid_days: int
    privacy: PrivacyPolicy | None = None
    retention: RetentionPolicy | None = None
    screening: ScreeningPolicy | None = None

    def content(self) -> dict[str, Any]:
        return {
            "privacy": self.privacy.content() if self.privacy else None,
            "screening": self.screening.content() if self.screening else None,
            "retention": self.retention.content() if self.retention else None,
            "rules": [r.content() for r in sorted(set(self.rules), key=lambda r: r.id)],
            "embargoed": sorted(self.embargoed.members),
            "domestic": sorted(self.domestic.members),
            "review_sla_hours": self.review_sla_hours,
            "training_valid_days": self.training_valid_days,
        }


@dataclass(frozen=True)
class AccessReason:
    rule: str
    outcome: str
    text: str
    citation: str
    status: str

    def to_json(self) -> dict[str, str]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class AccessDecision:
    outcome: str
    reasons: tuple[AccessReason, ...]
    classification: str
    facts: dict[str, bool | None]
    export_countries: tuple[str, ...]
    policy_version: str
    input_hash: str
    evaluated_at: str
    fired: tuple[str, ...] = field(default=())
    exports: tuple[Export, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "classification": self.classification,
            "reasons": [r.to_json() for r in self.reasons],
            "facts": self.facts,
            "export_countries": list(self.export_countries),
            "exports": [e.to_json() for e in self.exports],
            "policy_version": self.policy_version,
            "input_hash": self.input_hash,
            "evaluated_at": self.evaluated_at,
        }


# -- loading (called by policies.bundle for an ``access:`` section) ------------------
def parse_access(data: Any, source: str, jurisdiction: str) -> AccessPolicy:
    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: access.{where}: {message}")

    if not isinstance(data, dict):
        raise fail("", "expected a mapping")
    allowed = {"review_sla_hours", "training_valid_days", "country_groups", "rules", "privacy", "retention"}
    allowed.add("screening")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(allowed))}")
    groups = data.get("country_groups") or {}
    parsed_groups = {}
    for name in ("embargoed", "domestic"):
        group = groups.get(name)
        if not isinstance(group, dict) or not isinstance(group.get("members"), list):
            raise fail(f"country_groups.{name}", "expected members (ISO codes), citation and status")
        parsed_groups[name] = CountryGroup(
            frozenset(str(m).upper() for m in group["members"]),
            str(group.get("citation", "")),
            str(group.get("status", "U")),
        )
    rules = []
    seen: set[str] = set()
    for index, raw in enumerate(data.get("rules") or []):
        where = f"rules[{index}]"
        if not isinstance(raw, dict):
            raise fail(where, "expected a mapping")
        extra = sorted(set(raw) - {"id", "outcome", "when", "text", "citation", "status", "countries", "via"})
        if extra:
            raise fail(f"{where}.{extra[0]}", "unknown key")
        rule_id = str(raw.get("id") or "")
        if not rule_id or rule_id in seen:
            raise fail(f"{where}.id", f"missing or duplicate rule id {rule_id!r}")
        seen.add(rule_id)
        if raw.get("outcome") not in OUTCOMES:
            raise fail(f"rule {rule_id}.outcome", f"expected one of {', '.join(OUTCOMES)}, got {raw.get('outcome')!r}")
        when = raw.get("when")
        if not isinstance(when, dict) or not when:
            raise fail(f"rule {rule_id}.when", "expected at least one fact (an empty condition would always fire)")
        for fact, value in when.items():
            if fact not in FACTS:
                raise fail(f"rule {rule_id}.when.{fact}", f"unknown fact; expected one of {', '.join(FACTS)}")
            if not isinstance(value, bool):
                raise fail(f"rule {rule_id}.when.{fact}", f"expected true or false, got {value!r}")
        if raw.get("status") not in ("V", "P", "U"):
            raise fail(f"rule {rule_id}.status", "expected V, P or U")
        countries, via = _countries(raw, f"rule {rule_id}", groups, fail)
        rules.append(
            AccessRule(
                rule_id,
                raw["outcome"],
                tuple(sorted(when.items())),
                str(raw.get("text", "")),
                str(raw.get("citation", "")),
                raw["status"],
                countries,
                via,
            )
        )
    sla = data.get("review_sla_hours", 72)
    days = data.get("training_valid_days", 365)
    if isinstance(sla, bool) or not isinstance(sla, (int, float)) or not math.isfinite(sla) or sla <= 0:
        raise fail("review_sla_hours", f"expected a positive number, got {sla!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        raise fail("training_valid_days", f"expected a positive whole number of days, got {days!r}")
    privacy = parse_privacy(data["privacy"], source) if "privacy" in data else None
    retention = parse_retention(data["retention"], source) if "retention" in data else None
    screening = parse_screening(data["screening"], source) if "screening" in data else None
    return AccessPolicy(
        jurisdiction,
        tuple(rules),
        parsed_groups["embargoed"],
        parsed_groups["domestic"],
        float(sla),
        days,
        privacy,
        retention,
        screening,
    )


def _countries(
    raw: Mapping[str, Any], at: str, groups: Mapping[str, Any], fail: Any
) -> tuple[frozenset[str], tuple[str, ...]]:
    """A rule's ``countries`` (ISO codes, or the name of a country group) and ``via`` (how reached)."""
    if "countries" not in raw and "via" not in raw:
        return frozenset(), ()
    countries = raw.get("countries")
    if isinstance(countries, str):
        group = groups.get(countries)
        if not isinstance(group, dict) or not isinstance(group.get("members"), list):
            raise fail(
                f"{at}.countries", f"no country group {countries!r}; name one under country_groups or list codes"
            )
        countries = group["members"]
    if not isinstance(countries, list) or not countries:
        raise fail(f"{at}.countries", "expected a non-empty list of ISO 3166 two-letter codes or a group name")
    for code in countries:
        if not (isinstance(code, str) and len(code) == 2 and code.isalpha()):
            raise fail(f"{at}.countries", f"expected ISO 3166 two-letter codes, got {code!r}")
    via = raw.get("via")
    if not isinstance(via, list) or not via or any(v not in VIA for v in via):
        raise fail(f"{at}.via", f"expected a non-empty list of {', '.join(VIA)}, got {via!r}")
    return frozenset(c.upper() for c in countries), tuple(sorted(set(via)))


# -- requests ---------------------------------------------------------------------
def check_request(request: Any, source: str = "request") -> dict[str, Any]:
    """Validate a REQUEST document's shape (DESIGN.md); InputError names the bad field."""
    if not isinstance(request, dict):
        raise InputError(f"{source}: expected a JSON object")
    allowed = {"requester", "item", "purpose", "destination"}
    unknown = sorted(set(request) - allowed)
    if unknown:
        raise InputError(f"{source}: unknown field {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}")
    requester = request.get("requester")
    if not isinstance(requester, dict):
        raise InputError(f"{source}.requester: expected an object with name, citizenships, location, affiliation")
    known = {
        "name",
        "citizenships",
        "us_permanent_resident",
        "protected_individual",
        "permanent_residence",
        "location",
        "affiliation",
        "affiliation_country",
        "training_completed_on",
    }
    extra = sorted(set(requester) - known)
    if extra:
        raise InputError(f"{source}.requester: unknown field {extra[0]!r}; expected one of {', '.join(sorted(known))}")
    for key in ("name", "affiliation"):
        if not isinstance(requester.get(key), str) or not requester[key].strip():
            raise InputError(f"{source}.requester.{key}: expected a non-empty string")
    citizenships = requester.get("citizenships")
    if not isinstance(citizenships, list) or not all(isinstance(c, str) and len(c) == 2 for c in citizenships):
        raise InputError(f'{source}.requester.citizenships: expected a list of ISO 3166 two-letter codes, e.g. ["CN"]')
    for key in ("location", "permanent_residence"):
        value = requester.get(key)
        if value is not None and not (isinstance(value, str) and len(value) == 2):
            raise InputError(f"{source}.requester.{key}: expected an ISO 3166 two-letter code, got {value!r}")
    for flag in ("us_permanent_resident", "protected_individual"):
        if requester.get(flag) is not None and not isinstance(requester[flag], bool):
            raise InputError(f"{source}.requester.{flag}: expected true or false")
    residence = _upper(requester.get("permanent_residence"))
    if requester.get("us_permanent_resident") is True and residence not in (None, "US"):
        raise InputError(
            f"{source}.requester.permanent_residence: {residence!r} contradicts us_permanent_resident: true "
            '(a US permanent resident\'s permanent residence is "US")'
        )
    value = requester.get("affiliation_country")
    if value is not None and not (isinstance(value, str) and len(value) == 2 and value.isalpha()):
        raise InputError(
            f"{source}.requester.affiliation_country: expected the affiliation's ISO 3166 two-letter code, "
            f"got {value!r}"
        )
    if requester.get("training_completed_on") is not None:
        try:
            date.fromisoformat(str(requester["training_completed_on"]))
        except ValueError:
            got = requester["training_completed_on"]
            raise InputError(
                f"{source}.requester.training_completed_on: expected a date YYYY-MM-DD, got {got!r}"
            ) from None
    destination = request.get("destination")
    if not (isinstance(destination, str) and len(destination) == 2):
        raise InputError(f"{source}.destination: expected an ISO 3166 two-letter code, got {destination!r}")
    if not isinstance(request.get("item"), dict):
        raise InputError(f'{source}.item: expected an ITEM object or {{"artifact": "<id>"}}')
    if "purpose" in request and not isinstance(request["purpose"], str):
        raise InputError(f"{source}.purpose: expected text")
    return request


def _upper(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value.strip() else None


def facts_of(
    request: Mapping[str, Any],
    classification: Mapping[str, Any],
    kind: str | None,
    screening: Sequence[Mapping[str, Any]],
    at: datetime,
    policy: AccessPolicy,
    list_check: ListCheck = NO_LIST_CHECK,
) -> tuple[dict[str, bool | None], tuple[str, ...]]:
    """The facts the rules speak of, and the countries an export would go to."""
    requester = request.get("requester") or {}
    location = _upper(requester.get("location"))
    destination = _upper(request.get("destination"))
    us = us_person(requester)
    foreign: bool | None = None if us is None else not us
    _, exports = connections(request, policy.domestic.members)
    label = classification.get("classification")
    known = isinstance(label, str) and label not in {"INCOMPLETE", ""} and classification.get("controlled") is not None
    trained = requester.get("training_completed_on")
    training_valid: bool | None
    try:
        training_valid = (
            trained is not None
            and 0 <= (at.date() - date.fromisoformat(str(trained))).days <= policy.training_valid_days
        )
    except ValueError:
        training_valid = False
    purpose = request.get("purpose")
    listed = [m for m in screening if is_entity_list(m.get("list"))]
    facts: dict[str, bool | None] = {
        "subject_to_ear": classification.get("subject_to_ear") if known else None,
        "controlled": classification.get("controlled") if known else None,
        "classification_known": known,
        "releasable_technology": (kind in _RELEASABLE) if kind else None,
        "foreign_person": foreign,
        "foreign_destination": (destination not in policy.domestic.members) if destination else None,
        "embargoed_destination": (destination in policy.embargoed.members) if destination else None,
        "embargoed_location": (location in policy.embargoed.members) if location else None,
        "located_abroad": (location not in policy.domestic.members) if location else None,
        "nationality_known": us is not None,
        "screening_hit": bool(screening),
        "screening_list_stale": list_check.stale,  # older than the policy's maximum age
        "screening_exact_denial": any(
            m.get("exact") and normalize_license_policy(m.get("license_policy")) == PRESUMPTION_OF_DENIAL
            for m in screening
        ),
        # 15 CFR 744 Supp. 4: an Entity List entry needs a licence for all items subject to
        # the EAR. Every reported match is exact or above the matcher's threshold.
        "entity_list_match": bool(listed),
        "entity_list_denial": any(
            normalize_license_policy(m.get("license_policy")) == PRESUMPTION_OF_DENIAL for m in listed
        ),
        "training_valid": training_valid,
        "purpose_given": isinstance(purpose, str) and bool(purpose.strip()),
    }
    return facts, tuple(sorted({e.country for e in exports}))


def _fires(rule: AccessRule, facts: Mapping[str, bool | None], reached: Mapping[str, frozenset[str]]) -> bool:
    restricting = rule.outcome != "approve"
    for fact, expected in rule.when:
        value = facts.get(fact)
        if value is None:
            if not restricting:
                return False  # uncertainty never approves
            continue  # ... and always restricts
        if value is not expected:
            return False
    if rule.countries:
        return any(reached.get(via, frozenset()) & rule.countries for via in rule.via)
    return True


def decide(
    request: Mapping[str, Any],
    classification: Mapping[str, Any],
    kind: str | None,
    screening: Sequence[Mapping[str, Any]],
    at: datetime,
    policy: AccessPolicy,
    policy_version: str,
    list_check: ListCheck = NO_LIST_CHECK,
) -> AccessDecision:
    """Decide one request (pure); ``list_check``'s warnings become recorded reasons."""
    facts, export_to = facts_of(request, classification, kind, screening, at, policy, list_check)
    reached, exports = connections(request, policy.domestic.members)
    fired = sorted({r for r in policy.rules if _fires(r, facts, reached)}, key=lambda r: r.id)
    if fired:
        outcome = max((r.outcome for r in fired), key=SEVERITY.__getitem__)
        reasons = tuple(
            AccessReason(r.id, r.outcome, r.text, r.citation, r.status) for r in fired if r.outcome == outcome
        )
        if outcome != "approve":  # show what else would apply, most severe first
            reasons += tuple(
                AccessReason(r.id, r.outcome, r.text, r.citation, r.status)
                for r in sorted(fired, key=lambda r: (-SEVERITY[r.outcome], r.id))
                if r.outcome not in {outcome, "approve"}
            )
    else:
        outcome = "review"
        reasons = (
            AccessReason(
                "default", "review", "no rule decides this request: an officer must", "project rule (fail closed)", "V"
            ),
        )
    reasons += tuple(
        AccessReason("screening.list-warning", "warning", text, LIST_WARNING_CITATION, "P")
        for text in list_check.warnings
    )
    input_hash = canonical_hash(
        {
            "request": request,
            "classification": classification.get("classification"),
            "kind": kind,
            "screening": list(screening),
            "at": iso_utc(at),
        }
        | ({"list_warnings": list(list_check.warnings)} if list_check.warnings else {})
    )
    return AccessDecision(
        outcome,
        reasons,
        str(classification.get("classification")),
        facts,
        export_to,
        policy_version,
        input_hash,
        iso_utc(at),
        tuple(r.id for r in fired),
        exports,
    )


__all__ = [
    "FACTS",
    "OUTCOMES",
    "AccessDecision",
    "AccessPolicy",
    "AccessReason",
    "AccessRule",
    "Export",
    "check_request",
    "connections",
    "decide",
    "facts_of",
    "parse_access",
    "us_person",
]
