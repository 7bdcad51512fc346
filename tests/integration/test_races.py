"""Races between deletion, fetch, DP releases, access requests, holds and the retention sweep.

Each interleaving is forced, not hoped for: the store's backend (the one I/O seam of
``storage``) runs the competing command right after an object is opened for reading (an
open file stays readable after its ciphertext is removed, as in a real race), or a service
step is wrapped so that the competing command commits exactly between a check and the
lock. Found in issue 20; every test here failed before the fix.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.audit import verify_blobs, verify_log
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.deletion import delete_artifact
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.privacy import budget_show, set_profile
from governance.releases import request_release
from governance.requests import Person, register_person, request_access
from governance.retention import place_hold
from governance.sample_data import calibration_table
from governance.sweep import sweep
from lineage import EventLog
from qgov.errors import NotFoundError
from tests.conftest import grant_self

OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}
PROFILE = {
    "contributions": 1,
    "budget": {"epsilon": "1.0", "delta": "0.000001"},
    "columns": {"t1_us": {"bounds": [0, 400]}},
}


class _OnOpen:
    """The store's backend, running ``action`` once right after the ``nth`` object is opened."""

    def __init__(self, inner: Any, nth: int, action: Callable[[], None]) -> None:
        self.inner, self.nth, self.action, self.opened = inner, nth, action, 0

    def open_read(self, key: str) -> Any:
        stream = self.inner.open_read(key)
        self.opened += 1
        if self.opened == self.nth:
            self.action()
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _ingest(app, folder: Path, dataset: str, files: dict[str, bytes], **spec: Any) -> dict[str, str]:  # type: ignore[no-untyped-def]
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    register_dataset(app, DatasetSpec(name=dataset, owner="alice", **spec))
    plan = plan_ingest(app, folder, dataset)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    return {a.path: a.id for a in list_artifacts(app, dataset)}


@pytest.fixture
def store(app, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two open datasets (a: 3 files, b: 2 files); alice is a trained US admin with a grant on all."""
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    ids = _ingest(app, tmp_path / "a", "a", {f"a{i}.bin": os.urandom(3 << 20) for i in range(3)}, **OPEN)
    ids |= _ingest(app, tmp_path / "b", "b", {f"b{i}.bin": os.urandom(1000) for i in range(2)}, **OPEN)
    grant_self(app, sorted(ids.values()))
    return ids


def _delete(app, artifact: str) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    return lambda: delete_artifact(app, artifact, "withdrawn", before_retention_end=True) and None


def _events(app) -> list[Any]:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return [e.body for e in EventLog(conn).iter_events()]


def _types(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.type for e in _events(app)]


def _times_follow_log_order(app) -> None:  # type: ignore[no-untyped-def]
    events = _events(app)
    for before, after in zip(events, events[1:], strict=False):
        assert after.occurred_at >= before.occurred_at, (
            f"event {after.seq} ({after.type}) at {after.occurred_at} is earlier than "
            f"event {before.seq} ({before.type}) at {before.occurred_at}"
        )


# -- 1. fetch and DP release against deletion -----------------------------------------
def test_a_deletion_while_a_fetch_verifies_stops_it_before_any_plaintext(app, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "a0.bin"
    out.parent.mkdir()
    app.blobs.backend = _OnOpen(app.blobs.backend, 1, _delete(app, store["a0.bin"]))  # during the verify pass
    with pytest.raises(NotFoundError, match=rf"artifact {store['a0.bin']} was deleted on .* \(certificate "):
        fetch(app, store["a0.bin"], out)
    assert list(out.parent.iterdir()) == []  # no output, no temp file
    assert "artifact.fetched" not in _types(app)
    assert verify_log(app).ok


def test_a_deletion_after_a_fetch_is_recorded_follows_it_in_the_log(app, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a0.bin"
    app.blobs.backend = _OnOpen(app.blobs.backend, 2, _delete(app, store["a0.bin"]))  # as plaintext is written
    fetch(app, store["a0.bin"], out)
    types = _types(app)
    assert types.index("artifact.fetched") < types.index("artifact.deleted")  # never a release after the shred
    assert types.index("artifact.deleted") < types.index("artifact.ciphertext_removed")
    _times_follow_log_order(app)


@pytest.fixture
def table(app, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """An open calibration table with a privacy profile; alice is a trained US admin."""
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    data = calibration_table(qubits=24, seed=3).to_csv(index=False).encode()
    ids = _ingest(app, tmp_path / "calib", "calib", {"calibration.csv": data}, **OPEN)
    set_profile(app, "calib", PROFILE)
    return ids["calibration.csv"]


def test_a_table_deleted_while_a_release_computes_publishes_nothing_and_is_refunded(app, table) -> None:  # type: ignore[no-untyped-def]
    app.blobs.backend = _OnOpen(app.blobs.backend, 1, _delete(app, table))  # the release has read the table
    with pytest.raises(NotFoundError, match=rf"artifact {table} was deleted on "):
        request_release(app, "calib", "mean", "t1_us", "0.3", purpose="T1 by device family")
    types = _types(app)
    assert "release.published" not in types and types[-1] == "release.failed"
    with app.engine.connect() as conn:
        release = conn.execute(select(t.releases)).one()
    assert release.status == "failed" and release.result is None and "was deleted" in release.error
    shown = budget_show(app, "calib")
    assert shown["ledger_consistent"]
    assert Fraction(shown["exact"]["spent_epsilon"]) == 0 and Fraction(shown["exact"]["reserved_epsilon"]) == 0


# -- 2. a hold placed while the sweep runs ---------------------------------------------
def test_a_hold_placed_during_the_sweep_skips_what_it_covers_and_the_sweep_carries_on(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import governance.sweep

    real = governance.sweep.delete_artifact
    raced: list[str] = []

    def hold_first(app, artifact: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
        if not raced:  # an officer holds this artifact's dataset after the sweep checked it
            raced.append(artifact)
            dataset = next(a.dataset for a in list_artifacts(app) if a.id == artifact)
            place_hold(app, "subpoena", dataset=dataset)
        return real(app, artifact, *args, **kwargs)

    monkeypatch.setattr(governance.sweep, "delete_artifact", hold_first)
    report = sweep(app, act=True, at=datetime.now(UTC) + timedelta(days=366 * 6))
    by_dataset = {a.id: a.dataset for a in list_artifacts(app)}  # tombstones included
    with app.engine.connect() as conn:
        gone = {r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.deleted_at.is_not(None)))}
    # everything due outside the held dataset was deleted, nothing inside it
    assert gone == {a for a, dataset in by_dataset.items() if dataset != by_dataset[raced[0]]}
    raced_entry = next(e for e in report["held"] if e["artifact"] == raced[0])
    assert raced_entry["held_during_sweep"] is True
    assert len(report["deleted"]) == len(gone)
    assert verify_log(app).ok and verify_blobs(app).bad == []


# -- 3. an access request racing a deletion -------------------------------------------
def test_an_access_request_for_an_artifact_deleted_meanwhile_is_not_found(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import governance.requests

    real = governance.requests.screen_requester

    def delete_meanwhile(*args: Any, **kwargs: Any) -> Any:  # the request has looked the artifact up
        found = real(*args, **kwargs)
        delete_artifact(app, store["b0.bin"], "withdrawn", before_retention_end=True)
        return found

    monkeypatch.setattr(governance.requests, "screen_requester", delete_meanwhile)
    with pytest.raises(NotFoundError, match=rf"artifact {store['b0.bin']} was deleted on .* \(certificate "):
        request_access(app, [store["b0.bin"]], "analysis", 30, "US")
    monkeypatch.undo()
    with pytest.raises(NotFoundError, match="was deleted on"):  # and afterwards, of course
        request_access(app, [store["b0.bin"]], "analysis", 30, "US")
    assert _types(app).count("access.requested") == 1  # only grant_self's


# -- 4. times follow the log's order ---------------------------------------------------
def _first_entering(module: Any, monkeypatch: pytest.MonkeyPatch, competitor: Callable[[], None]) -> None:
    """Run ``competitor`` (to its commit) as ``module`` begins its transaction: after it read the clock."""
    real = module.transaction
    done: list[bool] = []

    @contextlib.contextmanager
    def racing(engine: Any) -> Iterator[Any]:
        if not done:
            done.append(True)
            competitor()
        with real(engine) as conn:
            yield conn

    monkeypatch.setattr(module, "transaction", racing)


def test_a_hold_placed_while_a_deletion_commits_is_stamped_after_it(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import governance.retention

    _first_entering(governance.retention, monkeypatch, _delete(app, store["b0.bin"]))
    hold = place_hold(app, "subpoena", dataset="a")
    with app.engine.connect() as conn:
        deleted_at = conn.execute(select(t.artifacts.c.deleted_at).where(t.artifacts.c.id == store["b0.bin"])).scalar()
    assert hold["placed_at"] >= deleted_at.isoformat()[:19]
    _times_follow_log_order(app)


def test_a_deletion_committing_after_a_hold_is_stamped_after_it(app, store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import governance.deletion

    _first_entering(governance.deletion, monkeypatch, lambda: place_hold(app, "subpoena", dataset="a") and None)
    delete_artifact(app, store["b0.bin"], "withdrawn", before_retention_end=True)
    _times_follow_log_order(app)


# -- issue 13 item 4: the fetch is recorded before plaintext; leftovers are cleaned ----
def test_the_fetch_is_recorded_before_the_first_plaintext_byte_into_a_new_0600_file(app, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a1.bin"
    seen: dict[str, Any] = {}

    def look() -> None:  # the write pass has just opened the object
        parts = list(tmp_path.glob(".a1.bin.qgov-*.part"))
        seen["fetched"] = "artifact.fetched" in _types(app)
        seen["parts"] = [(stat.S_IMODE(p.stat().st_mode), p.stat().st_size) for p in parts]

    app.blobs.backend = _OnOpen(app.blobs.backend, 2, look)
    fetch(app, store["a1.bin"], out)
    assert seen == {"fetched": True, "parts": [(0o600, 0)]}
    assert not list(tmp_path.glob(".*.part"))


def test_a_fetch_removes_what_a_killed_fetch_to_the_same_place_left(app, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dead = subprocess.Popen(["true"])  # noqa: S607 - its pid names a fetch that is gone
    dead.wait()
    leftover = tmp_path / f".a1.bin.qgov-{dead.pid}-0badc0de.part"
    leftover.write_bytes(b"plaintext of a killed fetch")
    live = tmp_path / f".a1.bin.qgov-{os.getppid()}-0000live.part"  # a fetch still running: left alone
    live.write_bytes(b"")
    other = tmp_path / f".other.bin.qgov-{dead.pid}-0badc0de.part"  # another destination's: not ours to judge
    other.write_bytes(b"")
    fetch(app, store["a1.bin"], tmp_path / "a1.bin")
    assert not leftover.exists() and live.exists() and other.exists()
    assert hashlib.sha256((tmp_path / "a1.bin").read_bytes()).hexdigest() == next(
        a.sha256 for a in list_artifacts(app) if a.id == store["a1.bin"]
    )
