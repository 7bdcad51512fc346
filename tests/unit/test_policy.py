"""The classification evaluator and the bundle loader: band edges, carve-outs, fail-closed
behaviour and the invariants Cedar proves for its engine (order/duplication independence)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.bundle import ITEM_KINDS, SUBJECT_TYPES, load_policies
from policies.cases import load_cases, run_cases
from policies.classify import INCOMPLETE, NOT_SUBJECT, check_item, classify
from qgov.errors import InputError, PolicyError

ROOT = Path(__file__).resolve().parents[2]
POLICIES = load_policies()
EAR = POLICIES.get("US-EAR")
_, EAR_CASES = load_cases(ROOT / "policies" / "cases" / "ear.yaml")


@pytest.mark.parametrize("case", EAR_CASES, ids=[c["name"] for c in EAR_CASES])
def test_shipped_case_table(case: dict) -> None:
    answer = classify(case["item"], EAR)
    assert answer.classification == case["expect"]
    if "entry" in case:
        assert answer.entry == case["entry"]
    if "missing" in case:
        assert list(answer.missing) == case["missing"]


@pytest.mark.parametrize("cases", ["ear.yaml", "ca.yaml", "ear-access.yaml", "uk.yaml", "eu.yaml"])
def test_policy_test_runner_passes_the_shipped_cases(cases: str) -> None:
    assert all(r.passed for r in run_cases(ROOT / "policies" / "cases" / cases, POLICIES))


def test_every_4a906_band_has_edge_cases_on_both_sides() -> None:
    names = " ".join(c["name"] for c in EAR_CASES)
    for n in range(1, 8):
        assert f"a.{n} error just above" in names and f"a.{n} lowest qubit count" in names


def test_answer_carries_citations_status_version_and_input_hash() -> None:
    item = {"kind": "technology", "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 8.0e-4}}
    answer = classify(item, EAR).to_json()
    assert answer["reasons"][0]["citation"].startswith("15 CFR 774 Supp. 1, ECCN 4A906.a.2")
    assert answer["reasons"][0]["status"] == "V" and answer["policy_version"] == EAR.version
    assert {"classification", "controlled", "subject_to_ear", "missing", "reasons", "policy_version"} <= set(answer)
    assert any(c["outcome"] == "not_applicable" and c["rule"] == "ear.4A906.a.1" for c in answer["considered"])


# -- properties -------------------------------------------------------------------
qubits = st.integers(min_value=1, max_value=5000)
errors = st.floats(min_value=1e-9, max_value=0.05, allow_nan=False)
claims = st.none() | st.booleans() | st.just("unknown")
items = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(ITEM_KINDS),
        "subject": st.fixed_dictionaries(
            {"type": st.sampled_from(SUBJECT_TYPES)},
            optional={"physical_qubits": qubits, "cnot_error": errors},
        ),
    },
    optional={
        "published": st.booleans(),
        "catalog_course": st.booleans(),
        "research": st.fixed_dictionaries(
            {}, optional={"fundamental": claims, "intended_for_publication": claims, "restrictions_accepted": claims}
        ),
    },
)


@given(items)
def test_evaluator_never_raises_on_a_well_formed_item(item: dict) -> None:
    answer = classify(check_item(item), EAR)
    assert answer.policy_version == EAR.version


@given(qubits, errors, errors, st.sampled_from(ITEM_KINDS))
def test_lower_cnot_error_is_never_less_controlled(q: int, e1: float, e2: float, kind: str) -> None:
    low, high = sorted((e1, e2))
    subject = {"type": "quantum_computer", "physical_qubits": q}
    at_low = classify({"kind": kind, "subject": subject | {"cnot_error": low}}, EAR)
    at_high = classify({"kind": kind, "subject": subject | {"cnot_error": high}}, EAR)
    assert at_low.rank >= at_high.rank


@given(items, st.sampled_from(["physical_qubits", "cnot_error"]))
def test_a_missing_parameter_is_never_not_controlled(item: dict, dropped: str) -> None:
    """Fail closed: dropping a fact can only make the answer INCOMPLETE or leave it as it was."""
    full = classify(item, EAR)
    reduced = dict(item, subject={k: v for k, v in item["subject"].items() if k != dropped})
    partial = classify(reduced, EAR)
    if full.controlled:
        assert partial.controlled or partial.classification in {INCOMPLETE, NOT_SUBJECT}
        if partial.classification == NOT_SUBJECT:
            assert full.classification == NOT_SUBJECT or any(
                c.outcome == "fired" and "734" in c.rule for c in partial.considered
            )


@given(st.text(min_size=1).filter(lambda s: s not in SUBJECT_TYPES), st.sampled_from(ITEM_KINDS))
def test_an_unknown_subject_type_is_never_cleared(subject_type: str, kind: str) -> None:
    answer = classify({"kind": kind, "subject": {"type": subject_type}, "published": True}, EAR)
    assert answer.classification == INCOMPLETE and answer.missing == ("subject.type",)


@settings(max_examples=60)
@given(items, st.randoms(use_true_random=False))
def test_answer_does_not_depend_on_rule_order_or_duplication(item: dict, rng: random.Random) -> None:
    rules = list(EAR.rules) + rng.sample(list(EAR.rules), k=3)
    rng.shuffle(rules)
    carveouts = list(EAR.carveouts) * 2
    rng.shuffle(carveouts)
    shuffled = dataclasses.replace(EAR, rules=tuple(rules), carveouts=tuple(carveouts))
    a, b = classify(item, EAR), classify(item, shuffled)
    assert (a.classification, a.missing, a.reasons) == (b.classification, b.missing, b.reasons)


@given(items)
def test_carve_outs_never_clear_hardware(item: dict) -> None:
    answer = classify(dict(item, kind="hardware", published=True, catalog_course=True), EAR)
    assert answer.classification != NOT_SUBJECT


# -- loader -----------------------------------------------------------------------
GOOD_RULE = "  - {id: org.x, entry: X1, subject: qkd, hardware: X1, citation: c, status: V, effective: 2026-01-01}\n"

BAD_BUNDLES = [
    (
        "unknown key",
        "jurisdiction: US-EAR\nrules:\n  - {id: org.a, entry: X, subject: qkd, hardware: X, citation: c, status: V, effective: 2026-01-01, colour: red}\n",
        "rules[0].colour: unknown key",
    ),
    (
        "threshold as string",
        "jurisdiction: US-EAR\nrules:\n  - {id: org.a, entry: X, subject: quantum_computer, when: {physical_qubits: {min: 5000}, cnot_error: {max: 1e-4}}, hardware: X, citation: c, status: V, effective: 2026-01-01}\n",
        "rule org.a.when.cnot_error.max: expected a finite number, got '1e-4' (write thresholds with a decimal point",
    ),
    (
        "bad status",
        "jurisdiction: US-EAR\nrules:\n  - {id: org.a, entry: X, subject: qkd, hardware: X, citation: c, status: maybe, effective: 2026-01-01}\n",
        "rule org.a.status: expected a verification status V, P or U",
    ),
    (
        "duplicate id",
        "jurisdiction: ZZ\nunlisted: {classification: N, citation: c, status: V}\nrules:\n" + GOOD_RULE + GOOD_RULE,
        "rule org.x: duplicate rule id in this file",
    ),
    (
        "overlapping band",
        "jurisdiction: US-EAR\nrules:\n  - {id: org.band, entry: Y, subject: quantum_computer, when: {physical_qubits: {min: 150, below: 250}}, hardware: Y, citation: c, status: U, effective: 2026-01-01}\n",
        "rule org.band: threshold band overlaps rule",
    ),
    (
        "empty carve-out",
        "jurisdiction: US-EAR\ncarveouts:\n  - {id: org.c, title: t, when: {}, citation: c, status: V, effective: 2026-01-01}\n",
        "carve-out org.c.when: expected at least one claimed fact",
    ),
    (
        "unknown subject",
        "jurisdiction: US-EAR\nrules:\n  - {id: org.a, entry: X, subject: toaster, hardware: X, citation: c, status: V, effective: 2026-01-01}\n",
        "rule org.a.subject: expected one of",
    ),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_a_bad_bundle_is_one_error_naming_file_rule_and_field(
    tmp_path: Path, case: str, text: str, message: str
) -> None:
    (tmp_path / "org.yaml").write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policies(tmp_path)
    assert str(tmp_path / "org.yaml") in caught.value.diagnostics()
    assert message in caught.value.diagnostics()


def test_an_organisation_extends_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text("jurisdiction: US-EAR\nrules:\n" + GOOD_RULE.replace("qkd", "none"))
    policies = load_policies(tmp_path)
    ear = policies.get("US-EAR")
    assert "org.x" in {r.id for r in ear.rules} and ear.version != EAR.version
    assert classify({"kind": "hardware", "subject": {"type": "none"}}, ear).classification == "X1"


def test_version_ignores_formatting_but_not_content(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("jurisdiction: US-EAR\nrules:\n" + GOOD_RULE.replace("qkd", "none"))
    first = load_policies(tmp_path).get("US-EAR").version
    (tmp_path / "a.yaml").write_text("# a comment\njurisdiction:   US-EAR\nrules:\n" + GOOD_RULE.replace("qkd", "none"))
    assert load_policies(tmp_path).get("US-EAR").version == first
    (tmp_path / "a.yaml").write_text(
        "jurisdiction: US-EAR\nrules:\n" + GOOD_RULE.replace("qkd", "none").replace("status: V", "status: P")
    )
    assert load_policies(tmp_path).get("US-EAR").version != first


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ([], "item: expected a JSON object"),
        ({"kind": "gadget"}, "item.kind: expected one of"),
        (
            {"kind": "hardware", "subject": {"type": "qkd", "physical_qubits": "many"}},
            "item.subject.physical_qubits: expected a number",
        ),
        ({"kind": "hardware", "colour": 1}, "item: unknown field 'colour'"),
        (
            {"kind": "hardware", "research": {"fundamental": "yes"}},
            'item.research.fundamental: expected true, false, null or "unknown"',
        ),
    ],
    ids=["not an object", "unknown kind", "text parameter", "unknown field", "text claim"],
)
def test_malformed_items_are_named(item: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_item(item)


# -- physically impossible parameters are bad input (issue 14) -----------------------
QC = {"type": "quantum_computer", "physical_qubits": 50, "cnot_error": 5.0e-5}
IMPOSSIBLE = [
    ("qubits-negative", {"physical_qubits": -5}, "subject.physical_qubits: expected a positive whole number of qubits"),
    ("qubits-zero", {"physical_qubits": 0}, "subject.physical_qubits: expected a positive whole number of qubits"),
    (
        "qubits-fraction",
        {"physical_qubits": 50.5},
        "subject.physical_qubits: expected a positive whole number of qubits",
    ),
    ("error-two", {"cnot_error": 2.0}, "subject.cnot_error: expected an average C-NOT error between 0 and 1"),
    ("error-one", {"cnot_error": 1.0}, "subject.cnot_error: expected an average C-NOT error between 0 and 1"),
    ("error-zero", {"cnot_error": 0.0}, "subject.cnot_error: expected an average C-NOT error between 0 and 1"),
    ("error-negative", {"cnot_error": -1}, "subject.cnot_error: expected an average C-NOT error between 0 and 1"),
    (
        "temperature-zero",
        {"operating_temperature_k": 0},
        "subject.operating_temperature_k: expected a temperature in kelvin above 0 K",
    ),
    (
        "temperature-negative",
        {"operating_temperature_k": -3.0},
        "subject.operating_temperature_k: expected a temperature in kelvin above 0 K",
    ),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in IMPOSSIBLE], ids=[c[0] for c in IMPOSSIBLE])
def test_physically_impossible_parameters_are_one_line_errors(change: dict, message: str) -> None:
    with pytest.raises(InputError, match="^item." + message.replace("(", r"\(")) as caught:
        check_item({"kind": "hardware", "subject": QC | change})
    assert "\n" not in caught.value.diagnostics()


@pytest.mark.parametrize(
    "change",
    [
        {"physical_qubits": 1},
        {"cnot_error": 1.0e-12},
        {"cnot_error": 0.999999},
        {"operating_temperature_k": 0.001},
        {"physical_qubits": 34.0},
    ],
    ids=["one-qubit", "tiny-error", "error-just-below-one", "millikelvin", "integral-float-qubits"],
)
def test_possible_edge_values_are_accepted(change: dict) -> None:
    assert check_item({"kind": "hardware", "subject": QC | change})


QUBIT_RULES = [c for c in IMPOSSIBLE if "temperature" not in c[0]]


@pytest.mark.parametrize(("change", "_message"), [c[1:] for c in QUBIT_RULES], ids=[c[0] for c in QUBIT_RULES])
def test_an_impossible_value_never_classifies_even_unchecked(change: dict, _message: str) -> None:
    answer = classify({"kind": "hardware", "subject": QC | change}, EAR)
    assert answer.classification == INCOMPLETE


# -- 734.8: every fact the carve-out depends on must be known -------------------------
RESEARCH_UNKNOWN = [
    (
        "restrictions-absent",
        {"fundamental": True, "intended_for_publication": True},
        ["research.restrictions_accepted"],
    ),
    (
        "restrictions-null",
        {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": None},
        ["research.restrictions_accepted"],
    ),
    (
        "restrictions-unknown",
        {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": "unknown"},
        ["research.restrictions_accepted"],
    ),
    (
        "publication-unknown",
        {"fundamental": True, "intended_for_publication": "unknown", "restrictions_accepted": False},
        ["research.intended_for_publication"],
    ),
    ("both-unknown", {"fundamental": True}, ["research.intended_for_publication", "research.restrictions_accepted"]),
]


@pytest.mark.parametrize(
    ("research", "missing"), [c[1:] for c in RESEARCH_UNKNOWN], ids=[c[0] for c in RESEARCH_UNKNOWN]
)
@pytest.mark.parametrize("kind", ["dataset", "technology", "source_code"])
def test_fundamental_research_with_an_unknown_fact_is_incomplete(research: dict, missing: list, kind: str) -> None:
    answer = classify(check_item({"kind": kind, "subject": QC, "research": research}), EAR)
    assert answer.classification == INCOMPLETE and list(answer.missing) == missing
    assert answer.reasons[0].rule == "ear.734.8" and answer.reasons[0].citation.startswith("15 CFR 734.8")


@given(items)
def test_a_carve_out_never_clears_with_an_unknown_fact(item: dict) -> None:
    answer = classify(item, EAR)
    research = item.get("research") or {}
    if (
        answer.classification == NOT_SUBJECT
        and item.get("published") is not True
        and item.get("catalog_course") is not True
    ):
        assert research.get("fundamental") is True and research.get("intended_for_publication") is True
        assert research.get("restrictions_accepted") is False


@pytest.mark.parametrize(
    "claim",
    [
        {"published": True},
        {"catalog_course": True},
        {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}},
    ],
    ids=["734.7-published", "734.3(b)(3)(iii)-catalog-course", "734.8-fundamental-research"],
)
@pytest.mark.parametrize("kind", ["source_code", "object_code"])
def test_encryption_software_stays_subject_under_every_carve_out(claim: dict, kind: str) -> None:
    answer = classify({"kind": kind, "subject": {"type": "qkd"}} | claim, EAR)
    assert answer.classification == "5D002" and answer.controlled
    assert any(c.outcome == "excepted" for c in answer.considered)


# -- cryogenic entries: parameters from the reference, INCOMPLETE where it has none ----
CRYO = [
    ("3A901.a-at-4.5K", {"type": "cryo_cmos", "operating_temperature_k": 4.5}, "3A901"),
    ("3A901.a-just-above-4.5K", {"type": "cryo_cmos", "operating_temperature_k": 4.5000001}, "EAR99"),
    ("3A901.a-at-300K", {"type": "cryo_cmos", "operating_temperature_k": 300}, "EAR99"),
    ("3A901.a-no-temperature", {"type": "cryo_cmos"}, INCOMPLETE),
    ("3A901.b-parametric-amplifier", {"type": "parametric_amplifier"}, INCOMPLETE),
    ("3A904-cryogenic-cooling", {"type": "cryogenic_cooling"}, INCOMPLETE),
    ("3B904-wafer-prober", {"type": "cryogenic_wafer_prober"}, INCOMPLETE),
    ("3C907-3C909-isotopes", {"type": "isotope_material"}, INCOMPLETE),
    ("4A906.b-c-component", {"type": "quantum_computer_component"}, INCOMPLETE),
]


@pytest.mark.parametrize(("subject", "expected"), [c[1:] for c in CRYO], ids=[c[0] for c in CRYO])
def test_cryogenic_entries_classify_by_their_verified_parameters_only(subject: dict, expected: str) -> None:
    answer = classify(check_item({"kind": "hardware", "subject": subject}), EAR)
    assert answer.classification == expected
    if expected == INCOMPLETE:
        assert answer.controlled is None and answer.reasons[0].citation


def test_unverified_parameters_say_so_with_status_u() -> None:
    answer = classify({"kind": "hardware", "subject": {"type": "cryogenic_cooling"}}, EAR)
    assert answer.reasons[0].rule == "ear.3A904" and answer.reasons[0].status == "U"
    assert "not verified" in answer.reasons[0].text


# -- a jurisdiction that does not cover a subject answers INCOMPLETE ------------------
@pytest.mark.parametrize(
    "subject",
    [{"type": "cryo_cmos", "operating_temperature_k": 4.0}, {"type": "qkd"}, {"type": "cryogenic_cooling"}],
    ids=["cryo-cmos-4K", "qkd", "cryocooler"],
)
def test_canada_answers_incomplete_for_subjects_its_bundle_does_not_cover(subject: dict) -> None:
    answer = classify({"kind": "hardware", "subject": subject}, POLICIES.get("CA-ECL"))
    assert answer.classification == INCOMPLETE and answer.reasons[0].rule == "not-covered"


def test_canada_still_answers_for_what_it_covers() -> None:
    ca = POLICIES.get("CA-ECL")
    assert classify({"kind": "hardware", "subject": {"type": "none"}}, ca).classification == "NOT_LISTED"
    assert classify({"kind": "hardware", "subject": QC}, ca).classification == "5506"
