"""Whatever qgov starts stops with it: the temporary Prefect server of a `qgov ingest` that is
killed with SIGKILL goes away, and a Prefect server that cannot start is an error, not exit 0.

These runs use Prefect's temporary local server (no PREFECT_API_URL), as a user's first
ingest does."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import QGOV

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # about processes, not the database


def _environ(env: dict[str, str], **extra: str) -> dict[str, str]:
    environ = {**os.environ, **env, **extra}
    environ.pop("PREFECT_API_URL", None)
    environ.pop("PREFECT_HOME", None)
    return environ


def _run(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QGOV, *args], env=environ, capture_output=True, text=True, timeout=300, check=False)


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's (init's) reaping is left


def _store(environ: dict[str, str], tmp_path: Path, files: int) -> Path:
    assert _run(environ, "init").returncode == 0
    assert _run(environ, "dataset", "register", "shots", "--subject-type", "none").returncode == 0
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(files):
        (folder / f"shot-{i:04d}.bin").write_bytes(os.urandom(4096))
    return folder


@pytest.mark.slow
def test_sigkill_of_ingest_takes_its_prefect_server_along(env: dict[str, str], tmp_path: Path) -> None:
    environ = _environ(env)
    folder = _store(environ, tmp_path, 300)
    proc = subprocess.Popen(
        [QGOV, "ingest", str(folder), "-d", "shots"], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline and not children:
            children = _children(proc.pid)  # the Prefect server qgov started
            time.sleep(0.05)
        assert children, "qgov ingest started no child process (or finished before one was seen)"
        time.sleep(1)  # the server is now importing or serving
        children |= _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in children:  # only the processes this test saw started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_prefect_server_that_cannot_start_is_a_one_line_error(env: dict[str, str], tmp_path: Path) -> None:
    environ = _environ(env)
    folder = _store(environ, tmp_path, 2)
    broken = _environ(
        env,
        # a database Prefect's server cannot open: its start-up fails ("Application startup failed")
        PREFECT_API_DATABASE_CONNECTION_URL="sqlite+aiosqlite:////dev/null/nowhere/prefect.db",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="10",
    )
    failed = _run(broken, "ingest", str(folder), "-d", "shots")
    assert failed.returncode == 1
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "Prefect's local server could not start" in lines[0] and "server.log" in lines[0]
    assert "Application startup failed" not in failed.stderr  # the server's own output is in its log
