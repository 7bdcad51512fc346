"""Access decisions: each rule, and the invariants AWS Cedar proves for its engine."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.access import OUTCOMES, SEVERITY, AccessPolicy, check_request, decide
from policies.bundle import load_policies
from qgov.errors import InputError

BUNDLE = load_policies().get("US-EAR")
POLICY = BUNDLE.require_access()
AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
CONTROLLED = {"classification": "4E906", "controlled": True, "subject_to_ear": True}
EAR99 = {"classification": "EAR99", "controlled": False, "subject_to_ear": True}
NOT_SUBJECT = {"classification": "NOT_SUBJECT", "controlled": False, "subject_to_ear": False}
INCOMPLETE = {"classification": "INCOMPLETE", "controlled": None, "subject_to_ear": True}
DENIAL_HIT = {"entry_id": "el-2024-001", "exact": True, "license_policy": "Presumption of denial."}
FUZZY_HIT = {"entry_id": "el-2024-001", "exact": False, "license_policy": "Presumption of denial."}


def request(**changes: object) -> dict:
    requester = {
        "name": "Ada Byron",
        "citizenships": ["US"],
        "us_permanent_resident": False,
        "location": "US",
        "affiliation": "Lab B",
        "training_completed_on": "2026-05-01",
    }
    requester.update(changes.pop("requester", {}))  # type: ignore[arg-type]
    return {
        "requester": requester,
        "item": {"artifact": "x"},
        "purpose": "calibration study",
        "destination": "US",
    } | changes


def outcome(
    req: dict, cls: dict = CONTROLLED, kind: str = "technology", screening: list | None = None
) -> tuple[str, set[str]]:
    d = decide(req, cls, kind, screening or [], AT, POLICY, BUNDLE.version)
    return d.outcome, {r.rule for r in d.reasons}


CASES = [
    (
        "US citizen, controlled technology, in the US",
        request(),
        CONTROLLED,
        "technology",
        None,
        "approve",
        "ear.access.no-export",
    ),
    (
        "Chinese citizen in the US: deemed export",
        request(requester={"citizenships": ["CN"]}),
        CONTROLLED,
        "technology",
        None,
        "license_required",
        "ear.access.deemed-export",
    ),
    (
        "green-card holder is not a foreign person",
        request(requester={"citizenships": ["CN"], "us_permanent_resident": True}),
        CONTROLLED,
        "technology",
        None,
        "approve",
        "ear.access.no-export",
    ),
    (
        "dual US/CN citizen is a US person",
        request(requester={"citizenships": ["CN", "US"]}),
        CONTROLLED,
        "source_code",
        None,
        "approve",
        "ear.access.no-export",
    ),
    (
        "source code to a foreign person: deemed export",
        request(requester={"citizenships": ["DE"]}),
        CONTROLLED,
        "source_code",
        None,
        "license_required",
        "ear.access.deemed-export",
    ),
    (
        "object code to a foreign person in the US: no deemed export",
        request(requester={"citizenships": ["DE"]}),
        CONTROLLED,
        "object_code",
        None,
        "approve",
        "ear.access.no-deemed-export",
    ),
    (
        "object code shipped abroad is an export",
        request(requester={"citizenships": ["DE"]}, destination="DE"),
        CONTROLLED,
        "object_code",
        None,
        "license_required",
        "ear.access.foreign-destination",
    ),
    (
        "a dataset is technology: deemed export",
        request(requester={"citizenships": ["IN"]}),
        CONTROLLED,
        "dataset",
        None,
        "license_required",
        "ear.access.deemed-export",
    ),
    (
        "EAR99 to a foreign person in the US",
        request(requester={"citizenships": ["FR"]}),
        EAR99,
        "technology",
        None,
        "approve",
        "ear.access.not-controlled",
    ),
    (
        "not subject to anyone anywhere not embargoed",
        request(destination="FR"),
        NOT_SUBJECT,
        "dataset",
        None,
        "approve",
        "ear.access.not-controlled",
    ),
    (
        "EAR99 to an embargoed destination",
        request(destination="CU"),
        EAR99,
        "dataset",
        None,
        "deny",
        "ear.access.embargoed-destination",
    ),
    (
        "requester located in an embargoed country",
        request(requester={"location": "IR"}),
        EAR99,
        "dataset",
        None,
        "deny",
        "ear.access.embargoed-location",
    ),
    (
        "not subject to the EAR, embargoed destination: no EAR deny",
        request(destination="CU"),
        NOT_SUBJECT,
        "dataset",
        None,
        "approve",
        "ear.access.not-controlled",
    ),
    (
        "expired training",
        request(requester={"training_completed_on": "2025-10-01"}),
        EAR99,
        "dataset",
        None,
        "review",
        "ear.access.training",
    ),
    (
        "missing training",
        request(requester={"training_completed_on": None}),
        EAR99,
        "dataset",
        None,
        "review",
        "ear.access.training",
    ),
    ("empty purpose", request(purpose="  "), EAR99, "dataset", None, "review", "ear.access.purpose"),
    ("potential screening match", request(), EAR99, "dataset", [FUZZY_HIT], "review", "ear.access.screening-hit"),
    (
        "exact match, presumption of denial",
        request(),
        EAR99,
        "dataset",
        [DENIAL_HIT],
        "deny",
        "ear.access.entity-list-presumption-of-denial",
    ),
    (
        "incomplete classification",
        request(),
        INCOMPLETE,
        "dataset",
        None,
        "review",
        "ear.access.classification-incomplete",
    ),
    (
        "incomplete classification to an embargoed destination",
        request(destination="KP"),
        INCOMPLETE,
        "dataset",
        None,
        "deny",
        "ear.access.embargoed-destination",
    ),
    (
        "unknown citizenship of a requester is not a US person",
        request(requester={"citizenships": []}),
        CONTROLLED,
        "technology",
        None,
        "license_required",
        "ear.access.deemed-export",
    ),
]


@pytest.mark.parametrize(
    ("case", "req", "cls", "kind", "screening", "expected", "rule"), CASES, ids=[c[0] for c in CASES]
)
def test_decision_rules(case, req, cls, kind, screening, expected, rule) -> None:  # type: ignore[no-untyped-def]
    got, rules = outcome(check_request(req), cls, kind, screening)
    assert got == expected and rule in rules


def test_decision_carries_version_input_hash_and_facts() -> None:
    d = decide(
        request(requester={"citizenships": ["CN"], "permanent_residence": "SG"}),
        CONTROLLED,
        "technology",
        [],
        AT,
        POLICY,
        BUNDLE.version,
    )
    doc = d.to_json()
    assert doc["policy_version"] == BUNDLE.version and len(doc["input_hash"]) == 64
    assert doc["export_countries"] == ["SG"]  # 734.13(b): most recent permanent residency
    assert doc["reasons"][0]["citation"].startswith("15 CFR 734.13(a)(2)")


@pytest.mark.parametrize(
    ("req", "message"),
    [
        ({"requester": {"name": "A"}}, "request.requester.affiliation: expected a non-empty string"),
        (request(requester={"citizenships": "CN"}), "request.requester.citizenships: expected a list"),
        (request(destination="China"), "request.destination: expected an ISO 3166 two-letter code"),
        (
            request(requester={"training_completed_on": "last May"}),
            "request.requester.training_completed_on: expected a date",
        ),
        (request(colour="red"), "request: unknown field 'colour'"),
    ],
    ids=["no affiliation", "citizenships text", "country name", "bad date", "unknown field"],
)
def test_malformed_requests_are_named(req: dict, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        check_request(req)


# -- Cedar's invariants -------------------------------------------------------------
classifications = st.sampled_from(
    [CONTROLLED, EAR99, NOT_SUBJECT, INCOMPLETE, {"classification": "???", "controlled": None}]
)
requests = st.builds(
    lambda cit, gc, loc, dest, trained, purpose: request(
        requester={"citizenships": cit, "us_permanent_resident": gc, "location": loc, "training_completed_on": trained},
        destination=dest,
        purpose=purpose,
    ),
    st.lists(st.sampled_from(["US", "CN", "DE", "IR", "FR"]), max_size=2),
    st.booleans(),
    st.sampled_from(["US", "CU", "DE", "IR"]),
    st.sampled_from(["US", "CU", "DE", "KP", "CN"]),
    st.sampled_from([None, "2026-06-01", "2024-01-01"]),
    st.sampled_from(["", "study"]),
)
kinds = st.sampled_from(["technology", "source_code", "object_code", "hardware", "dataset"])
screens = st.sampled_from([[], [FUZZY_HIT], [DENIAL_HIT]])


@given(requests, classifications, kinds, screens)
def test_any_matching_deny_rule_denies_and_approve_needs_an_approving_rule(req, cls, kind, screening) -> None:  # type: ignore[no-untyped-def]
    d = decide(req, cls, kind, screening, AT, POLICY, BUNDLE.version)
    fired = {r.id: r.outcome for r in POLICY.rules if r.id in d.fired}
    if "deny" in fired.values():
        assert d.outcome == "deny"
    if d.outcome == "approve":
        assert set(fired.values()) == {"approve"}
    if not fired:
        assert d.outcome == "review"
    assert d.outcome == max(fired.values() or ["review"], key=SEVERITY.__getitem__)


@given(requests, kinds, screens)
def test_an_unknown_or_incomplete_classification_is_never_approved(req, kind, screening) -> None:  # type: ignore[no-untyped-def]
    for cls in (INCOMPLETE, {"classification": "???", "controlled": None}, {}):
        assert decide(req, cls, kind, screening, AT, POLICY, BUNDLE.version).outcome != "approve"


@settings(max_examples=60)
@given(requests, classifications, kinds, screens, st.randoms(use_true_random=False))
def test_outcome_does_not_depend_on_rule_order_or_duplication(req, cls, kind, screening, rng) -> None:  # type: ignore[no-untyped-def]
    rules = list(POLICY.rules) + rng.sample(list(POLICY.rules), 4)
    rng.shuffle(rules)
    shuffled: AccessPolicy = dataclasses.replace(POLICY, rules=tuple(rules))
    a = decide(req, cls, kind, screening, AT, POLICY, BUNDLE.version)
    b = decide(req, cls, kind, screening, AT, shuffled, BUNDLE.version)
    assert (a.outcome, a.reasons) == (b.outcome, b.reasons) and a.outcome in OUTCOMES


def test_with_no_rules_nothing_is_approved() -> None:
    empty = dataclasses.replace(POLICY, rules=())
    assert decide(request(), NOT_SUBJECT, "dataset", [], AT, empty, "v").outcome == "review"
