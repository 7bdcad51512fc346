"""Retention dates and lineage-aware legal holds, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from governance.catalog import DatasetSpec, grant_role, list_artifacts, register_dataset
from governance.derivation import record_derivation
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from governance.retention import holds_covering, list_holds, place_hold, release_hold, retention_of
from qgov.errors import AccessDenied, InputError, NotFoundError

CONTROLLED = {
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
    "research": {"fundamental": False, "intended_for_publication": False, "restrictions_accepted": True},
}
OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}


def _ingest(app, tmp_path: Path, name: str, files: dict[str, str], **spec) -> dict[str, str]:  # type: ignore[no-untyped-def]
    folder = tmp_path / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    register_dataset(app, DatasetSpec(name=name, owner="alice", **spec))
    plan = plan_ingest(app, folder, name)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    return {a.path: a.id for a in list_artifacts(app, name)}


def _held(app, artifact: str) -> list[str]:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return [h["hold"] for h in holds_covering(conn, artifact)]


def test_retention_follows_the_class_of_the_artifact(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    controlled = _ingest(app, tmp_path, "sponsor", {"raw.json": "{}"}, **CONTROLLED)["raw.json"]
    open_ = _ingest(app, tmp_path, "open", {"raw.json": "[]"}, **OPEN)["raw.json"]
    c, o = retention_of(app, controlled), retention_of(app, open_)
    assert (c["classification"], c["schedule"], c["action"]) == ("4E906", "retention.controlled", "review")
    assert (o["schedule"], o["action"]) == ("retention.not-controlled", "delete")
    assert int(c["keep_until"][:4]) - int(c["created_at"][:4]) == 10
    assert int(o["keep_until"][:4]) - int(o["created_at"][:4]) == 5
    assert not c["due"] and c["holds"] == []


def test_an_artifact_released_under_a_grant_is_kept_five_years_after_the_grant(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    open_ = _ingest(app, tmp_path, "open", {"raw.json": "[]"}, **OPEN)["raw.json"]
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    granted = request_access(app, [open_], "analysis", 3650, "US")
    assert granted["status"] == "granted"
    doc = retention_of(app, open_)
    assert doc["reasons"][-1]["rule"] == "retention.export-records"
    assert "15 CFR 762.6" in doc["reasons"][-1]["citation"]
    assert int(doc["keep_until"][:4]) >= datetime.now(UTC).year + 10 + 5 - 1  # grant of ~10 years + 5


def test_a_hold_on_a_derived_output_holds_its_sources_until_released(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, tmp_path, "sponsor", {"raw.json": "{}", "fit.json": "[]", "figure.json": "1"}, **CONTROLLED)
    record_derivation(app, "fit", [ids["raw.json"]], [ids["fit.json"]])
    record_derivation(app, "plot", [ids["fit.json"]], [ids["figure.json"]])
    hold = place_hold(app, "paper under review at a journal", artifact=ids["figure.json"])
    for path in ("raw.json", "fit.json", "figure.json"):
        assert _held(app, ids[path]) == [hold["hold"]], path
    with app.engine.connect() as conn:
        (covering,) = holds_covering(conn, ids["raw.json"])
    assert covering["via"] == "a held output derived from this artifact"
    assert retention_of(app, ids["raw.json"])["holds"][0]["reason"] == "paper under review at a journal"
    release_hold(app, hold["hold"], "published")
    assert _held(app, ids["raw.json"]) == [] and list_holds(app) == []
    assert [h["hold"] for h in list_holds(app, include_released=True)] == [hold["hold"]]
    with pytest.raises(InputError, match="already released"):
        release_hold(app, hold["hold"], "again")


def test_a_derivation_recorded_after_the_hold_is_covered_too(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, tmp_path, "sponsor", {"raw.json": "{}", "fit.json": "[]"}, **CONTROLLED)
    hold = place_hold(app, "litigation", artifact=ids["fit.json"])
    assert _held(app, ids["raw.json"]) == []
    record_derivation(app, "fit", [ids["raw.json"]], [ids["fit.json"]])
    assert _held(app, ids["raw.json"]) == [hold["hold"]]


def test_dataset_and_person_holds(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sponsor = _ingest(app, tmp_path, "sponsor", {"raw.json": "{}"}, **CONTROLLED)
    other = _ingest(app, tmp_path, "other", {"x.json": "[]"}, **OPEN)
    on_dataset = place_hold(app, "sponsor audit", dataset="sponsor")
    assert _held(app, sponsor["raw.json"]) == [on_dataset["hold"]] and _held(app, other["x.json"]) == []
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    on_person = place_hold(app, "records request about alice's work", person="alice")
    assert on_person["hold"] in _held(app, other["x.json"])  # alice ingested it


def test_holds_need_an_officer_or_admin_and_exactly_one_target(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.app import App

    ids = _ingest(app, tmp_path, "sponsor", {"raw.json": "{}"}, **CONTROLLED)
    with pytest.raises(InputError, match="exactly one of --artifact"):
        place_hold(app, "r", artifact=ids["raw.json"], dataset="sponsor")
    with pytest.raises(InputError, match="--reason"):
        place_hold(app, " ", artifact=ids["raw.json"])
    with pytest.raises(NotFoundError, match="--person nobody"):
        place_hold(app, "r", person="nobody")
    bob = App(app.settings.model_copy(update={"user": "bob"}))
    try:
        with pytest.raises(
            AccessDenied,
            match="may not place or release legal holds: it needs the admin or export_control_officer role",
        ):
            place_hold(bob, "r", artifact=ids["raw.json"])
        register_person(app, Person("bob", ["US"], False, None, "US", "Lab B", None), [])
        grant_role(app, "bob", "export_control_officer")
        assert place_hold(bob, "r", artifact=ids["raw.json"])["placed_by"] == "bob"
    finally:
        bob.close()
