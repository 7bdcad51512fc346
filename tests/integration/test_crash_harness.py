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
