"""Classification applied to the catalog, on SQLite and PostgreSQL: recorded, explained,
overridable, inherited along lineage, and re-run when the policy or the research changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.catalog import DatasetSpec, grant_role, list_artifacts, register_dataset
from governance.classification import declassify, history, override, reclassify_all, set_research
from governance.derivation import record_derivation
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.policy_store import publish_policy
from lineage import EventLog
from policies.bundle import load_policies
from policies.classify import classify
from qgov.errors import AccessDenied, InputError

QC_120 = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
OPEN = {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}
CLOSED = {"fundamental": False, "intended_for_publication": False, "restrictions_accepted": True}


def _ingest(app, folder: Path, name: str, research: dict, subject: dict = QC_120) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    register_dataset(app, DatasetSpec(name=name, owner="alice", subject=subject, research=research))
    plan = plan_ingest(app, folder, name)
    result = ingest_batch(app, plan, plan.files)
    finish_run(app, plan, result, datetime.now(UTC), 0)
    return {a.path: a.id for a in list_artifacts(app, name)}


def _cls(app, artifact: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        row = conn.execute(
            select(t.artifacts.c.classification, t.artifacts.c.classification_basis).where(t.artifacts.c.id == artifact)
        ).one()
    return row.classification, row.classification_basis


def _folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return folder


@pytest.fixture
def officer(app):  # type: ignore[no-untyped-def]
    from governance.requests import Person, register_person

    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", None), [])
    grant_role(app, "olga", "export_control_officer")
    olga = App(app.settings.model_copy(update={"user": "olga"}))
    yield olga
    olga.close()


def test_ingested_artifacts_are_classified_with_a_reproducible_record(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(
        app,
        _folder(tmp_path, "run", {"t1.csv": "q,t1\n0,50\n", "ghz.qasm": "OPENQASM 3.0;\nqubit[2] q;\nh q[0];\n"}),
        "calib",
        CLOSED,
    )
    assert _cls(app, ids["t1.csv"]) == ("4E906", "automatic")  # a dataset about the machine: technology
    assert _cls(app, ids["ghz.qasm"]) == ("4D906", "automatic")  # a circuit is source code
    with app.engine.connect() as conn:
        events = [e for e in EventLog(conn).iter_events(subject=ids["t1.csv"]) if e.body.type == "artifact.classified"]
        decision = conn.execute(select(t.classifications).where(t.classifications.c.artifact_id == ids["t1.csv"])).one()
    payload = events[0].body.payload
    assert payload["decision_id"] == decision.decision_id and payload["rules"] == ["ear.4A906.a.2"]
    # an auditor re-runs the recorded input under the recorded policy and gets the same answer
    bundle = load_policies().get("US-EAR")
    assert payload["policy_version"] == bundle.version
    rerun = classify(decision.result["item"], bundle)
    assert (rerun.classification, rerun.input_hash) == ("4E906", payload["input_hash"])


def test_fundamental_research_is_not_subject(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, _folder(tmp_path, "open", {"t1.csv": "q\n1\n"}), "open", OPEN)
    assert _cls(app, ids["t1.csv"]) == ("NOT_SUBJECT", "automatic")


def test_officer_override_is_recorded_and_the_automatic_answer_stays(app, officer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, _folder(tmp_path, "run", {"t1.csv": "q\n1\n"}), "calib", CLOSED)
    with pytest.raises(AccessDenied, match="needs the export_control_officer role"):
        override(app, ids["t1.csv"], "EAR99", "aggregate only")
    with pytest.raises(InputError, match="needs a reason"):
        override(officer, ids["t1.csv"], "EAR99", " ")
    changes = override(officer, ids["t1.csv"], "EAR99", "only aggregate T1 values; no design data")
    assert [(c.old, c.new, c.basis) for c in changes] == [("4E906", "EAR99", "override")]
    sources = {(h["source"], h["classification"]) for h in history(app, ids["t1.csv"])}
    assert sources == {("automatic", "4E906"), ("override", "EAR99")}
    assert reclassify_all(app) == []  # a re-run keeps the officer's decision


def _three_levels(app, tmp_path: Path) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    raw = _ingest(app, _folder(tmp_path, "raw", {"raw.csv": "q\n1\n"}), "raw", CLOSED)["raw.csv"]
    derived = _ingest(
        app, _folder(tmp_path, "derived", {"fit.json": "{}", "figure.json": "[]"}), "derived", OPEN, {"type": "none"}
    )
    assert _cls(app, derived["fit.json"])[0] == "NOT_SUBJECT"
    record_derivation(app, "fit T1", [raw], [derived["fit.json"]])
    record_derivation(app, "plot", [derived["fit.json"]], [derived["figure.json"]])
    return raw, derived["fit.json"], derived["figure.json"]


def test_derived_artifacts_inherit_through_three_levels(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw, fit, figure = _three_levels(app, tmp_path)
    assert _cls(app, raw) == ("4E906", "automatic")
    assert _cls(app, fit) == ("4E906", "inherited")
    assert _cls(app, figure) == ("4E906", "inherited")
    with pytest.raises(InputError, match="cycle"):
        record_derivation(app, "loop", [figure], [raw])


def test_declassification_stops_inheritance_downstream(app, officer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw, fit, figure = _three_levels(app, tmp_path)
    declassify(officer, fit, "fit parameters reviewed: no controlled technology")
    assert _cls(app, fit) == ("NOT_SUBJECT", "automatic")
    assert _cls(app, figure) == ("NOT_SUBJECT", "automatic")
    assert _cls(app, raw) == ("4E906", "automatic")


def test_accepting_sponsor_restrictions_reclassifies_everything_derived(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    raw = _ingest(app, _folder(tmp_path, "raw", {"raw.csv": "q\n1\n"}), "raw", OPEN)["raw.csv"]
    derived = _ingest(app, _folder(tmp_path, "derived", {"fit.json": "{}"}), "derived", OPEN, {"type": "none"})[
        "fit.json"
    ]
    record_derivation(app, "fit", [raw], [derived])
    assert _cls(app, raw)[0] == _cls(app, derived)[0] == "NOT_SUBJECT"
    changes = set_research(app, "raw", {"restrictions_accepted": True})
    assert {(c.artifact, c.new) for c in changes} == {(raw, "4E906"), (derived, "4E906")}
    assert _cls(app, derived) == ("4E906", "inherited")


def test_policy_edit_reclassifies_once(app, tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    ids = _ingest(app, _folder(tmp_path, "run", {"t1.csv": "q\n1\n"}), "calib", CLOSED)
    assert reclassify_all(app) == []
    org = tmp_path / "org-policy"
    org.mkdir()
    # the organisation tightens nothing but corrects a.2's error bound to 5.0e-4
    (org / "override.yaml").write_text(
        "jurisdiction: US-EAR\nrules:\n"
        "  - {id: ear.4A906.a.2, entry: 4A906.a.2, subject: quantum_computer,\n"
        "     when: {physical_qubits: {min: 100, below: 200}, cnot_error: {max: 5.0e-4}},\n"
        "     hardware: 4A906, software: 4D906, technology: 4E906,\n"
        "     citation: 'org reading of 4A906.a.2', status: P, effective: 2026-11-01}\n"
    )
    before = app.policies.get("US-EAR").version
    # a caller's directory changes nothing recorded: only a published policy does
    posing = App(app.settings.model_copy(update={"policy_dir": org}))
    try:
        assert reclassify_all(posing) == []
    finally:
        posing.close()
    publish_policy(app, org, "a.2 error bound")
    changes = reclassify_all(app)
    assert [(c.artifact, c.old, c.new) for c in changes] == [(ids["t1.csv"], "4E906", "EAR99")]
    assert reclassify_all(app) == []  # idempotent
    latest = [h for h in history(app, ids["t1.csv"]) if h["active"] and h["source"] == "automatic"][0]
    assert latest["policy_version"] == app.policies.get("US-EAR").version != before
