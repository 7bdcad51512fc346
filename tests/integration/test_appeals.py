"""Appeals: the requester files, the officer who denied may not decide, a second officer does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.compliance.appeals import decide_appeal, file_appeal, list_appeals
from governance.consistency import recompute
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, deny, register_person, request_access
from qgov.errors import AccessDenied, InputError

TRAINED = (date.today() - timedelta(days=30)).isoformat()


@pytest.fixture
def denied(app: App, tmp_path: Path):  # type: ignore[no-untyped-def]
    """li (CN) asked for controlled data; olga denied it. petra is a second officer."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    subject = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
    register_dataset(app, DatasetSpec(name="sponsor", owner="alice", subject=subject, research={}))
    plan = plan_ingest(app, folder, "sponsor")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    for name, citizenship, role in (
        ("li", "CN", "researcher"),
        ("olga", "US", "export_control_officer"),
        ("petra", "US", "export_control_officer"),
        ("sam", "US", "researcher"),
    ):
        register_person(app, Person(name, [citizenship], False, None, "US", "Lab B", TRAINED), [role])
    artifact = list_artifacts(app, "sponsor")[0].id
    li = app.acting_for("li")
    request = request_access(li, [artifact], "readout benchmark", 30, "US")
    assert request["status"] == "queued"
    deny(app.acting_for("olga"), request["request"], "no licence on file")
    return {n: app.acting_for(n) for n in ("li", "olga", "petra", "sam")}, request["request"], artifact


def test_a_second_officer_grants_an_appeal_with_a_licence(denied, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    people, request, artifact = denied
    with pytest.raises(AccessDenied, match="only its requester may"):
        file_appeal(people["sam"], request, "me too")
    appeal = file_appeal(people["li"], request, "the BIS licence D123456 now covers me")
    with pytest.raises(InputError, match="already been appealed"):
        file_appeal(people["li"], request, "again")
    assert [a["id"] for a in list_appeals(people["li"])] == [appeal["id"]] and list_appeals(people["sam"]) == []
    with pytest.raises(AccessDenied, match="a second officer decides the appeal"):
        decide_appeal(people["olga"], appeal["id"], True, "fine", "BIS D123456")
    with pytest.raises(AccessDenied, match="needs the export_control_officer role"):
        decide_appeal(people["sam"], appeal["id"], True, "fine", "BIS D123456")
    with pytest.raises(InputError, match="--licence: granting on appeal needs"):
        decide_appeal(people["petra"], appeal["id"], True, "licence checked")
    decided = decide_appeal(people["petra"], appeal["id"], True, "licence D123456 checked", "BIS D123456")
    assert decided["status"] == "granted" and decided["decided_by"] == "petra" and decided["grant"]
    fetch(people["li"], artifact, tmp_path / "t1.csv")
    with pytest.raises(InputError, match="already decided"):
        decide_appeal(people["petra"], appeal["id"], False, "changed my mind")
    with people["petra"].engine.connect() as conn:
        assert recompute(conn) == []


def test_an_upheld_appeal_leaves_the_request_denied(denied, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    people, request, artifact = denied
    appeal = file_appeal(people["li"], request, "please")
    upheld = decide_appeal(people["petra"], appeal["id"], False, "no licence covers a CN national")
    assert upheld["status"] == "upheld" and "grant" not in upheld
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(people["li"], artifact, tmp_path / "t1.csv")
    with pytest.raises(InputError, match="is queued|is granted|only a denied request"):
        file_appeal(people["li"], request_access(people["li"], [artifact], "x", 30, "US")["request"], "g")
