"""`qgov demo --server`: the service as a lab uses it, four people with four tokens over HTTP.

A store of its own (under a fresh work directory) is set up by its admin, then `qgov serve`
runs as a separate process, the only one holding the keys; the researcher, the officer, the
data manager and the auditor reach it with tokens only. The server is stopped by its PID.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.config import load_settings
from governance.identity import create_token
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.keys import create_key_file
from governance.os_account import os_account
from governance.os_identity import register_initial_admin
from governance.policy_store import publish_default_policy
from governance.requests import Person, register_person
from governance.sample_data import write_sample_folder
from governance.serve_process import serving
from qgov.errors import InputError

PEOPLE = (
    ("dana", "US", "data_manager", "registers and ingests the lab's data"),
    ("li", "CN", "researcher", "a Chinese national working in the lab in the US"),
    ("olga", "US", "export_control_officer", "decides what needs a licence"),
    ("aud", "US", "auditor", "reads every record, changes nothing"),
)


def run_server_demo(workdir: Path | None, console: Console) -> dict[str, Any]:
    import httpx

    root = (workdir or Path(tempfile.mkdtemp(prefix="qgov-server-demo-"))).resolve()
    if root.exists() and any(root.iterdir()):
        raise InputError(f"--workdir {root}: not empty; choose an empty or new directory")
    root.mkdir(parents=True, exist_ok=True)
    env = {"QGOV_HOME": str(root / "home")}

    def say(title: str, text: str = "") -> None:
        console.print(f"\n[bold cyan]▶ {title}[/]" + (f"\n  {text}" if text else ""))

    say("The admin sets up the store", f"{root / 'home'} — only the service will read its keys")
    core = App(load_settings(env).model_copy(update={"user": "admin"}))
    create_key_file(core)
    # as 'qgov init' does: the built-in policy, and the admin mapped to your account (so that
    # 'qgov …' with this QGOV_HOME acts as the admin afterwards)
    publish_default_policy(core)
    register_initial_admin(core, core.user, os_account())
    trained = date.today().isoformat()
    for name, citizenship, role, _ in PEOPLE:
        register_person(core, Person(name, [citizenship], False, None, "US", "Lab B", trained), [role])
    folder = write_sample_folder(root / "data" / "run-2026-03")
    spec = DatasetSpec(
        name="transmon-calibration-2026-03",
        owner="dana",
        subject={"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
        research={"fundamental": False, "restrictions_accepted": True},
        sponsor="Sponsor X",
    )
    register_dataset(core.acting_for("dana"), spec)
    dana = core.acting_for("dana")
    plan = plan_ingest(dana, folder, spec.name)
    finish_run(dana, plan, ingest_batch(dana, plan, plan.files), datetime.now(UTC), 0)
    artifact = next(a for a in list_artifacts(core, spec.name) if a.path.endswith(".csv"))
    tokens = {name: create_token(core, name, 1, "qgov demo --server").token for name, *_ in PEOPLE}
    core.close()
    for name, _, role, what in PEOPLE:
        console.print(f"  token for [bold]{name}[/] ({role}: {what})")

    with serving(env) as served:
        base = served.base
        say("qgov serve is running", f"{base}/api/v1 — the only process holding the keys and the database")

        def call(who: str, method: str, path: str, body: Any = None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[who]}"}
            return httpx.request(method, f"{base}/api/v1{path}", headers=headers, json=body, timeout=120)

        me = call("li", "GET", "/whoami").json()
        console.print(f"  whoami (li's token): {me['name']}, roles {me['roles']}, by {me['authenticated_by']}")
        anonymous = httpx.get(f"{base}/api/v1/whoami")
        console.print(f"  no token: {anonymous.status_code} {anonymous.json()['detail']}")

        say("Li asks for the controlled calibration table", f"{artifact.path} ({artifact.id[:8]}…)")
        req = call("li", "POST", "/access-requests", {"artifact": artifact.id, "purpose": "readout study", "days": 30})
        request = req.json()
        console.print(f"  {req.status_code}: outcome {request['outcome']}, status {request['status']}")

        say("Li tries to approve her own request")
        own = call("li", "POST", f"/access-requests/{request['id']}/approve", {"licence": "none"})
        console.print(f"  [red]{own.status_code}[/] {own.json()['detail']}")
        refused = call("li", "GET", f"/artifacts/{artifact.id}/content")
        console.print(f"  download before a decision: [red]{refused.status_code}[/] {refused.json()['detail']}")

        say("The auditor reads every request but cannot decide")
        page = call("aud", "GET", "/access-requests").json()
        console.print(f"  {page['total']} request(s) visible to the auditor")
        audit_try = call("aud", "POST", f"/access-requests/{request['id']}/approve", {"licence": "x"})
        console.print(f"  auditor approving: [red]{audit_try.status_code}[/] {audit_try.json()['detail']}")

        say("The officer approves under a licence")
        ok = call("olga", "POST", f"/access-requests/{request['id']}/approve", {"licence": "BIS licence D123456"})
        console.print(f"  {ok.status_code}: status {ok.json()['status']}, grant {ok.json()['grants'][0]['id'][:8]}…")

        say("Li downloads it: verified whole, logged, then streamed")
        got = call("li", "GET", f"/artifacts/{artifact.id}/content")
        digest = hashlib.sha256(got.content).hexdigest()
        console.print(f"  {got.status_code}: {len(got.content)} bytes, SHA-256 matches: {digest == artifact.sha256}")
    console.print(
        f"\n[bold green]done[/] — the server was stopped; explore with QGOV_HOME={root / 'home'} qgov audit events"
    )
    return {
        "home": str(root / "home"),
        "own_approval_status": own.status_code,
        "download_status": got.status_code,
        "verified": digest == artifact.sha256,
    }


__all__ = ["run_server_demo"]
