"""Key rotation re-wraps every data key; data stays readable, old keys are gone."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.audit import verify_blobs, verify_log
from governance.catalog import DatasetSpec, register_dataset
from governance.content import fetch
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.keys import rotate
from storage import TinkKeyset
from tests.conftest import grant_self


def _ingest(app, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The service path without Prefect (the flow is tested elsewhere)."""
    from datetime import UTC, datetime

    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    plan = plan_ingest(app, folder, "calib")
    result = ingest_batch(app, plan, plan.files)
    finish_run(app, plan, result, datetime.now(UTC), 0)


def _key_ids(app) -> set[int]:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return {r.kek_key_id for r in conn.execute(select(t.blobs.c.kek_key_id))}


def test_rotation_rewraps_everything_and_data_stays_readable(app, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _ingest(app, sample_tree)
    old = app.kek.primary_key_id
    report = rotate(app)
    assert report.rewrapped == 5 and report.retired_key_ids == [old]
    assert _key_ids(app) == {report.new_key_id}
    reloaded = App(app.settings)  # a fresh process sees only the new key
    assert TinkKeyset.load(app.settings.key_file).key_ids == [report.new_key_id]
    assert verify_blobs(reloaded).bad == []
    with app.engine.connect() as conn:
        art = conn.execute(select(t.artifacts.c.id, t.artifacts.c.path)).first()
    grant_self(reloaded, [art.id])
    fetch(reloaded, art.id, tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == (sample_tree / art.path).read_bytes()
    assert verify_log(reloaded).ok
    reloaded.close()


def test_an_interrupted_rotation_is_finished_by_the_next_run(app, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    _ingest(app, sample_tree)
    old = app.kek.primary_key_id
    new = app.kek.begin_rotation()  # the process died right after step 1
    resumed = App(app.settings)
    report = rotate(resumed)
    assert report.resumed and report.new_key_id == new and report.retired_key_ids == [old]
    assert _key_ids(app) == {new}
    assert verify_blobs(resumed).bad == []
    resumed.close()
