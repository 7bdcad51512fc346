"""Request → decision → queue → approval/denial → grant → fetch → revoke/expiry, on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, approve, deny, queue, register_person, request_access, revoke, sweep_expired
from lineage import EventLog
from qgov.errors import AccessDenied, InputError

TODAY = (date.today() - timedelta(days=30)).isoformat()  # trained a month ago


def _as(app: App, user: str) -> App:
    return App(app.settings.model_copy(update={"user": user}))


@pytest.fixture
def lab(app, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two datasets (controlled and EAR99), a researcher from CN, one from FR, an officer."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    for name, subject, research in (
        (
            "sponsor",
            {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
            {"restrictions_accepted": True},
        ),
        ("generic", {"type": "none"}, {}),
    ):
        register_dataset(app, DatasetSpec(name=name, owner="alice", subject=subject, research=research))
        plan = plan_ingest(app, folder, name)
        finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    people = {
        "li": Person("li", ["CN"], False, None, "US", "University of Maryland", TODAY),
        "marie": Person("marie", ["FR"], False, None, "US", "University of Maryland", TODAY),
        "olga": Person("olga", ["US"], False, None, "US", "Lab B", TODAY),
    }
    for person in people.values():
        register_person(app, person, ["export_control_officer"] if person.name == "olga" else ["researcher"])
    apps = {name: _as(app, name) for name in people}
    ids = {ds: list_artifacts(app, ds)[0].id for ds in ("sponsor", "generic")}
    yield apps, ids
    for a in apps.values():
        a.close()


def test_ear99_for_a_foreign_researcher_is_granted_at_once(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    result = request_access(apps["marie"], [ids["generic"]], "fit T1 curves", 30, "US")
    assert (result["outcome"], result["status"]) == ("approve", "granted") and result["grant"]
    fetch(apps["marie"], ids["generic"], tmp_path / "t1.csv")
    assert (tmp_path / "t1.csv").read_text().startswith("q,t1")


def test_deemed_export_waits_for_an_officer_with_a_licence(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    result = request_access(apps["li"], [ids["sponsor"]], "readout benchmark", 30, "US")
    assert (result["outcome"], result["status"]) == ("license_required", "queued")
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(apps["li"], ids["sponsor"], tmp_path / "x")
    waiting = queue(apps["olga"])
    assert [q["request"] for q in waiting] == [result["request"]] and waiting[0]["sla_hours"] == 72
    assert "deemed export" in waiting[0]["reasons"][0]
    with pytest.raises(AccessDenied, match="needs the export_control_officer role"):
        approve(apps["li"], result["request"], "D123456")
    with pytest.raises(InputError, match="needs a licence or licence-exception reference"):
        approve(apps["olga"], result["request"], None)
    grant = approve(apps["olga"], result["request"], "BIS licence D123456")
    fetch(apps["li"], ids["sponsor"], tmp_path / "x")
    revoke(apps["olga"], grant, "project ended")
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(apps["li"], ids["sponsor"], tmp_path / "y")
    with apps["olga"].engine.connect() as conn:
        types = [e.body.type for e in EventLog(conn).iter_events(subject=result["request"])]
    assert types[:3] == ["access.requested", "access.screened", "access.decided"] and "access.approved" in types


def test_an_officer_cannot_approve_their_own_request(lab, app) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    register_person(app, Person("olga", ["DE"], False, None, "US", "Lab B", TODAY), ["export_control_officer"])
    own = request_access(apps["olga"], [ids["sponsor"]], "own study", 30, "US")
    assert own["status"] == "queued"
    with pytest.raises(AccessDenied, match="may not approve their own request"):
        approve(apps["olga"], own["request"], "L1")


def test_listed_affiliation_is_denied(lab, app) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    register_person(app, Person("chen", ["CN"], False, None, "US", "QuantumCTek Co., Ltd.", TODAY), ["researcher"])
    chen = _as(app, "chen")
    try:
        result = request_access(chen, [ids["generic"]], "anything", 30, "US")
    finally:
        chen.close()
    assert (result["outcome"], result["status"]) == ("deny", "denied")
    assert result["decision"]["artifacts"][0]["reasons"][0]["rule"] == "ear.access.entity-list-presumption-of-denial"


def test_officer_denial_and_expired_training(lab, app) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    register_person(
        app,
        Person("sam", ["US"], False, None, "US", "Lab B", (date.today() - timedelta(days=400)).isoformat()),
        ["researcher"],
    )
    sam = _as(app, "sam")
    try:
        result = request_access(sam, [ids["generic"]], "refresher pending", 30, "US")
    finally:
        sam.close()
    assert result["outcome"] == "review"
    assert "training" in result["decision"]["artifacts"][0]["reasons"][0]["text"]
    deny(apps["olga"], result["request"], "complete the annual training first")
    with pytest.raises(InputError, match="already denied"):
        approve(apps["olga"], result["request"], None)


def test_an_expired_grant_stops_fetching_and_its_expiry_is_recorded_once(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    apps, ids = lab
    past = datetime.now(UTC) - timedelta(days=3)
    result = request_access(apps["marie"], [ids["generic"]], "short look", 1, "US", at=past)
    assert result["status"] == "granted"
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(apps["marie"], ids["generic"], tmp_path / "late")
    assert sweep_expired(apps["olga"]) == [result["grant"]]
    assert sweep_expired(apps["olga"]) == []


def test_a_list_refresh_with_a_new_hit_suspends_grants_and_queues_a_review(lab, app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.screening import load_list, refresh

    apps, ids = lab
    result = request_access(apps["marie"], [ids["generic"]], "fit T1 curves", 30, "US")
    assert result["status"] == "granted"
    assert refresh(apps["olga"]) == []  # the bundled sample lists none of our people
    listed = tmp_path / "csl.csv"
    sample = (Path(__file__).resolve().parents[2] / "policies" / "data" / "restricted-parties-sample.csv").read_text()
    listed.write_text(
        sample
        + 'el-9999-001,Entity List (EL) - Bureau of Industry and Security,,Entity,,University of Maryland,,"College Park, MD, US",99 FR 1,2026-11-20,,N,For all items subject to the EAR.,Case-by-case review.,,,,,,,,,,,,,,,\n'
    )
    with pytest.raises(AccessDenied, match="needs the export_control_officer role"):
        load_list(apps["marie"], listed)
    loaded = load_list(apps["olga"], listed)
    assert loaded["new"] and load_list(apps["olga"], listed)["new"] is False  # a version is loaded once
    hits = refresh(apps["olga"])
    assert {h["person"] for h in hits} == {"li", "marie"}  # both work at the newly listed university
    assert next(h for h in hits if h["person"] == "marie")["suspended_grants"] == [result["grant"]]
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(apps["marie"], ids["generic"], tmp_path / "x")
    assert {q["requester"] for q in queue(apps["olga"])} == {"marie"}
    assert refresh(apps["olga"]) == []  # a known hit is not new
