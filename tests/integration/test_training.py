"""Training: reminders before expiry, suspension of live grants on a lapse, a new completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.compliance.training import record_training, training_status, training_sweep
from governance.consistency import recompute
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person, request_access
from lineage import EventLog
from qgov.errors import AccessDenied, InputError

NOW = datetime.now(UTC)
ALMOST = (NOW.date() - timedelta(days=360)).isoformat()  # the bundle's validity is 365 days


@pytest.fixture
def lab(app: App, tmp_path: Path):  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    register_dataset(app, DatasetSpec(name="generic", owner="alice", subject={"type": "none"}, research={}))
    plan = plan_ingest(app, folder, "generic")
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", ALMOST), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", ALMOST), ["export_control_officer"])
    artifact = list_artifacts(app, "generic")[0].id
    sam = app.acting_for("sam")
    grant = request_access(sam, [artifact], "T1 fits", 90, "US")["grant"]
    return app, sam, app.acting_for("olga"), artifact, grant


def _types(app: App) -> list[str]:
    with app.engine.connect() as conn:
        return [e.body.type for e in EventLog(conn).iter_events()]


def test_a_reminder_then_a_lapse_that_suspends_grants_each_said_once(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    admin, sam, olga, artifact, grant = lab
    reminders = training_sweep(admin, NOW)
    assert {(r["person"], r["notice"]) for r in reminders} == {("sam", "reminder"), ("olga", "reminder")}
    assert training_sweep(admin, NOW + timedelta(hours=1)) == []
    assert _types(admin).count("training.reminder") == 2  # one per person, though both marks were crossed

    lapsed = training_sweep(admin, NOW + timedelta(days=10))
    sams = next(n for n in lapsed if n["person"] == "sam")
    assert sams["notice"] == "lapsed" and sams["suspended"] == [grant]
    with pytest.raises(AccessDenied, match="no valid grant"):
        fetch(sam, artifact, tmp_path / "x")
    assert training_sweep(admin, NOW + timedelta(days=11)) == []
    with admin.engine.connect() as conn:
        assert recompute(conn) == []

    done = record_training(olga, "sam", NOW.date().isoformat())
    assert done["valid_until"] == (NOW.date() + timedelta(days=365)).isoformat()
    status = {s["person"]: s for s in training_status(olga)}
    assert status["sam"]["days_left"] == 365 and status["olga"]["days_left"] == 5
    assert [n["person"] for n in training_sweep(admin, NOW + timedelta(days=12))] == []


def test_only_officers_and_admins_record_training_and_never_in_the_future(lab) -> None:  # type: ignore[no-untyped-def]
    _, sam, olga, _, _ = lab
    with pytest.raises(AccessDenied, match="may not record completed training"):
        record_training(sam, "sam", date.today().isoformat())
    with pytest.raises(InputError, match="expected a date not in the future"):
        record_training(olga, "sam", (date.today() + timedelta(days=2)).isoformat())
    with pytest.raises(InputError, match="expected a date YYYY-MM-DD"):
        record_training(olga, "sam", "last week")
