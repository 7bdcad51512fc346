"""The services behind issue 16's gaps, on both databases: typos refused with a did-you-mean,
datasets corrected field by field, roles revoked, people listed, a researcher's own view of
access, why a fetch is refused, the officer's queue context, event filters, checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.audit import EventFilter, list_checkpoints, list_events
from governance.catalog import DatasetSpec, find_dataset, grant_role, list_artifacts, register_dataset
from governance.classification import override
from governance.content import fetch
from governance.dataset_edit import DatasetChanges, update_dataset
from governance.grant_status import NoGrantError, my_access
from governance.people import list_people, revoke_role, show_person
from governance.requests import approve, deny, queue, request_access, revoke
from qgov.errors import AccessDenied, InputError, NotFoundError
from tests.integration import test_access_workflow

lab = test_access_workflow.lab  # the shared fixture: two datasets, li (CN), marie (FR), olga (officer)


# -- typos --------------------------------------------------------------------------------
def test_a_misspelt_parameter_registers_nothing_and_names_the_right_one(app: App) -> None:
    with pytest.raises(InputError, match=r"subject\.physical_qbits .*did you mean 'physical_qubits'\?"):
        register_dataset(
            app, DatasetSpec(name="d", owner="alice", subject={"type": "quantum_computer", "physical_qbits": 54})
        )
    with pytest.raises(InputError, match="the policy states no parameter for qkd"):
        register_dataset(app, DatasetSpec(name="d", owner="alice", subject={"type": "qkd", "physical_qubits": 5}))
    with pytest.raises(NotFoundError):
        find_dataset(app, "d")


@pytest.mark.parametrize(("typed", "meant"), [("EAR-99", "EAR99"), ("4E9O6", "4E906"), ("ear99", "EAR99")])
def test_an_override_to_a_classification_the_bundle_does_not_know_is_refused(
    lab,
    typed: str,
    meant: str,
) -> None:
    apps, ids = lab
    with pytest.raises(InputError, match=f"--as '{typed}': not a classification of US-EAR; did you mean '{meant}'"):
        override(apps["olga"], ids["sponsor"], typed, "typo")
    assert override(apps["olga"], ids["sponsor"], "EAR99", "aggregates only")  # the right spelling works


def test_a_role_for_an_unregistered_name_is_not_found_with_a_did_you_mean(lab, app: App) -> None:
    with pytest.raises(NotFoundError, match="person 'olgaa' is not registered; did you mean 'olga'"):
        grant_role(app, "olgaa", "auditor")
    with pytest.raises(NotFoundError, match="person 'ghost' is not registered"):
        grant_role(app, "ghost", "researcher")
    grant_role(app, "olga", "auditor")
    assert "auditor" in show_person(app, "olga")["roles"]


# -- dataset corrections ------------------------------------------------------------------
def test_each_corrected_field_is_its_own_event_and_a_subject_change_reclassifies(lab, app: App) -> None:
    apps, ids = lab
    before = len(list_events(app, where=EventFilter(types=("dataset.updated",))))
    done = update_dataset(
        app,
        "sponsor",
        DatasetChanges(params={"physical_qubits": 20}, owner="olga", description="T1 sweep", research={}),
    )
    assert set(done.changed) == {"subject", "owner", "description"}
    updated = list_events(app, where=EventFilter(types=("dataset.updated",)))[before:]
    assert sorted(e["payload"]["field"] for e in updated) == ["description", "owner", "subject"]
    ds = find_dataset(app, "sponsor")
    assert (ds.owner, ds.description, ds.subject["physical_qubits"]) == ("olga", "T1 sweep", 20)
    # 20 qubits is below every 4A906.a band: the artifact is no longer 4E906
    assert {c.artifact for c in done.reclassified} == {ids["sponsor"]}
    assert list_artifacts(app, "sponsor")[0].classification != "4E906"
    # nothing changes, nothing is recorded
    assert update_dataset(app, "sponsor", DatasetChanges(description="T1 sweep")).changed == []
    # a parameter is removed with None; a misspelt one is refused
    assert update_dataset(app, "sponsor", DatasetChanges(params={"cnot_error": None})).changed == ["subject"]
    with pytest.raises(InputError, match="did you mean 'cnot_error'"):
        update_dataset(app, "sponsor", DatasetChanges(params={"cnot_eror": 0.001}))


def test_a_new_owner_must_be_registered_and_strangers_may_not_correct(lab, app: App) -> None:
    apps, _ = lab
    with pytest.raises(NotFoundError, match="owner 'olgga' is not registered; did you mean 'olga'"):
        update_dataset(app, "sponsor", DatasetChanges(owner="olgga"))
    with pytest.raises(AccessDenied, match="may not change datasets"):
        update_dataset(apps["li"], "sponsor", DatasetChanges(description="mine now"))
    with pytest.raises(InputError, match="give at least one change"):
        update_dataset(app, "sponsor", DatasetChanges())


# -- people and roles ---------------------------------------------------------------------
def test_roles_are_revoked_with_an_event_but_never_the_last_admin(lab, app: App) -> None:
    apps, _ = lab
    assert revoke_role(app, "olga", "export_control_officer") is True
    assert revoke_role(app, "olga", "export_control_officer") is False
    assert list_events(app, where=EventFilter(types=("role.revoked",)))[-1]["actor"] == "alice"
    with pytest.raises(AccessDenied, match="may not approve or deny"):
        deny(apps["olga"], "00000000-0000-0000-0000-000000000000", "no")
    with pytest.raises(InputError, match="'alice' is the last admin"):
        revoke_role(app, "alice", "admin")


def test_people_are_listed_for_reviewers_and_each_person_sees_themselves(lab, app: App) -> None:
    apps, _ = lab
    page = list_people(app, limit=2)
    assert page["total"] == 3 and [p["name"] for p in page["items"]] == ["li", "marie"]
    assert page["items"][0]["citizenships"] == ["CN"] and page["items"][0]["roles"] == ["researcher"]
    assert list_people(apps["olga"], limit=2, offset=2)["items"][0]["name"] == "olga"
    with pytest.raises(AccessDenied, match="may not read other people's registered facts"):
        list_people(apps["li"])
    with pytest.raises(AccessDenied, match="may not read other people's registered facts"):
        show_person(apps["li"], "marie")
    mine = show_person(apps["li"], "li")
    assert mine["citizenships"] == ["CN"] and mine["requests"] == {} and mine["grants"] == {}
    with pytest.raises(NotFoundError, match="did you mean 'marie'"):
        show_person(app, "mari")


# -- a researcher's view, and why a fetch is refused --------------------------------------
def test_a_refused_fetch_says_which_case_applies(lab, tmp_path: Path) -> None:
    apps, ids = lab
    li, olga, out = apps["li"], apps["olga"], tmp_path / "refused"

    def reason() -> str:
        with pytest.raises(NoGrantError) as refused:
            fetch(li, ids["sponsor"], out)
        assert "no valid grant covers it" in refused.value.diagnostics() and not out.exists()
        return refused.value.reason

    assert reason() == "never_requested"
    asked = request_access(li, [ids["sponsor"]], "readout", 30, "US")
    assert asked["status"] == "queued" and reason() == "pending"
    deny(olga, asked["request"], "not for this project")
    assert reason() == "denied"
    late = request_access(li, [ids["sponsor"]], "readout", 1, "US", at=datetime.now(UTC) - timedelta(days=3))
    approve(olga, late["request"], "BIS D2", at=datetime.now(UTC) - timedelta(days=3))
    assert reason() == "expired"
    again = request_access(li, [ids["sponsor"]], "readout", 30, "US")
    grant = approve(olga, again["request"], "BIS D1")
    fetch(li, ids["sponsor"], tmp_path / "granted.csv")
    revoke(olga, grant, "project ended")
    assert reason() == "revoked"  # the newest grant decides
    doc = my_access(li)
    # newest first: the late request is dated three days back, so it sorts last
    assert [r["request"] for r in doc["requests"]] == [again["request"], asked["request"], late["request"]]
    statuses = {g["grant"]: g["status"] for g in doc["grants"]}
    assert statuses[grant] == "revoked" and sorted(statuses.values()) == ["expired", "revoked"]
    denied = next(r for r in doc["requests"] if r["status"] == "denied")
    assert denied["denial_reason"] == "not for this project" and denied["rules"] == ["ear.access.deemed-export"]
    assert denied["waited_hours"] >= 0 and denied["destination"] == "US" and denied["days"] == 30


def test_a_suspended_grant_is_named_and_the_queue_shows_the_listed_entry(lab, app: App, tmp_path: Path) -> None:
    from governance.screening import load_list, refresh

    apps, ids = lab
    granted = request_access(apps["marie"], [ids["generic"]], "fit", 30, "US")
    listed = tmp_path / "csl.csv"
    sample = (Path(__file__).resolve().parents[2] / "policies" / "data" / "restricted-parties-sample.csv").read_text()
    listed.write_text(
        sample
        + 'el-9999-001,Entity List (EL) - Bureau of Industry and Security,,Entity,,University of Maryland,,"College Park, MD, US",99 FR 1,2026-11-20,,N,For all items subject to the EAR.,Case-by-case review.,,,,,,,,,,,,,,,\n'
    )
    version = load_list(apps["olga"], listed)["version"]
    refresh(apps["olga"])
    with pytest.raises(NoGrantError, match=rf"\(suspended\): grant {granted['grant']} was suspended by re-screening"):
        fetch(apps["marie"], ids["generic"], tmp_path / "x")
    assert my_access(apps["marie"])["grants"][0]["status"] == "suspended"
    asked = request_access(apps["li"], [ids["sponsor"]], "readout", 14, "DE")
    rows = {r["request"]: r for r in queue(apps["olga"])}
    row = rows[asked["request"]]
    assert (row["destination"], row["days"], row["citizenships"]) == ("DE", 14, ["CN"])
    assert row["classifications"] == [{"artifact": ids["sponsor"], "classification": "4E906"}]
    match = next(m for m in row["screening"] if m["field"] == "affiliation")
    assert match["name"] == "University of Maryland" and match["score"] > 0 and match["list_version"] == version


# -- the audit log ------------------------------------------------------------------------
def test_events_are_filtered_by_type_actor_subject_and_time(lab, app: App) -> None:
    apps, ids = lab
    start = datetime.now(UTC)
    asked = request_access(apps["li"], [ids["sponsor"]], "readout", 30, "US")
    by_li = list_events(app, where=EventFilter(actor="li", since=start))
    assert [e["type"] for e in by_li] == ["access.requested", "access.screened", "access.decided"]
    typed = list_events(app, subject=asked["request"], where=EventFilter(types=("access.decided",)))
    assert len(typed) == 1 and typed[0]["payload"]["request"] == asked["request"]
    assert list_events(app, where=EventFilter(until=start, types=("access.requested",))) == []
    assert list_events(app, where=EventFilter(actor="nobody-at-all")) == []
    with pytest.raises(InputError, match="--since .*: expected a time before --until"):
        list_events(app, where=EventFilter(since=start, until=start))


def test_checkpoints_are_listed_newest_first_with_sizes_and_times(lab, app: App) -> None:
    from governance.signing import checkpoint

    checkpoint(app)
    page = list_checkpoints(app)
    sizes = [c["size"] for c in page["items"]]
    assert page["total"] >= 1 and sizes == sorted(sizes, reverse=True)
    assert page["items"][0]["created_at"].endswith("Z") and len(page["items"][0]["root_hash"]) == 64
    with pytest.raises(AccessDenied, match="may not read the provenance log"):
        list_checkpoints(lab[0]["li"])


def test_a_did_you_mean_never_discloses_a_name_to_whom_may_not_read_the_registry(lab, app: App) -> None:
    """A dataset's owner without person.read learns only "not registered", not the near name."""
    apps, _ = lab
    update_dataset(app, "generic", DatasetChanges(owner="marie"))
    with pytest.raises(NotFoundError) as refused:
        update_dataset(apps["marie"], "generic", DatasetChanges(owner="olgaa"))
    assert refused.value.diagnostics().startswith("owner 'olgaa' is not registered;")
    assert "olga'" not in refused.value.diagnostics()
    anyone = app.acting_for("someone-unregistered")
    assert show_person(anyone, "someone-unregistered") == {
        "name": "someone-unregistered",
        "registered_at": None,
        "roles": [],
        "requests": {},
        "grants": {},
    }


def test_a_release_classified_with_a_misspelt_classification_is_refused(lab) -> None:
    from governance.releases import review_classification

    apps, _ = lab
    with pytest.raises(InputError, match="--as 'EAR-99': not a classification of US-EAR; did you mean 'EAR99'"):
        review_classification(apps["olga"], "00000000-0000-0000-0000-000000000000", "EAR-99", "a mean")
