"""A lab and a running `qgov serve` for the API's end-to-end tests (stopped by its PID)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person
from tests.conftest import QGOV

TRAINED = (date.today() - timedelta(days=30)).isoformat()
CONTENT = b"q,t1\n0,50\n1,48\n"
PEOPLE = (
    ("li", "CN", "researcher"),
    ("ann", "US", "researcher"),
    ("olga", "US", "export_control_officer"),
    ("aud", "US", "auditor"),
    ("rita", "US", "researcher"),
    ("rob", "US", "researcher"),
)


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    """A fresh database of ``kind`` (sqlite | postgresql) for a module-scoped store."""
    import uuid

    from tests.conftest import _admin_conn, _pg_base

    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'qgov.db'}"
        return
    base = _pg_base()
    assert base is not None
    name = f"qgov_{uuid.uuid4().hex[:12]}"
    with _admin_conn(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with _admin_conn(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def qgov(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QGOV, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )


def build_lab(app: App, tmp_path: Path) -> dict[str, str]:
    """A controlled dataset and an EAR99 one; a CN researcher, a US researcher, an officer, an auditor."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_bytes(CONTENT)
    ids = {}
    for name, subject, research in (
        (
            "sponsor",
            {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
            {"restrictions_accepted": True},
        ),
        ("generic", {"type": "none"}, {}),
    ):
        register_dataset(app, DatasetSpec(name=name, owner="alice", subject=subject, research=research))
        plan = plan_ingest(app, folder, name)
        finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
        ids[name] = list_artifacts(app, name)[0].id
    for person, citizenship, role in PEOPLE:
        register_person(app, Person(person, [citizenship], False, None, "US", "Lab B", TRAINED), [role])
    return ids


def issue_tokens(env: dict[str, str], people: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for person in people:
        made = qgov(env, "token", "create", person, "--json")
        assert made.returncode == 0, made.stderr
        out[person] = json.loads(made.stdout)
    return out


@contextmanager
def running_server(env: dict[str, str]) -> Iterator[str]:
    """`qgov serve` on a free loopback port; SIGTERM at the end must stop it with exit 0."""
    port = free_port()
    proc = subprocess.Popen(
        [QGOV, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            if proc.poll() is not None:
                raise AssertionError(f"qgov serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise AssertionError("qgov serve did not answer within 60 s")
        yield base
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, "SIGTERM must stop the server cleanly"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]
