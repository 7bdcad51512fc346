"""Jurisdictions side by side: UK and EU bundles, comparison, and strictest-wins combination."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.access import OUTCOMES, SEVERITY, AccessDecision, AccessReason
from policies.bundle import load_policies
from policies.classify import classify
from policies.jurisdictions import combine, compare, no_access_rules
from qgov.errors import InputError, PolicyError

POLICIES = load_policies()
ALL = list(POLICIES.bundles.values())


def _decision(outcome: str, rule: str = "r") -> AccessDecision:
    reason = AccessReason(rule, outcome, "because", "citation", "V")
    return AccessDecision(outcome, (reason,), "X", {}, (), "v", "h", "2026-01-01T00:00:00Z")


def _item(kind: str = "technology", qubits: int = 120, error: float = 0.0008, **extra: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "subject": {"type": "quantum_computer", "physical_qubits": qubits, "cnot_error": error},
    } | extra


# -- strictest wins ------------------------------------------------------------------
decisions = st.lists(
    st.tuples(st.sampled_from(["US-EAR", "UK-ECO", "EU-DU", "CA-ECL", "XX"]), st.sampled_from(OUTCOMES)),
    min_size=1,
    max_size=5,
    unique_by=lambda jd: jd[0],
)


@given(decisions, st.sampled_from(["NEW-1", "NEW-2"]), st.sampled_from(OUTCOMES))
def test_adding_a_jurisdiction_never_makes_an_outcome_less_strict(
    base: list[tuple[str, str]], extra_name: str, extra_outcome: str
) -> None:
    before = combine([(j, _decision(o)) for j, o in base])
    after = combine([(j, _decision(o)) for j, o in base] + [(extra_name, _decision(extra_outcome))])
    assert SEVERITY[after.outcome] >= SEVERITY[before.outcome]
    assert SEVERITY[after.outcome] >= SEVERITY[extra_outcome]


@given(decisions, st.randoms(use_true_random=False))
def test_the_outcome_is_the_strictest_whatever_the_order(base: list[tuple[str, str]], rnd: Any) -> None:
    shuffled = list(base)
    rnd.shuffle(shuffled)
    combined = combine([(j, _decision(o)) for j, o in shuffled])
    assert combined.outcome == max((o for _, o in base), key=SEVERITY.__getitem__)
    assert combined.to_json() == combine([(j, _decision(o)) for j, o in base]).to_json()


def test_deny_beats_a_licence_and_every_jurisdictions_reasons_are_kept() -> None:
    combined = combine(
        [
            ("UK-ECO", _decision("license_required", "uk.x")),
            ("US-EAR", _decision("deny", "ear.y")),
            ("EU-DU", _decision("approve", "eu.z")),
        ]
    )
    assert combined.outcome == "deny" and combined.deciding == ("US-EAR",)
    assert [(r["jurisdiction"], r["rule"]) for r in combined.reasons()] == [
        ("US-EAR", "ear.y"),
        ("UK-ECO", "uk.x"),
        ("EU-DU", "eu.z"),
    ]


def test_no_jurisdiction_is_never_an_approval_and_each_decides_once() -> None:
    with pytest.raises(PolicyError, match="empty set of decisions is never an approval"):
        combine([])
    with pytest.raises(PolicyError, match="one decision per jurisdiction, got UK-ECO, UK-ECO"):
        combine([("UK-ECO", _decision("approve")), ("UK-ECO", _decision("deny"))])
    with pytest.raises(PolicyError, match="no jurisdiction to compare"):
        compare(_item(), [])


def test_a_jurisdiction_without_access_rules_sends_to_review() -> None:
    decision = no_access_rules(POLICIES.get("CA-ECL"), {"classification": "NOT_LISTED"}, "2026-01-01T00:00:00Z")
    assert decision.outcome == "review" and decision.reasons[0].rule == "CA-ECL.no-access-rules"


# -- the UK and EU bundles ---------------------------------------------------------
@pytest.mark.parametrize("jurisdiction", ["UK-ECO", "EU-DU"])
@pytest.mark.parametrize(
    ("qubits", "error", "controlled"),
    [(34, 1.0e-4, True), (33, 1.0e-9, False), (99, 1.1e-4, False), (120, 1.0e-3, True), (2000, 0.5, True)],
    ids=["34-at-1e-4", "33", "99-above-a1-error", "120-at-1e-3", "2000-any-error"],
)
def test_uk_and_eu_use_the_same_quantum_computer_thresholds_as_the_ear(
    jurisdiction: str, qubits: int, error: float, controlled: bool
) -> None:
    item = _item("hardware", qubits, error)
    assert classify(item, POLICIES.get(jurisdiction)).controlled is controlled
    assert classify(item, POLICIES.get("US-EAR")).controlled is controlled


@pytest.mark.parametrize("jurisdiction", ["UK-ECO", "EU-DU"])
@pytest.mark.parametrize(
    "claims",
    [{"published": True}, {"research": {"fundamental": True, "restrictions_accepted": False}}],
    ids=["public-domain", "basic-scientific-research"],
)
def test_a_general_technology_note_claim_goes_to_an_officer_never_clears(
    jurisdiction: str, claims: dict[str, Any]
) -> None:
    answer = classify(_item(**claims), POLICIES.get(jurisdiction))
    assert answer.classification == "INCOMPLETE" and answer.controlled is None
    assert any(r.status == "U" and ".gtn." in r.rule for r in answer.reasons)


def test_a_gtn_claim_on_an_unlisted_item_is_not_listed_and_on_hardware_is_controlled() -> None:
    uk = POLICIES.get("UK-ECO")
    assert classify(_item(qubits=33, published=True), uk).classification == "NOT_LISTED"
    assert classify(_item("hardware", published=True), uk).classification == "PL9013/PL9014"


def test_subjects_the_uk_and_eu_bundles_do_not_encode_are_incomplete() -> None:
    item = {"kind": "hardware", "subject": {"type": "cryo_cmos", "operating_temperature_k": 4.0}}
    for jurisdiction in ("UK-ECO", "EU-DU"):
        answer = classify(item, POLICIES.get(jurisdiction))
        assert answer.classification == "INCOMPLETE" and answer.reasons[0].rule == "not-covered"


def test_a_review_only_carve_out_must_say_what_is_unverified(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "jurisdiction: UK-ECO\ncarveouts:\n  - {id: uk.x, title: t, when: {published: true}, review_only: true,"
        " citation: c, status: U, effective: 2024-04-01}\n"
    )
    with pytest.raises(PolicyError, match=r"carve-out uk.x.note: a review-only carve-out must say in a note"):
        load_policies(tmp_path)


def test_jurisdictions_are_named_by_id_or_bundle_folder() -> None:
    assert [POLICIES.resolve(n) for n in ("uk", "EU", "ear", "us-ear", "CA-ECL")] == [
        "UK-ECO",
        "EU-DU",
        "US-EAR",
        "US-EAR",
        "CA-ECL",
    ]
    with pytest.raises(InputError, match=r"--jurisdiction 'fr': no policy bundle of that name; expected one of ca"):
        POLICIES.resolve("fr")


# -- side by side ------------------------------------------------------------------
def test_compare_answers_in_every_jurisdiction_and_names_the_strictest() -> None:
    comparison = compare(_item(published=True), ALL)
    by = {a.jurisdiction: a.classification for a in comparison.answers}
    assert by == {"US-EAR": "NOT_SUBJECT", "UK-ECO": "INCOMPLETE", "EU-DU": "INCOMPLETE", "CA-ECL": "5506"}
    assert comparison.strictest.jurisdiction == "CA-ECL"
    assert comparison.to_json()["same_thresholds"] is True  # harmonised quantum-computer bands


def test_compare_lists_the_thresholds_that_differ() -> None:
    item = {"kind": "hardware", "subject": {"type": "cryo_cmos", "operating_temperature_k": 4.0}}
    differing = {t.text: (t.jurisdictions, t.missing_in) for t in compare(item, ALL).differing}
    assert differing["operating_temperature_k <= 4.5"] == (("US-EAR",), ("CA-ECL", "EU-DU", "UK-ECO"))


def test_an_organisations_changed_threshold_shows_as_a_difference(tmp_path: Path) -> None:
    (tmp_path / "uk.yaml").write_text(
        "jurisdiction: UK-ECO\nrules:\n  - {id: uk.PL9013.band-2, entry: PL9013/PL9014, subject: quantum_computer,"
        " when: {physical_qubits: {min: 100, below: 200}, cnot_error: {max: 2.0e-3}}, hardware: PL9013/PL9014,"
        " citation: an organisation's reading, status: U, effective: 2024-04-01}\n"
    )
    policies = load_policies(tmp_path)
    bundles = [policies.get("UK-ECO"), policies.get("US-EAR")]
    differing = {t.text: t.jurisdictions for t in compare(_item("hardware", 150, 1.5e-3), bundles).differing}
    assert differing == {
        "cnot_error <= 0.001 and physical_qubits >= 100 and physical_qubits < 200": ("US-EAR",),
        "cnot_error <= 0.002 and physical_qubits >= 100 and physical_qubits < 200": ("UK-ECO",),
    }
