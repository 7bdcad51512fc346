"""`policy impact`: a proposed bundle's changes to the catalog and the grants, recording nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, find_artifact, list_artifacts, register_dataset
from governance.compliance.impact import policy_impact
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from lineage import EventLog
from qgov.errors import AccessDenied, InputError

TRAINED = (date.today() - timedelta(days=30)).isoformat()
WIDER_BAND = """\
jurisdiction: US-EAR
rules:
  - id: ear.4A906.a.1
    entry: 4A906.a.1
    subject: quantum_computer
    when:
      physical_qubits: {min: 34, below: 100}
      cnot_error: {max: 1.0e-3}
    hardware: 4A906
    software: 4D906
    technology: 4E906
    citation: "proposed for review: a wider C-NOT band (not the regulation)"
    status: U
    effective: 2024-09-06
"""


@pytest.fixture
def lab(app: App, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 60-qubit dataset at C-NOT error 5e-4 (outside 4A906.a.1 today), granted to a CN national."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    subject = {"type": "quantum_computer", "physical_qubits": 60, "cnot_error": 0.0005}
    register_dataset(app, DatasetSpec(name="mid", owner="alice", subject=subject, research={}))
    plan = plan_ingest(app, folder, "mid")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    register_person(app, Person("li", ["CN"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    artifact = list_artifacts(app, "mid")[0].id
    grant = request_access(app.acting_for("li"), [artifact], "T1 fits", 30, "US")
    assert grant["status"] == "granted", grant
    proposal = tmp_path / "proposal"
    proposal.mkdir()
    (proposal / "wider.yaml").write_text(WIDER_BAND)
    return app.acting_for("olga"), artifact, grant["grant"], proposal


def test_a_wider_band_reclassifies_and_names_the_grant_it_would_refuse(lab) -> None:  # type: ignore[no-untyped-def]
    olga, artifact, grant, proposal = lab
    before = find_artifact(olga, artifact).classification
    with olga.engine.connect() as conn:
        head = EventLog(conn).head()
    impact = policy_impact(olga, proposal)
    assert [(c["artifact"], c["old"], c["new"]) for c in impact["reclassified"]] == [(artifact, before, "4E906")]
    refused = impact["grants_no_longer_approved"]
    assert [(g["grant"], g["person"], g["outcome"]) for g in refused] == [(grant, "li", "license_required")]
    assert impact["current_policy_version"] != impact["proposed_policy_version"]
    # nothing recorded: the classification and the log are as they were
    assert find_artifact(olga, artifact).classification == before
    with olga.engine.connect() as conn:
        assert EventLog(conn).head() == head


def test_impact_is_for_officers_and_admins_and_needs_a_directory(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    olga, _, _, proposal = lab
    with pytest.raises(InputError, match="not a directory"):
        policy_impact(olga, tmp_path / "nope")
    with pytest.raises(AccessDenied, match="may not reclassify the catalog"):
        policy_impact(olga.acting_for("li"), proposal)
