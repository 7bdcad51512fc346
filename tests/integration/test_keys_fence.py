"""Key rotation against concurrent writers and readers, and against a kill at each of its steps.

Every writer and reader here is another ``App`` (another process's view): it loaded its
key set before the rotation and never reloads it by itself. The interleavings are made
deterministic with hooks (a database-connect listener, the rotation's progress callback),
not with sleeps.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select

from governance import tables as t
from governance.app import App
from governance.audit import verify_blobs, verify_log
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.deletion import delete_artifact
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.keys import rotate
from governance.privacy import set_profile
from governance.releases import request_release
from governance.requests import Person, register_person, request_access
from governance.sample_data import calibration_table
from qgov.errors import ConfigError
from storage import TinkKeyset

OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}
PROFILE = {
    "contributions": 1,
    "budget": {"epsilon": "10", "delta": "0.000001"},
    "columns": {"t1_us": {"bounds": [0, 400]}},
}


def _files(folder: Path, count: int, tag: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"{tag}-{i:02d}.json").write_text(f'{{"shot": {i}, "run": "{tag}"}}')
    return folder


def _ingest(app: App, folder: Path, dataset: str) -> None:
    plan = plan_ingest(app, folder, dataset)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)


def _store(app: App, tmp_path: Path) -> Path:
    """An admin alice (trained US person), an open dataset of small files and a DP-ready table."""
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    register_dataset(app, DatasetSpec(name="calib", owner="alice", **OPEN))
    source = _files(tmp_path / "src", 6, "first")
    calibration_table(qubits=24, seed=3).to_csv(source / "calibration.csv", index=False)
    _ingest(app, source, "calib")
    set_profile(app, "calib", PROFILE)
    assert request_access(app, [a.id for a in list_artifacts(app, "calib")], "test", 30, "US")["status"] == "granted"
    return source


def _everything_reads_back(settings, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    """A fresh process (only the current key file) verifies every blob and fetches every artifact."""
    fresh = App(settings)
    try:
        check = verify_blobs(fresh)
        assert check.bad == [], check.bad
        assert verify_log(fresh).ok
        out = tmp_path / "fetched"
        out.mkdir(exist_ok=True)
        live = [a for a in list_artifacts(fresh, "calib") if a.id not in _deleted(fresh)]
        assert request_access(fresh, [a.id for a in live], "audit", 30, "US")["status"] == "granted"
        for art in live:
            fetch(fresh, art.id, out / art.id)
            assert hashlib.sha256((out / art.id).read_bytes()).hexdigest() == art.sha256
        return len(live)
    finally:
        fresh.close()


def _deleted(app: App) -> set[str]:
    with app.engine.connect() as conn:
        return {r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.deleted_at.is_not(None)))}


def _kek_ids(app: App) -> set[int]:
    with app.engine.connect() as conn:
        return {
            r.kek_key_id for r in conn.execute(select(t.blobs.c.kek_key_id).where(t.blobs.c.wrapped_key.is_not(None)))
        }


def test_a_rotation_between_an_ingests_wrapping_and_its_commit_loses_nothing(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _store(app, tmp_path)
    old = app.kek.primary_key_id
    writer = App(app.settings)  # the ingest: its key set is loaded at its start
    plan = plan_ingest(writer, _files(tmp_path / "late", 8, "late"), "calib")
    staging = Path(app.settings.storage_url) / "tmp"
    rotations = []

    @event.listens_for(writer.engine, "engine_connect")
    def _rotate_after_wrapping(_conn) -> None:  # type: ignore[no-untyped-def]
        # Ciphertext staged (data keys wrapped), commit not yet begun: another process rotates now.
        if not rotations and any(staging.glob("*.part")):
            other = App(app.settings)
            rotations.append(rotate(other))
            other.close()

    finish_run(writer, plan, ingest_batch(writer, plan, plan.files), datetime.now(UTC), 0)
    writer.close()
    assert rotations and rotations[0].retired_key_ids == [old]
    new = rotations[0].new_key_id
    assert TinkKeyset.load(app.settings.key_file).key_ids == [new]
    assert _kek_ids(app) == {new}  # the late commit was re-wrapped, not stored under the retired key
    assert _everything_reads_back(app.settings, tmp_path) == 6 + 1 + 8


def test_writers_releases_deletions_and_readers_with_old_keys_all_work_during_and_after_rotation(
    app, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _store(app, tmp_path)
    old = app.kek.primary_key_id
    arts = {a.path: a.id for a in list_artifacts(app, "calib")}
    # Three other processes, each holding the key set from before the rotation.
    writer, reader, releaser = App(app.settings), App(app.settings), App(app.settings)
    for other in (writer, reader, releaser):
        assert other.kek.key_ids == [old]
    seen: list[tuple[int, int]] = []

    def during(done: int, todo: int) -> None:
        seen.append((done, todo))
        if len(seen) != 1:
            return
        _ingest(writer, _files(tmp_path / "mid", 3, "mid"), "calib")  # a commit under the old key
        fetch(reader, arts["first-00.json"], tmp_path / "mid-fetch")  # may be re-wrapped already
        doc = request_release(releaser, "calib", "mean", "t1_us", "0.5", purpose="mid-rotation")
        assert doc["status"] == "released"
        delete_artifact(app, arts["first-05.json"], "withdrawn", before_retention_end=True)

    report = rotate(app, during, batch=2)
    assert len(seen) >= 3 and report.retired_key_ids == [old]
    assert _kek_ids(app) == {report.new_key_id}
    # After rotation finished, the old key is gone from the file, yet the old processes go on.
    _ingest(writer, _files(tmp_path / "after", 2, "after"), "calib")
    for path in ("first-01.json", "calibration.csv"):
        fetch(reader, arts[path], tmp_path / f"after-{path}")
        assert (tmp_path / f"after-{path}").read_bytes() == (tmp_path / "src" / path).read_bytes()
    assert request_release(releaser, "calib", "count", "t1_us", "0.5", purpose="after")["status"] == "released"
    for other in (writer, reader, releaser):
        other.close()
    with app.engine.connect() as conn:  # the shredded key stayed destroyed through the re-wraps
        gone = conn.execute(
            select(t.blobs.c.wrapped_key, t.blobs.c.kek_key_id)
            .join(t.artifacts, t.artifacts.c.sha256 == t.blobs.c.object_id)
            .where(t.artifacts.c.id == arts["first-05.json"])
        ).one()
    assert gone.wrapped_key is None and gone.kek_key_id is None
    assert _everything_reads_back(app.settings, tmp_path) == 7 - 1 + 3 + 2


def test_a_key_file_older_than_the_last_rotation_is_refused_before_anything_is_stored(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _store(app, tmp_path)
    before = tmp_path / "kek-before-rotation.json"
    shutil.copy2(app.settings.key_file, before)
    report = rotate(app)
    shutil.copy2(before, app.settings.key_file)  # someone restores yesterday's key file
    stale = App(app.settings)
    with pytest.raises(ConfigError, match=rf"primary key {report.retired_key_ids[0]} was retired by a key rotation"):
        _ingest(stale, _files(tmp_path / "late", 2, "late"), "calib")
    with pytest.raises(ConfigError, match=rf"does not hold key {report.new_key_id}, the primary key the last rotation"):
        rotate(stale)
    stale.close()
    with app.engine.connect() as conn:
        assert conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.path.like("late-%"))).first() is None


KILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from governance.app import App
    from governance.config import load_settings
    from governance.keys import rotate

    target, nth = sys.argv[1], int(sys.argv[2])
    hits = []

    def on_step(name):
        if name == target:
            hits.append(name)
            if len(hits) == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    rotate(App(load_settings().model_copy(update={"user": "alice"})), batch=2, on_step=on_step)
    """
)

# (step, occurrence): after the new key is in the file, after it is recorded, mid re-wrap,
# after the last re-wrap (4 batches of 2 for 7 objects), after the file lost the old key
# but before that was committed.
KILL_POINTS = [
    ("key-added", 1),
    ("recorded", 1),
    ("rewrapped-batch", 1),
    ("rewrapped-batch", 4),
    ("key-file-trimmed", 1),
]


@pytest.mark.parametrize(("step", "nth"), KILL_POINTS, ids=[f"{s}-{n}" for s, n in KILL_POINTS])
def test_a_rotation_killed_at_each_step_is_finished_by_the_next_run(
    app, env, tmp_path: Path, step: str, nth: int
) -> None:  # type: ignore[no-untyped-def]
    from governance.keys import STEPS

    assert step in STEPS
    _store(app, tmp_path)
    old = app.kek.primary_key_id
    killed = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, step, str(nth)],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr  # it died at the step, not before
    assert _everything_reads_back(app.settings, tmp_path) == 7  # nothing lost while half-rotated
    again = App(app.settings)
    report = rotate(again)
    again.close()
    assert report.resumed and old in report.retired_key_ids
    assert TinkKeyset.load(app.settings.key_file).key_ids == [report.new_key_id]
    assert _kek_ids(app) == {report.new_key_id}
    with app.engine.connect() as conn:
        states = {r.key_id: r.state for r in conn.execute(select(t.kek_keys))}
    assert states == {report.new_key_id: "primary", old: "retired"}
    assert _everything_reads_back(app.settings, tmp_path) == 7


def test_two_rotations_racing_ingests_releases_deletions_and_fetches_lose_nothing(app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Real concurrency (threads, each its own App and connections); the invariants, not an order, are checked."""
    _store(app, tmp_path)
    arts = {a.path: a.id for a in list_artifacts(app, "calib")}
    start = threading.Barrier(5)
    errors: list[BaseException] = []
    reports = []

    def run(work) -> None:  # type: ignore[no-untyped-def]
        own = App(app.settings)
        own.kek  # noqa: B018 - the key set is loaded before the race, as a running process holds it
        try:
            start.wait(timeout=60)
            work(own)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            own.close()

    def rotations(own: App) -> None:
        reports.append(rotate(own, batch=1))
        reports.append(rotate(own, batch=1))

    def ingests(own: App) -> None:
        for n in range(4):
            _ingest(own, _files(tmp_path / f"race-{n}", 3, f"race{n}"), "calib")

    def releases(own: App) -> None:
        for n in range(3):
            assert request_release(own, "calib", "mean", "t1_us", "0.2", purpose=f"race {n}")["status"] == "released"

    def deletions(own: App) -> None:
        for path in ("first-04.json", "first-05.json"):
            delete_artifact(own, arts[path], "withdrawn", before_retention_end=True)

    def fetches(own: App) -> None:
        for n in range(6):
            out = tmp_path / f"race-fetch-{n}"
            fetch(own, arts[f"first-0{n % 4}.json"], out)
            assert out.read_bytes() == (tmp_path / "src" / f"first-0{n % 4}.json").read_bytes()

    threads = [threading.Thread(target=run, args=(w,)) for w in (rotations, ingests, releases, deletions, fetches)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    first, second = reports
    assert second.retired_key_ids == [first.new_key_id]
    assert TinkKeyset.load(app.settings.key_file).key_ids == [second.new_key_id]
    assert _kek_ids(app) == {second.new_key_id}
    assert _everything_reads_back(app.settings, tmp_path) == 7 - 2 + 4 * 3
