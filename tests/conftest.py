"""Shared fixtures: a database per test on SQLite and on PostgreSQL, a store, a Prefect server.

PostgreSQL comes from ``scripts/test.sh`` (``QGOV_TEST_PG_URL``). Under ``CI=true`` a
missing server fails the run instead of skipping: those tests must run in CI.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests check behaviour, not speed (benchmarks/ measures speed): a loaded CI machine
# must not fail them for taking more than hypothesis's default 200 ms per example.
settings.register_profile("qgov", deadline=None)
settings.load_profile("qgov")

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
QGOV = str(VENV_BIN / "qgov")

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The CLI's own default (flows/runtime.py): Prefect's exit-time warnings are not ours to print.
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def _pg_base() -> str | None:
    url = os.environ.get("QGOV_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("QGOV_TEST_PG_URL is not set: PostgreSQL tests must run in CI (use 'make test')")
        pytest.skip("PostgreSQL not available (run the suite with 'make test')")
    return url


def _admin_conn(base: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'qgov.db'}"
        return
    base = _pg_base()
    assert base is not None
    name = f"qgov_{uuid.uuid4().hex[:12]}"
    with _admin_conn(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + f"/{name}"
    with _admin_conn(base) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> dict[str, str]:
    """qgov settings for one test (as environment variables)."""
    return {
        "QGOV_HOME": str(tmp_path / "home"),
        "QGOV_DATABASE_URL": db_url,
    }


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[object]:
    """An initialised store: schema, key file, the built-in policy, and alice as admin.

    In-process, the App acts for whom its settings name (as the server does after sign-in);
    the command line's own identity (the operating-system account) is tested end to end."""
    from governance.app import App
    from governance.catalog import grant_initial_admin
    from governance.config import load_settings
    from governance.db import transaction
    from governance.keys import create_key_file
    from governance.os_account import map_account, os_account

    qg = App(load_settings(env).model_copy(update={"user": "alice"}))
    create_key_file(qg)
    grant_initial_admin(qg)
    with transaction(qg.engine) as conn:  # as `qgov init --name alice` would: the CLI acts as alice
        map_account(conn, "alice", os_account(), "alice")
    yield qg
    qg.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server for the session (how qgov runs at scale), stopped by its PID."""
    home = tmp_path_factory.mktemp("prefect")
    port = _free_port()
    environ = dict(os.environ, PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    environ.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.25)
        if proc.poll() is not None:
            pytest.fail(f"Prefect server exited: {(home / 'server.log').read_text()[-2000:]}")
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("Prefect server did not start within 120 s")
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def stop_prefect_event_workers() -> None:
    """Stop Prefect's event workers in this process (and with them their websockets).

    A flow run in-process starts an events worker on Prefect's global event-loop thread; its
    websocket to the server pings on connect, on every checkpoint and every 20 s of keepalive,
    and each ping draws its payload from the *global* ``random`` (``websockets``:
    ``random.getrandbits(32)``). Left running, it changes ``random``'s state in the middle of a
    later test's hypothesis draw in the same xdist worker, which hypothesis reports as a
    HypothesisDeprecationWarning (an error under ``filterwarnings = error``)."""
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10, at_exit=False)


@pytest.fixture
def run_flow(prefect_api: str):  # type: ignore[no-untyped-def]
    """Call a flow in-process against the session's Prefect server; the event worker it starts
    is stopped at the end of the test (see :func:`stop_prefect_event_workers`)."""
    from flows.runtime import flow_settings

    def _run(flow, *args, **kwargs):  # type: ignore[no-untyped-def]
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: prefect_api}), flow_settings():
            return flow(*args, **kwargs)

    yield _run
    stop_prefect_event_workers()


@pytest.fixture
def cli(env: dict[str, str], prefect_api: str):  # type: ignore[no-untyped-def]
    """Run the installed ``qgov`` command as a user would; returns the CompletedProcess."""

    def _cli(
        *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300, acting_as: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``qgov ARGS`` as this test's operating-system account, which ``cli("init", "--name",
        "alice")`` maps to the admin alice; ``acting_as`` runs it as ``qgov --as NAME`` (the
        admin acting for another person, recorded as such)."""
        environ = {**os.environ, **env, "PREFECT_API_URL": prefect_api, **(extra_env or {})}
        prefix = ["--as", acting_as] if acting_as else []
        return subprocess.run(
            [QGOV, *prefix, *args], env=environ, capture_output=True, text=True, timeout=timeout, check=False
        )

    return _cli


@pytest.fixture(scope="session")
def whatif_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An initialised store (SQLite, alice admin) for what-if commands run outside ``cli``:
    every command but ``init`` refuses a store that does not exist (ADR 0025)."""
    home = tmp_path_factory.mktemp("whatif") / "home"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QGOV_")}
    environ |= {"QGOV_HOME": str(home), "QGOV_USER": "alice"}
    done = subprocess.run([QGOV, "init"], env=environ, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return str(home)


@pytest.fixture
def in_whatif_store(whatif_home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run with os.environ act in :func:`whatif_home`."""
    monkeypatch.delenv("QGOV_DATABASE_URL", raising=False)
    monkeypatch.setenv("QGOV_HOME", whatif_home)
    monkeypatch.setenv("QGOV_USER", "alice")


@pytest.fixture(scope="session")
def sample_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from governance.sample_data import write_sample_folder

    return write_sample_folder(tmp_path_factory.mktemp("sample") / "run-2026-03")


@pytest.fixture(scope="session")
def dvc_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from governance.sample_data import write_dvc_repo

    return write_dvc_repo(tmp_path_factory.mktemp("dvc") / "calibration-pipeline")


def grant_self(app, artifacts: list[str]) -> str:  # type: ignore[no-untyped-def]
    """Register the acting user as a trained US person and let policy grant them ``artifacts``."""
    from datetime import date

    from governance.requests import Person, register_person, request_access

    register_person(app, Person(app.user, ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["admin"])
    result = request_access(app, artifacts, "test", 30, "US")
    assert result["status"] == "granted", result
    return str(result["grant"])


def cli_add_self(cli) -> None:  # type: ignore[no-untyped-def]
    """Register the acting user (alice) through the command line: a trained US admin."""
    from datetime import date

    added = cli(
        "person",
        "add",
        "alice",
        "--citizenship",
        "US",
        "--location",
        "US",
        "--affiliation",
        "Lab B",
        "--training-completed-on",
        date.today().isoformat(),
        "--role",
        "admin",
    )
    assert added.returncode == 0, added.stderr


def cli_grant_self(cli, artifacts: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The same through the command line."""
    import json

    cli_add_self(cli)
    args = [a for artifact in artifacts for a in ("--artifact", artifact)]
    granted = cli("access", "request", *args, "--purpose", "test", "--json")
    assert granted.returncode == 0 and json.loads(granted.stdout)["status"] == "granted", granted.stderr


@pytest.fixture(scope="session")
def dvc_pipeline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project shaped like DVC's example-get-started, its data pushed to a directory
    remote (see tests/dvc_pipeline.py); tests ``clone`` it to get a workspace without data."""
    from tests.dvc_pipeline import write_pipeline

    base = tmp_path_factory.mktemp("dvc-pipeline")
    return write_pipeline(base / "example-get-started", base / "remote")
