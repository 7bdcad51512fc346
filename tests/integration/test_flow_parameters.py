"""Flows are called with ids and a principal: Prefect never stores settings or secrets.

Prefect keeps every flow run's parameters in its database. Before this test's fix, flows
took the whole ``Settings`` (database URL with its password, KEK JSON, token) as a parameter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from flows.ingest import ingest_flow
from flows.session import flow_args
from governance.app import App
from governance.catalog import DatasetSpec, register_dataset

SECRET = "s3cret-Pw-4711"


def _with_password(url: str) -> str:
    """The store's database URL carrying a password.

    PostgreSQL: a real password in the URL (the test server trusts local connections, so it
    is sent and ignored). SQLite has no passwords: a fake ``?password=`` query parameter,
    which SQLAlchemy ignores with a warning, stands in for it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(password=SECRET).render_as_string(hide_password=False)
    return f"{url}?password={SECRET}"


@pytest.mark.filterwarnings("ignore:Query string argument")
def test_ingest_flow_run_parameters_hold_no_secret(app, run_flow, tmp_path: Path, prefect_api: str) -> None:  # type: ignore[no-untyped-def]
    url = _with_password(app.settings.database_url)
    started = datetime.now(UTC) - timedelta(seconds=5)
    secret_app = App(app.settings.model_copy(update={"database_url": url}))
    try:
        register_dataset(
            secret_app,
            DatasetSpec(
                name="calib",
                owner="alice",
                subject={"type": "quantum_computer", "physical_qubits": 27},
                research={"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False},
            ),
        )
        data = tmp_path / "data"
        data.mkdir()
        (data / "a.txt").write_text("hello")
        report = run_flow(ingest_flow, *flow_args(secret_app.settings), str(data), "calib")
        assert report.ingested == 1  # the flow really ran against the store with the password URL
    finally:
        secret_app.close()

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api}), get_client(sync_client=True) as client:
        # this store's runs only: Prefect's database is shared with every other test's flows
        home = str(app.settings.home)
        recent = FlowRunFilter(start_time=FlowRunFilterStartTime(after_=started))
        runs = [r for r in client.read_flow_runs(flow_run_filter=recent) if r.parameters.get("home") == home]
        assert runs, "the ingest flow run was not found in Prefect's database"
        for run in runs:
            stored = json.dumps(client.read_flow_run(run.id).parameters, default=str)
            assert SECRET not in stored
            assert url not in stored and "postgresql" not in stored and "sqlite" not in stored
            assert set(client.read_flow_run(run.id).parameters) >= {"home", "principal", "path", "dataset"}
            assert client.read_flow_run(run.id).parameters["principal"] == app.settings.user
