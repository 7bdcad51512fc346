"""SIGKILL `qgov ingest` at random points; nothing acknowledged is lost, nothing half-written stays.

Each round adds new files to the source tree and starts `qgov ingest` as a separate
process (its own process group, so Prefect children die with it), then kills it:
either after a random delay, or a random moment after it began staging ciphertext.
After every kill: every committed artifact decrypts to its hash, the provenance chain
verifies, SQLite's integrity check passes. A last run completes everything exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from governance import tables as t
from governance.audit import verify_blobs, verify_log
from governance.catalog import DatasetSpec, register_dataset
from tests.conftest import QGOV

ROUNDS = int(os.environ.get("QGOV_CRASH_ROUNDS", "20"))


def _add_files(root: Path, round_no: int, rng: random.Random) -> None:
    folder = root / f"round-{round_no:02d}"
    folder.mkdir(parents=True)
    sizes = [rng.randint(1, 50_000) for _ in range(6)] + [rng.randint(512 << 10, 2 << 20) for _ in range(3)] + [4 << 20]
    for i, size in enumerate(sizes):
        (folder / f"shot-{i:02d}.bin").write_bytes(rng.randbytes(size))


def _check(app, env: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """The invariants after a crash; returns how many artifacts are committed."""
    assert verify_log(app).ok
    check = verify_blobs(app)
    assert check.bad == [], check.bad
    if env["QGOV_DATABASE_URL"].startswith("sqlite"):
        with sqlite3.connect(env["QGOV_DATABASE_URL"].removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with app.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.artifacts)).scalar_one())


@pytest.mark.slow
def test_sigkill_at_random_points_loses_nothing_acknowledged(app, env, prefect_api: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    register_dataset(app, DatasetSpec(name="shots", owner="alice"))
    rng = random.Random(20261125)
    source = tmp_path / "source"
    environ = dict(os.environ, **env, PREFECT_API_URL=prefect_api)
    staging = Path(app.settings.storage_url) / "tmp"
    killed_mid_run = 0
    committed = 0
    for round_no in range(ROUNDS):
        _add_files(source, round_no, rng)
        proc = subprocess.Popen(
            [QGOV, "ingest", str(source), "-d", "shots", "--batch-files", "3"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if round_no % 2:
            time.sleep(rng.uniform(0.5, 4.0))
        else:  # wait until it is writing ciphertext, then strike
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None and not any(staging.glob("*.part")):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            killed_mid_run += 1
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        now = _check(app, env)
        assert now >= committed  # an acknowledged artifact never disappears
        committed = now
    final = subprocess.run(
        [QGOV, "ingest", str(source), "-d", "shots", "--json"], env=environ, capture_output=True, text=True, timeout=600
    )
    assert final.returncode == 0, final.stderr
    total_files = sum(1 for p in source.rglob("*") if p.is_file())
    assert _check(app, env) == total_files  # everything, exactly once
    assert not list(staging.glob("*.part"))  # leftovers of killed runs were swept
    assert killed_mid_run >= ROUNDS // 2, f"only {killed_mid_run} of {ROUNDS} kills landed while ingest ran"


# -- fetch, delete --yes and release under SIGKILL (issue 13) ---------------------------
KILLS = int(os.environ.get("QGOV_CRASH_KILLS", "20"))


class _Strikes:
    """Start a CLI command, SIGKILL it after a random delay within a measured full run, count."""

    def __init__(self, environ: dict[str, str], rng: random.Random) -> None:
        self.environ, self.rng = environ, rng
        self.full_run = 0.0  # seconds an uncut run takes, measured by the first call
        self.landed = self.finished = 0

    def run(self, *args: str, cut: bool = True, at: Callable[[], bool] | None = None) -> bool:
        """True when the kill landed while the command ran (``cut=False``: let it finish).

        With ``at``, strike within 50 ms of ``at()`` turning true (polled every 10 ms), to land
        in a narrow window; otherwise after a random delay within a full run."""
        proc = subprocess.Popen(
            [QGOV, *args],
            env=self.environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        started = time.monotonic()
        if not self.full_run or not cut:  # the first run calibrates: it finishes
            assert proc.wait(timeout=300) == 0, f"qgov {' '.join(args)} failed uncut"
            self.full_run = self.full_run or time.monotonic() - started
            self.finished += 1
            return False
        try:
            if at is not None:
                while proc.poll() is None and not at() and time.monotonic() - started < 3 * self.full_run:
                    time.sleep(0.01)
                proc.wait(timeout=self.rng.uniform(0.0, 0.05))
            else:
                proc.wait(timeout=self.rng.uniform(0.1, self.full_run))
            self.finished += 1
            return False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            self.landed += 1
            return True

    def enough(self, rounds: int) -> bool:
        return self.landed >= KILLS or rounds >= 3 * KILLS


def _event_count(app, event_type: str) -> int:  # type: ignore[no-untyped-def]
    from lineage import schema

    with app.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(schema.events).where(schema.events.c.type == event_type)
            ).scalar_one()
        )


def _deleted(app, artifact: str) -> bool:  # type: ignore[no-untyped-def]
    from governance.db import snapshot  # reads without taking SQLite's write lock from the command

    with snapshot(app.engine) as conn:
        return conn.execute(select(t.artifacts.c.deleted_at).where(t.artifacts.c.id == artifact)).scalar() is not None


def _reserved(app) -> int:  # type: ignore[no-untyped-def]
    from governance.db import snapshot

    with snapshot(app.engine) as conn:
        return len(conn.execute(select(t.releases.c.id).where(t.releases.c.status == "reserved")).all())


def _integrity(app) -> None:  # type: ignore[no-untyped-def]
    assert verify_log(app).ok
    check = verify_blobs(app)
    assert check.bad == [], check.bad


def _ingest_files(app, folder: Path, dataset: str, files: dict[str, bytes], **spec) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from governance.catalog import list_artifacts
    from governance.ingest import finish_run, ingest_batch, plan_ingest

    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    register_dataset(app, DatasetSpec(name=dataset, owner="alice", **spec))
    plan = plan_ingest(app, folder, dataset)
    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    return {a.path: a.id for a in list_artifacts(app, dataset)}


_OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}


@pytest.mark.slow
def test_sigkilled_fetches_leave_no_plaintext_but_the_output_and_never_an_unrecorded_one(
    app, env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import hashlib
    import re
    import stat

    from tests.conftest import grant_self

    rng = random.Random(20261206)
    plaintext = rng.randbytes(32 << 20)
    ids = _ingest_files(app, tmp_path / "src", "shots", {"big.bin": plaintext}, **_OPEN)
    grant_self(app, [ids["big.bin"]])
    sha = hashlib.sha256(plaintext).hexdigest()
    (tmp_path / "src" / "big.bin").unlink()  # from here the only plaintext is what fetch writes
    out = tmp_path / "out"
    out.mkdir()
    part = re.compile(r"\.big\.bin\.qgov-\d+-[0-9a-f]{8}\.part")
    marker = plaintext[: 1 << 10]
    strikes = _Strikes(dict(os.environ, **env), rng)
    found = {"parts_left": 0, "largest_part": 0, "outputs": 0, "recorded_without_output": 0}
    rounds = 0
    earlier: set[str] = set()
    while not strikes.enough(rounds):
        rounds += 1
        (out / "big.bin").unlink(missing_ok=True)
        before = _event_count(app, "artifact.fetched")
        seen = frozenset(earlier)
        writing = (
            (lambda s=seen: any(part.fullmatch(n) and n not in s for n in os.listdir(out))) if rounds % 2 else None
        )
        strikes.run("fetch", ids["big.bin"], "-o", str(out / "big.bin"), at=writing)
        recorded = _event_count(app, "artifact.fetched") - before
        parts = []
        for name in os.listdir(out):
            path = out / name
            if name == "big.bin":  # the requested output is complete and verified, or absent
                assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
                assert recorded == 1
                found["outputs"] += 1
                continue
            assert part.fullmatch(name), f"unexpected file {name} beside the output"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            parts.append(path)
        new = [p for p in parts if p.name not in earlier]  # the others: a run killed before it cleaned up
        earlier |= {p.name for p in parts}
        if new:  # plaintext was being written: its fetch is already in the log
            assert recorded == 1
            found["parts_left"] += 1
            found["largest_part"] = max(found["largest_part"], *(p.stat().st_size for p in new))
        elif recorded and not (out / "big.bin").exists():
            found["recorded_without_output"] += 1
        for path in Path(env["QGOV_HOME"]).rglob("*"):  # nothing in the store holds plaintext
            assert not path.is_file() or marker not in path.read_bytes(), path
        _integrity(app)
    strikes.run("fetch", ids["big.bin"], "-o", str(out / "big.bin"), cut=False)  # the next run cleans leftovers
    assert sorted(os.listdir(out)) == ["big.bin"]
    print(f"fetch harness: {strikes.landed} kills in {rounds} rounds ({strikes.full_run:.1f} s a run): {found}")
    assert strikes.landed >= KILLS


@pytest.mark.slow
def test_sigkilled_deletions_are_all_or_nothing_and_the_sweep_finishes_them(app, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from governance.deletion import check_certificate, get_certificate
    from governance.requests import Person, register_person
    from governance.sweep import sweep
    from storage import object_key

    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", "2026-01-01"), ["admin"])
    rng = random.Random(20261207)
    files = {f"f{i:02d}.bin": rng.randbytes(rng.randint(1, 256 << 10)) for i in range(3 * KILLS + 1)}
    ids = _ingest_files(app, tmp_path / "src", "shots", files, **_OPEN)
    strikes = _Strikes(dict(os.environ, **env), rng)
    found = {"not_started": 0, "shredded_ciphertext_left": 0, "complete": 0}
    blobs = Path(app.settings.storage_url)
    rounds = 0
    for name in sorted(ids):
        if strikes.enough(rounds):
            break
        rounds += 1
        artifact = ids[name]
        committed = (lambda a=artifact: _deleted(app, a)) if rounds % 2 else None
        strikes.run("delete", artifact, "--yes", "--before-retention-end", "--reason", f"round {rounds}", at=committed)
        with app.engine.connect() as conn:
            row = conn.execute(select(t.artifacts).where(t.artifacts.c.id == artifact)).one()
            key = conn.execute(select(t.blobs).where(t.blobs.c.object_id == row.sha256)).one()
            certificate = conn.execute(
                select(t.deletion_certificates).where(t.deletion_certificates.c.id == row.deletion_certificate)
            ).first()
        parts = (row.deleted_at is not None, key.wrapped_key is None, certificate is not None)
        assert parts in ((False, False, False), (True, True, True)), f"half a deletion of {name}: {parts}"
        left = (blobs / object_key(row.sha256)).exists()
        if not parts[0]:
            assert left
            found["not_started"] += 1
        else:
            found["shredded_ciphertext_left" if left else "complete"] += 1
            signed = get_certificate(app, row.deletion_certificate)
            assert check_certificate(signed, [app.signer.verifier_key()], None)["reason"] == f"round {rounds}"
        _integrity(app)
    sweep(app, act=True)  # finishes every removal a kill interrupted
    with app.engine.connect() as conn:
        shredded = [r.object_id for r in conn.execute(select(t.blobs).where(t.blobs.c.wrapped_key.is_(None)))]
    assert shredded and not any((blobs / object_key(s)).exists() for s in shredded)
    assert _event_count(app, "artifact.deleted") == len(shredded)
    _integrity(app)
    print(f"delete harness: {strikes.landed} kills in {rounds} rounds ({strikes.full_run:.1f} s a run): {found}")
    assert strikes.landed >= KILLS


@pytest.mark.slow
def test_sigkilled_releases_never_publish_uncharged_and_the_ledger_adds_up(app, env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fractions import Fraction

    from governance.privacy import budget_show, set_profile
    from governance.releases import queued, reconcile, run_release
    from governance.requests import Person, register_person
    from governance.sample_data import calibration_table

    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", "2026-01-01"), ["admin"])
    table = calibration_table(qubits=24, seed=3).to_csv(index=False).encode()
    _ingest_files(app, tmp_path / "src", "calib", {"calibration.csv": table}, **_OPEN)
    profile = {
        "contributions": 1,
        "budget": {"epsilon": "20", "delta": "0"},
        "columns": {"t1_us": {"bounds": [0, 400]}},
    }
    set_profile(app, "calib", profile)
    rng = random.Random(20261208)
    strikes = _Strikes(dict(os.environ, **env), rng)
    rounds = 0
    while not strikes.enough(rounds):
        rounds += 1
        eps = f"0.{100 + rounds}"  # a new question each round (the same one again would be free)
        stuck = _reserved(app)  # left reserved by earlier kills
        reserved = (lambda n=stuck: _reserved(app) > n) if rounds % 2 else None
        strikes.run(
            "release", "calib", "--stat", "mean", "--column", "t1_us", "--epsilon", eps, "--purpose", "p", at=reserved
        )
        shown = budget_show(app, "calib")
        exact = shown["exact"]
        assert shown["ledger_consistent"], exact
        statuses = {r["release_id"]: r["status"] for r in shown["releases"]}
        with app.engine.connect() as conn:
            rows = conn.execute(select(t.releases)).all()
        spent = sum(Fraction(r.epsilon) for r in rows if r.status == "released")
        held = sum(Fraction(r.epsilon) for r in rows if r.status == "reserved")
        assert Fraction(exact["spent_epsilon"]) == spent and Fraction(exact["reserved_epsilon"]) == held, statuses
        # approved and not yet run (killed before reserving) waits for 'qgov releases run'
        assert set(statuses.values()) <= {"approved", "released", "failed", "reserved"}, statuses
        assert _event_count(app, "release.published") == sum(r.status == "released" for r in rows)
        assert verify_log(app).ok
    with app.engine.connect() as conn:
        rows = conn.execute(select(t.releases)).all()
    for release in queued(app, "approved"):  # what 'qgov releases run' does
        run_release(app, release)
    stuck = [r.id for r in rows if r.status == "reserved"]
    for release in stuck:  # a kill between reserving and publishing: an admin settles it (fail closed till then)
        reconcile(app, "calib", release, "refund", "the process was killed before any value existed")
    shown = budget_show(app, "calib")
    assert shown["ledger_consistent"] and Fraction(shown["exact"]["reserved_epsilon"]) == 0
    counts = {s: sum(r.status == s for r in rows) for s in ("approved", "released", "failed", "reserved")}
    print(f"release harness: {strikes.landed} kills in {rounds} rounds ({strikes.full_run:.1f} s a run): {counts}")
    assert strikes.landed >= KILLS
