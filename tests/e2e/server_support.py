"""A lab and a running `qgov serve` for the API's end-to-end tests (stopped by its PID)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.requests import Person, register_person
from governance.serve_process import serving
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


def new_store(env: dict[str, str]) -> App:
    """A fresh store for ``env`` as ``qgov init --name alice`` makes it (key file, signing key on
    first use, the built-in policy, alice as admin mapped to this operating-system account), open
    and acting for alice."""
    from governance.config import load_settings
    from governance.keys import create_key_file
    from governance.os_account import os_account
    from governance.os_identity import register_initial_admin
    from governance.policy_store import publish_default_policy

    core = App(load_settings(env).model_copy(update={"user": "alice"}))
    create_key_file(core)
    publish_default_policy(core)
    register_initial_admin(core, "alice", os_account())
    return core


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
    with serving(env) as served:
        yield served.base
    assert served.exit_code == 0, f"SIGTERM must stop the server cleanly (exit {served.exit_code})"
