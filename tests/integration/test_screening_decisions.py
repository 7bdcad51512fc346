"""Restricted-party screening inside decisions, on SQLite and PostgreSQL (issue 14).

The affiliation's country belongs to the affiliation, never to the person's location, and
an Entity List entry's licence policy is compared by meaning ("Presumption of denial."
is ``presumption_of_denial``) in access decisions and DP releases alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from governance.access import check
from governance.releases import request_release
from governance.requests import Person, register_person
from tests.integration.test_privacy import controlled  # noqa: F401 - a fixture, used by name

AT = datetime(2026, 11, 25, 12, tzinfo=UTC)
EAR99_ITEM = {"kind": "dataset", "subject": {"type": "none"}}
# Scores in the 80s against "Beijing Academy of Quantum Information Sciences" (CN): above
# the threshold, but below it once multiplied by the 0.9 of a country that is not CN.
VARIANT = "Beijing Academy Quantum"


def _request(**requester: object) -> dict:
    person = {
        "name": "Ada Byron",
        "citizenships": ["US"],
        "location": "US",
        "affiliation": VARIANT,
        "training_completed_on": "2026-05-01",
    } | requester
    return {"requester": person, "item": EAR99_ITEM, "purpose": "calibration study", "destination": "US"}


def test_the_affiliation_is_not_screened_with_the_person_s_location(app) -> None:  # type: ignore[no-untyped-def]
    decision, evidence = check(app, _request(), AT)
    affiliation = next(r for r in evidence["screening"] if r["field"] == "affiliation")
    assert affiliation["country"] is None and affiliation["status"] == "potential_match"
    # 15 CFR 744 Supp. 4: the Entity List covers all items subject to the EAR, EAR99 included
    assert decision.outcome == "deny"
    assert "ear.access.listed-party-denial" in {r.rule for r in decision.reasons}


def test_a_registered_affiliation_country_is_used(app) -> None:  # type: ignore[no-untyped-def]
    _, evidence = check(app, _request(affiliation_country="CN"), AT)
    affiliation = next(r for r in evidence["screening"] if r["field"] == "affiliation")
    assert affiliation["country"] == "CN" and affiliation["status"] == "potential_match"


def test_a_listed_employer_s_dp_release_is_denied_not_reviewed(app, controlled) -> None:  # type: ignore[no-untyped-def]  # noqa: F811 - the imported fixture
    """The CSL writes "Presumption of denial."; the release path must read it as one."""
    register_person(
        app, Person("alice", ["US"], False, None, "US", "QuantumCTek Co., Ltd.", date.today().isoformat()), ["admin"]
    )
    doc = request_release(app, controlled, "mean", "t1_us", "0.3", purpose="T1 by device family")
    assert doc["status"] == "denied" and doc["epsilon_spent"] == 0.0
    assert doc["decision"][0]["rule"] == "privacy.restricted-party"


def test_us_permanent_residence_without_the_flag_is_a_us_person(app) -> None:  # type: ignore[no-untyped-def]
    request = _request(citizenships=["CN"], permanent_residence="US", affiliation="Lab B")
    request["item"] = {
        "kind": "technology",
        "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 8.0e-4},
    }
    decision, _ = check(app, request, AT)
    assert decision.outcome == "approve" and decision.export_countries == ()
