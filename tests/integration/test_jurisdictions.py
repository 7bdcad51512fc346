"""A dataset's jurisdictions are stored, shown and all applied to its access decisions (strictest wins)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.access import check
from governance.app import App
from governance.catalog import DatasetSpec, find_dataset, list_artifacts, register_dataset
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from lineage import schema
from qgov.errors import InputError

TRAINED = (date.today() - timedelta(days=30)).isoformat()
CONTROLLED = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}  # 4A906.a.2 band


def _as(app: App, user: str) -> App:
    return App(app.settings.model_copy(update={"user": user}))


def _dataset(app: App, tmp_path: Path, name: str, jurisdictions: list[str]) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    spec = DatasetSpec(
        name=name,
        owner="alice",
        subject=dict(CONTROLLED),
        research={"restrictions_accepted": True},  # sponsor restrictions: no carve-out
        jurisdictions=jurisdictions,
    )
    register_dataset(app, spec)
    plan = plan_ingest(app, folder, name)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    return list_artifacts(app, name)[0].id


@pytest.fixture
def people(app):  # type: ignore[no-untyped-def]
    """A trained US citizen in the US, and a trained Cuban national in the US."""
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("ana", ["CU"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    apps = {name: _as(app, name) for name in ("sam", "ana")}
    yield apps
    for a in apps.values():
        a.close()


def test_jurisdictions_are_stored_with_the_labs_own_and_recorded_in_the_event(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _dataset(app, tmp_path, "shared", ["uk", "EU-DU", "uk"])
    assert find_dataset(app, "shared").jurisdictions == ("EU-DU", "UK-ECO", "US-EAR")
    _dataset(app, tmp_path, "own", [])
    assert find_dataset(app, "own").jurisdictions == ("US-EAR",)
    with app.engine.connect() as conn:
        payloads = conn.execute(
            select(schema.events.c.payload).where(schema.events.c.type == "dataset.registered").order_by("seq")
        ).scalars()
        assert [p["jurisdictions"] for p in payloads] == [["EU-DU", "UK-ECO", "US-EAR"], ["US-EAR"]]


def test_an_unknown_jurisdiction_is_refused_naming_it(app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=r"--jurisdiction 'mars': no policy bundle of that name; expected one of"):
        register_dataset(app, DatasetSpec(name="x", owner="alice", jurisdictions=["mars"]))
    with app.engine.connect() as conn:
        assert conn.execute(select(t.datasets.c.id)).first() is None  # nothing half-written


def test_a_collaborators_jurisdiction_makes_an_approval_a_licence_requirement(app, people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    own = _dataset(app, tmp_path, "own", [])
    shared = _dataset(app, tmp_path, "shared", ["uk"])
    alone = request_access(people["sam"], [own], "fit T1", 30, "US")
    assert (alone["outcome"], alone["status"]) == ("approve", "granted")
    both = request_access(people["sam"], [shared], "fit T1", 30, "US")
    assert (both["outcome"], both["status"]) == ("license_required", "queued")
    with app.engine.connect() as conn:
        record = conn.execute(select(t.access_requests.c.decision).where(t.access_requests.c.id == both["request"]))
        decided = record.scalar_one()["artifacts"][0]
    assert decided["deciding"] == ["UK-ECO"]
    by = {j["jurisdiction"]: j for j in decided["jurisdictions"]}
    assert (by["US-EAR"]["outcome"], by["UK-ECO"]["outcome"]) == ("approve", "license_required")
    assert by["UK-ECO"]["classification"] == "PL9013/PL9014" and by["US-EAR"]["classification"] == "4E906"
    assert decided["reasons"][0]["rule"] == "uk.access.controlled-export"
    ear = [r for r in decided["reasons"] if r.get("jurisdiction") == "US-EAR"]
    assert any({"rule": "ear.access.no-export", "jurisdiction": "US-EAR"}.items() <= r.items() for r in ear)


def test_one_jurisdiction_denies_and_every_jurisdictions_reasons_are_recorded(app, people, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = _dataset(app, tmp_path, "shared", ["uk"])
    result = request_access(people["ana"], [shared], "fit T1", 30, "US")
    assert (result["outcome"], result["status"]) == ("deny", "denied")
    with app.engine.connect() as conn:
        record = conn.execute(select(t.access_requests.c.decision).where(t.access_requests.c.id == result["request"]))
        decided = record.scalar_one()["artifacts"][0]
    by = {j["jurisdiction"]: j for j in decided["jurisdictions"]}
    assert by["US-EAR"]["outcome"] == "deny" and by["UK-ECO"]["outcome"] == "license_required"
    assert {r["jurisdiction"] for r in decided["reasons"]} == {"US-EAR", "UK-ECO"}
    assert decided["reasons"][0]["rule"] == "ear.access.part746.cuba"


def test_access_check_of_a_registered_artifact_applies_every_jurisdiction(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shared = _dataset(app, tmp_path, "shared", ["uk", "eu"])
    requester = {"name": "Sam Smith", "citizenships": ["US"], "location": "GB", "affiliation": "Lab B"}
    requester["training_completed_on"] = TRAINED
    request = {"requester": requester, "item": {"artifact": shared}, "purpose": "fit", "destination": "GB"}
    decision, evidence = check(app, request, datetime.now(UTC))
    by = {j["jurisdiction"]: j["outcome"] for j in evidence["jurisdictions"]}
    # In the UK it stays in the UK; the EU cannot tell an export from an intra-EU transfer;
    # for the EAR, a person in GB is an export to GB.
    assert by == {"UK-ECO": "approve", "EU-DU": "license_required", "US-EAR": "license_required"}
    assert decision.outcome == "license_required"
    assert {r.rule for r in decision.reasons} >= {"eu.access.controlled-export", "uk.access.no-export"}
