"""End-use monitoring: attestations due, suspension past grace, a reproducible audit sample."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.compliance.end_use import attest, audit_sample, end_use_sweep
from governance.consistency import recompute
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from qgov.errors import AccessDenied, InputError

TRAINED = (date.today() - timedelta(days=30)).isoformat()
NOW = datetime.now(UTC)


@pytest.fixture
def lab(app: App, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 90-day grant of controlled data to sam, one of EAR99 data to ann; olga is the officer."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    subject = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
    for name, subj in (("sponsor", subject), ("generic", {"type": "none"})):
        register_dataset(app, DatasetSpec(name=name, owner="alice", subject=subj, research={}))
        plan = plan_ingest(app, folder, name)
        finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    for name, role in (("sam", "researcher"), ("ann", "researcher"), ("olga", "export_control_officer")):
        register_person(app, Person(name, ["US"], False, None, "US", "Lab B", TRAINED), [role])
    controlled, plain = (list_artifacts(app, ds)[0].id for ds in ("sponsor", "generic"))
    sam, ann = app.acting_for("sam"), app.acting_for("ann")
    g_sam = request_access(sam, [controlled], "readout study", 90, "US")["grant"]
    g_ann = request_access(ann, [plain], "T1 fits", 90, "US")["grant"]
    return app, sam, app.acting_for("olga"), controlled, g_sam, g_ann


def test_an_unattested_grant_is_due_then_suspended_and_an_attestation_resets_the_clock(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, sam, _, controlled, g_sam, _ = lab
    assert end_use_sweep(admin, NOW + timedelta(days=29)) == []
    due = end_use_sweep(admin, NOW + timedelta(days=31))
    assert [(d["grant"], d["notice"]) for d in due] == [(g_sam, "due")]  # ann's EAR99 grant needs none
    assert end_use_sweep(admin, NOW + timedelta(days=32)) == []
    attest(sam, g_sam, "readout study only; nothing shared", NOW + timedelta(days=33))
    assert end_use_sweep(admin, NOW + timedelta(days=40)) == []  # grace would have run out without it
    suspended = end_use_sweep(admin, NOW + timedelta(days=71))
    assert [(d["grant"], d["notice"]) for d in suspended] == [(g_sam, "suspended")]
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(sam, controlled, tmp_path / "x")
    with admin.engine.connect() as conn:
        assert recompute(conn) == []


def test_only_the_holder_attests_and_the_sample_is_reproducible(lab) -> None:  # type: ignore[no-untyped-def]
    admin, sam, olga, _, g_sam, _ = lab
    with pytest.raises(AccessDenied, match="only its holder may"):
        attest(olga, g_sam, "fine")
    with pytest.raises(InputError, match="--statement"):
        attest(sam, g_sam, " ")
    everything = audit_sample(olga, 1.0, "2026-Q4")
    assert [d["grant"] for d in everything] == [g_sam]
    assert audit_sample(olga, 0.5, "2026-Q4") == audit_sample(olga, 0.5, "2026-Q4")
    with pytest.raises(AccessDenied, match="may not see the review queue"):
        audit_sample(sam, 1.0, "x")
    with pytest.raises(InputError, match="--fraction"):
        audit_sample(olga, 0, "x")
