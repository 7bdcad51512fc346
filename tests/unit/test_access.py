"""Access decisions: each rule, and the invariants AWS Cedar proves for its engine."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.access import OUTCOMES, SEVERITY, AccessPolicy, check_request, decide, us_person
from policies.bundle import load_policies
from policies.license_policy import normalize_license_policy
from qgov.errors import InputError

BUNDLE = load_policies().get("US-EAR")
POLICY = BUNDLE.require_access()
AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
CONTROLLED = {"classification": "4E906", "controlled": True, "subject_to_ear": True}
EAR99 = {"classification": "EAR99", "controlled": False, "subject_to_ear": True}
NOT_SUBJECT = {"classification": "NOT_SUBJECT", "controlled": False, "subject_to_ear": False}
INCOMPLETE = {"classification": "INCOMPLETE", "controlled": None, "subject_to_ear": True}
DENIAL_HIT = {"entry_id": "el-2024-001", "exact": True, "license_policy": "Presumption of denial."}
FUZZY_HIT = {"entry_id": "sdn-1", "exact": False, "list": "Specially Designated Nationals (SDN) - Treasury Department"}


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
    (
        "potential match on a list other than the Entity List",
        request(),
        EAR99,
        "dataset",
        [FUZZY_HIT],
        "review",
        "ear.access.screening-hit",
    ),
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
    # 734.13(b): most recent citizenship or permanent residency; which is most recent is
    # unknown, so both apply (strictest wins)
    assert doc["export_countries"] == ["CN", "SG"]
    assert {(e["country"], e["basis"]) for e in doc["exports"]} == {("CN", "deemed_export"), ("SG", "deemed_export")}
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


# -- where the requester is, who they are, and Part 746 (issue 14) --------------------
def _decide(req: dict, cls: dict = CONTROLLED, kind: str = "technology", screening: list | None = None):  # type: ignore[no-untyped-def]
    return decide(check_request(req), cls, kind, screening or [], AT, POLICY, BUNDLE.version)


EL = "Entity List (EL) - Bureau of Industry and Security"
WHERE_AND_WHO = [
    # 734.13(a)(1): sending an item out of the United States is an export; handing data to
    # a person abroad sends it where they are, whatever the destination field says.
    (
        "us-citizen-in-CN-asks-for-4E906-to-US",
        {"location": "CN"},
        "US",
        CONTROLLED,
        "technology",
        "license_required",
        "ear.access.located-abroad",
    ),
    (
        "us-citizen-in-DE-object-code-to-US",
        {"location": "DE"},
        "US",
        CONTROLLED,
        "object_code",
        "license_required",
        "ear.access.located-abroad",
    ),
    ("us-citizen-in-DE-ear99", {"location": "DE"}, "US", EAR99, "technology", "approve", "ear.access.not-controlled"),
    ("us-citizen-in-US", {}, "US", CONTROLLED, "technology", "approve", "ear.access.no-export"),
    # 734.13(b): a deemed export goes to the foreign person's citizenship or residency.
    (
        "de-national-in-FR-object-code",
        {"citizenships": ["DE"], "location": "FR"},
        "US",
        CONTROLLED,
        "object_code",
        "license_required",
        "ear.access.located-abroad",
    ),
    # 746.2(a): Cuba needs a licence for any item subject to the EAR, EAR99 included; a
    # release to a Cuban national is a deemed export to Cuba. 746.2(b): policy of denial.
    (
        "cuban-national-in-US-ear99",
        {"citizenships": ["CU"]},
        "US",
        EAR99,
        "technology",
        "deny",
        "ear.access.part746.cuba",
    ),
    (
        "cuban-resident-in-US-ear99",
        {"citizenships": ["ES"], "permanent_residence": "CU"},
        "US",
        EAR99,
        "dataset",
        "deny",
        "ear.access.part746.cuba",
    ),
    (
        "cuban-national-not-subject",
        {"citizenships": ["CU"]},
        "US",
        NOT_SUBJECT,
        "technology",
        "approve",
        "ear.access.not-controlled",
    ),
    (
        "us-cuban-dual-citizen-ear99",
        {"citizenships": ["CU", "US"]},
        "US",
        EAR99,
        "technology",
        "approve",
        "ear.access.not-controlled",
    ),
    (
        "north-korean-national-in-US-ear99",
        {"citizenships": ["KP"]},
        "US",
        EAR99,
        "technology",
        "deny",
        "ear.access.part746.north-korea",
    ),
    (
        "us-citizen-located-in-KP",
        {"location": "KP"},
        "US",
        EAR99,
        "technology",
        "deny",
        "ear.access.part746.north-korea",
    ),
    # 746.7: controlled technology to an Iranian national in the US needs a BIS licence.
    (
        "iranian-national-controlled",
        {"citizenships": ["IR"]},
        "US",
        CONTROLLED,
        "object_code",
        "license_required",
        "ear.access.part746.iran-national-controlled",
    ),
    (
        "iranian-national-ear99",
        {"citizenships": ["IR"]},
        "US",
        EAR99,
        "technology",
        "review",
        "ear.access.part746.iran-national",
    ),
    ("iran-destination-ear99", {}, "IR", EAR99, "technology", "deny", "ear.access.embargoed-destination"),
    # Syria changed in 2025; Part 746.8 and the covered regions: not in the reference (U).
    ("syria-destination-ear99", {}, "SY", EAR99, "technology", "review", "ear.access.part746.syria"),
    (
        "syrian-national-ear99",
        {"citizenships": ["SY"]},
        "US",
        EAR99,
        "technology",
        "review",
        "ear.access.part746.syria",
    ),
    (
        "located-in-russia-ear99",
        {"location": "RU"},
        "US",
        EAR99,
        "technology",
        "review",
        "ear.access.part746.russia-belarus",
    ),
    (
        "belarusian-national-ear99",
        {"citizenships": ["BY"]},
        "US",
        EAR99,
        "dataset",
        "review",
        "ear.access.part746.russia-belarus",
    ),
    (
        "ukraine-destination-ear99",
        {},
        "UA",
        EAR99,
        "technology",
        "review",
        "ear.access.part746.ukraine-covered-regions",
    ),
    (
        "unknown-nationality-ear99",
        {"citizenships": []},
        "US",
        EAR99,
        "technology",
        "review",
        "ear.access.nationality-unknown",
    ),
    # One source of truth for US persons: residence "US" is US permanent residency.
    (
        "us-permanent-residence-without-flag",
        {"citizenships": ["CN"], "permanent_residence": "US"},
        "US",
        CONTROLLED,
        "technology",
        "approve",
        "ear.access.no-export",
    ),
    (
        "protected-individual",
        {"citizenships": ["AF"], "protected_individual": True},
        "US",
        CONTROLLED,
        "technology",
        "approve",
        "ear.access.no-export",
    ),
]


@pytest.mark.parametrize(
    ("requester", "destination", "cls", "kind", "expected", "rule"),
    [c[1:] for c in WHERE_AND_WHO],
    ids=[c[0] for c in WHERE_AND_WHO],
)
def test_location_citizenship_and_residence_decide(requester, destination, cls, kind, expected, rule) -> None:  # type: ignore[no-untyped-def]
    d = _decide(request(requester=requester, destination=destination), cls, kind)
    assert d.outcome == expected and rule in {r.rule for r in d.reasons} | set(d.fired)


def test_export_reexport_and_deemed_reexport_are_named_with_their_basis() -> None:
    d = _decide(request(requester={"citizenships": ["IN"], "location": "FR"}, destination="DE"))
    got = {(e.country, e.basis, e.via) for e in d.exports}
    assert got == {
        ("DE", "export", "destination"),
        ("FR", "reexport", "location"),
        ("IN", "deemed_reexport", "nationality"),
    }
    assert d.export_countries == ("DE", "FR", "IN") and d.outcome == "license_required"


def test_a_us_person_abroad_is_an_export_to_the_location_only() -> None:
    d = _decide(request(requester={"location": "CN"}))
    assert [(e.country, e.basis) for e in d.exports] == [("CN", "export")]
    assert d.to_json()["exports"][0]["citation"].startswith("15 CFR 734.13(a)(1)")


def test_each_part_746_rule_carries_its_citation_and_status() -> None:
    rules = {r.id: r for r in POLICY.rules}
    assert (
        rules["ear.access.part746.cuba"].citation.startswith("15 CFR 746.2(a)")
        and rules["ear.access.part746.cuba"].status == "V"
    )
    assert rules["ear.access.part746.iran-national-controlled"].status == "V"
    for unverified in ("north-korea", "syria", "russia-belarus", "ukraine-covered-regions", "iran-national"):
        assert (
            rules[f"ear.access.part746.{unverified}"].status == "U"
            and "746" in rules[f"ear.access.part746.{unverified}"].citation
        )


@pytest.mark.parametrize(
    "requester",
    [
        {"us_permanent_resident": True, "permanent_residence": "CN"},
        {"affiliation_country": "China"},
        {"protected_individual": "yes"},
        {"nationality": "CN"},
    ],
    ids=["green-card-with-foreign-residence", "affiliation-country-name", "protected-text", "unknown-field"],
)
def test_contradictory_or_malformed_requester_facts_are_one_line_errors(requester: dict) -> None:
    with pytest.raises(InputError, match=r"^request\.requester"):
        check_request(request(requester=requester))


@pytest.mark.parametrize(
    ("requester", "expected"),
    [
        ({"citizenships": ["CN"], "permanent_residence": "US"}, True),
        ({"citizenships": ["CN"], "us_permanent_resident": True}, True),
        ({"citizenships": ["CN", "US"]}, True),
        ({"citizenships": ["CN"], "permanent_residence": "CN"}, False),
        ({"citizenships": []}, None),
    ],
    ids=["residence-US", "flag", "dual-citizen", "foreign", "unknown"],
)
def test_us_person_has_one_source_of_truth(requester: dict, expected: bool | None) -> None:
    assert us_person(requester) is expected


# -- the Entity List covers all items subject to the EAR (744 Supp. 4) -----------------
ENTITY_LIST = [
    ("exact-presumption-of-denial-ear99", {"exact": True, "license_policy": "Presumption of denial."}, EAR99, "deny"),
    ("fuzzy-presumption-of-denial-ear99", {"exact": False, "license_policy": "Presumption of denial."}, EAR99, "deny"),
    ("slug-presumption-of-denial", {"exact": True, "license_policy": "presumption_of_denial"}, EAR99, "deny"),
    (
        "mixed-policy-reads-as-denial",
        {
            "exact": True,
            "license_policy": "Case-by-case review for items needed for safety; presumption of denial for all other items.",
        },
        EAR99,
        "deny",
    ),
    ("case-by-case-ear99", {"exact": True, "license_policy": "Case-by-case review."}, EAR99, "license_required"),
    ("unstated-policy-controlled", {"exact": False, "license_policy": ""}, CONTROLLED, "license_required"),
    ("not-subject-is-only-reviewed", {"exact": False, "license_policy": "Case-by-case review."}, NOT_SUBJECT, "review"),
]


@pytest.mark.parametrize(("match", "cls", "expected"), [c[1:] for c in ENTITY_LIST], ids=[c[0] for c in ENTITY_LIST])
def test_an_entity_list_match_needs_a_licence_for_any_item_subject_to_the_ear(
    match: dict, cls: dict, expected: str
) -> None:
    hit = {"entry_id": "el-x", "list": EL, "field": "affiliation"} | match
    assert _decide(request(), cls, "dataset", [hit]).outcome == expected


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("Presumption of denial.", "presumption_of_denial"),
        ("presumption_of_denial", "presumption_of_denial"),
        ("PRESUMPTION OF DENIAL", "presumption_of_denial"),
        ("Case-by-case review.", "case_by_case"),
        ("case_by_case", "case_by_case"),
        ("Presumption of approval.", "presumption_of_approval"),
        ("", ""),
        (None, ""),
    ],
    ids=["csl-prose", "slug", "upper", "case-by-case", "case-slug", "approval", "empty", "none"],
)
def test_licence_policies_compare_by_a_normalised_value(text: object, normalised: str) -> None:
    assert normalize_license_policy(text) == normalised
