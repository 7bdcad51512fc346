"""The command-line contract (DESIGN.md, docs/adr/0025), command by command.

Every command of the Typer app has a row in :data:`ROWS`: how it succeeds and how it fails in
one store built once for this module. For each row the test checks the exit code, that
``--json`` prints exactly one JSON document on stdout on success and an error document on
failure, that a result without ``--json`` goes to stdout and an error to stderr as one line,
and that a command refuses a store that does not exist (exit 4, naming where it looked). The
list of commands comes from the app: a new command without a row fails
:func:`test_every_command_has_a_row`, naming it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from tests.conftest import QGOV

AS = "--as"  # in a row's env: run ``qgov --as NAME ...`` (alice, the admin, acting for NAME)
OFFICER = {AS: "olga"}
RESEARCHER = {AS: "bob"}
NOBODY = {AS: "nobody"}  # not a registered person: refused (exit 3)


@dataclass(frozen=True)
class Row:
    """How one command succeeds (``ok``; ``ok_text`` for the run without --json when the
    first consumed its object) and fails (``bad`` with exit code ``bad_code``). Arguments are
    format strings over the module's store (:func:`world`). ``ok`` is None only with ``why``."""

    ok: list[str] | None
    bad: list[str]
    bad_code: int
    ok_code: int = 0
    ok_text: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    bad_env: dict[str, str] | None = None
    stdin: str | None = None
    why: str = ""
    needs_store: bool = True


NOSUCH = "00000000-dead-beef-0000-000000000000"
VENDOR_ADD = ["vendor", "add", "--jurisdiction", "US", "--max-classification", "4E906"]
VIOLATION = ["violation", "record", "bob", "--what", "w", "--step", "s@2099-01-01", "--evidence", "{event1}"]
ROWS: dict[str, Row] = {
    "init": Row(
        ["init", "--name", "alice"],
        ["init", "--name", "alice"],
        2,
        bad_env={"QGOV_DATABASE_URL": "nosuchdb://x"},
        needs_store=False,
    ),
    "demo": Row(
        None,
        ["demo", "--workdir", "{not_empty}"],
        2,
        why="takes minutes: test_cli.py tells the story",
        needs_store=False,
    ),
    "serve": Row(
        None, ["serve", "--port", "0"], 2, why="runs in the foreground: test_server.py serves", needs_store=False
    ),
    "whoami": Row(["whoami"], ["whoami"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "dataset register": Row(["dataset", "register", "extra-{n}"], ["dataset", "register", "calib"], 2),
    "dataset list": Row(["dataset", "list"], ["dataset", "list"], 3, bad_env=NOBODY),
    "dataset show": Row(["dataset", "show", "calib"], ["dataset", "show", "nosuch"], 4),
    "dataset update": Row(["dataset", "update", "calib", "--fundamental", "no"], ["dataset", "update", "calib"], 2),
    "role grant": Row(["role", "grant", "dave", "auditor"], ["role", "grant", "dave", "wizard"], 2),
    "ingest": Row(["ingest", "{extra_folder}", "-d", "scratch"], ["ingest", "{extra_folder}", "-d", "nosuch"], 4),
    "fetch": Row(["fetch", "{csv_short}", "-o", "{out}"], ["fetch", NOSUCH, "-o", "{out}"], 4),
    "artifact list": Row(["artifact", "list"], ["artifact", "list", "-d", "nosuch"], 4),
    "artifact show": Row(["artifact", "show", "{csv_short}"], ["artifact", "show", NOSUCH], 4),
    "keys rotate": Row(["keys", "rotate"], ["keys", "rotate"], 3, bad_env=RESEARCHER),
    "runs show": Row(["runs", "show", "{run}"], ["runs", "show", NOSUCH], 4),
    "audit verify": Row(["audit", "verify"], ["audit", "verify", "--since", "{nowhere}"], 2),
    "audit events": Row(["audit", "events", "--limit", "3"], ["audit", "events", "--limit", "0"], 2),
    "audit checkpoint": Row(["audit", "checkpoint"], ["audit", "checkpoint"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "audit public-key": Row(["audit", "public-key"], ["audit", "public-key"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "audit prove": Row(["audit", "prove", "#1"], ["audit", "prove", NOSUCH], 4),
    "audit consistency": Row(["audit", "consistency", "{checkpoint}"], ["audit", "consistency", "999999999"], 4),
    "audit verify-proof": Row(["audit", "verify-proof", "{proof}"], ["audit", "verify-proof", "{nowhere}"], 2),
    "audit verify-certificate": Row(
        ["audit", "verify-certificate", "{certificate_file}"], ["audit", "verify-certificate", "{bad_json}"], 2
    ),
    "audit certificate": Row(["audit", "certificate", "{certificate}"], ["audit", "certificate", NOSUCH], 4),
    "audit export": Row(
        ["audit", "export", "-o", "{out}.csv", "--format", "csv"],
        ["audit", "export", "-o", "{out}", "--format", "x"],
        2,
    ),
    "audit report": Row(
        ["audit", "report", "{csv}", "-o", "{out}.html"], ["audit", "report", NOSUCH, "-o", "{out}"], 4
    ),
    # What-if commands answer from the built-in (or --policy) bundles without a store since
    # policy moved into the store (ADR 0026); ADR 0025's "no silent store" still holds: they create none.
    "policy show": Row(["policy", "show"], ["policy", "show", "--jurisdiction", "XX-NONE"], 2, needs_store=False),
    "policy test": Row(["policy", "test", "{cases}"], ["policy", "test", "{nowhere}"], 2, needs_store=False),
    "classify": Row(["classify", "{item}"], ["classify", "{bad_item}"], 2, needs_store=False),
    "override": Row(
        ["override", "{qasm}", "--as", "EAR99", "--reason", "r"],
        ["override", NOSUCH, "--as", "EAR99", "--reason", "r"],
        4,
        env=OFFICER,
    ),
    "declassify": Row(
        ["declassify", "{qasm}", "--reason", "r"],
        ["declassify", "{qasm}", "--reason", "r"],
        3,
        env=OFFICER,
        bad_env=RESEARCHER,
    ),  # fmt: skip
    "reclassify": Row(["reclassify"], ["reclassify"], 3, bad_env=RESEARCHER),
    "lineage derive": Row(
        ["lineage", "derive", "--activity", "fit", "--used", "{csv}", "--generated", "{qasm}"],
        ["lineage", "derive", "--activity", "fit", "--used", NOSUCH, "--generated", "{qasm}"],
        4,
    ),
    "lineage record": Row(
        ["lineage", "record", "--activity", "plot {n}", "--used", "{csv}", "--generated", "{new_file}"],
        ["lineage", "record", "--activity", "plot", "--used", "{csv}", "--generated", "{nowhere}"],
        2,
    ),
    "lineage trace": Row(["lineage", "trace", "{csv_short}", "--downstream"], ["lineage", "trace", NOSUCH], 4),
    "lineage retract": Row(
        ["lineage", "retract", "{activity1}", "--reason", "r"],
        ["lineage", "retract", NOSUCH, "--reason", "r"],
        4,
        ok_text=["lineage", "retract", "{activity2}", "--reason", "r"],
        env=OFFICER,
    ),
    "lineage export": Row(["lineage", "export", "{csv}"], ["lineage", "export", "{csv}", "--format", "dot"], 2),
    "screen": Row(
        ["screen", "QuantumCTek Co Ltd", "--country", "CN"],
        ["screen", "x", "--country", "CN"],
        4,
        bad_env={"QGOV_HOME": "{nowhere}"},
    ),  # fmt: skip
    "access check": Row(["access", "check", "{request}"], ["access", "check", "{bad_json}"], 2),
    "access request": Row(
        ["access", "request", "--artifact", "{csv_short}", "--purpose", "p"],
        ["access", "request", "--artifact", NOSUCH, "--purpose", "p"],
        4,
    ),
    "access queue": Row(["access", "queue"], ["access", "queue"], 3, env=OFFICER, bad_env=NOBODY),
    "access approve": Row(
        ["access", "approve", "{queued1}", "--licence", "BIS D1"],
        ["access", "approve", NOSUCH],
        4,
        ok_text=["access", "approve", "{queued2}", "--licence", "BIS D1"],
        env=OFFICER,
    ),
    "access deny": Row(
        ["access", "deny", "{queued3}", "--reason", "r"],
        ["access", "deny", "{queued4}", "--reason", "r"],
        3,
        ok_text=["access", "deny", "{queued4}", "--reason", "r"],
        env=OFFICER,
        bad_env=RESEARCHER,
    ),
    "access revoke": Row(
        ["access", "revoke", "{grant1}", "--reason", "r"],
        ["access", "revoke", NOSUCH, "--reason", "r"],
        4,
        ok_text=["access", "revoke", "{grant2}", "--reason", "r"],
        env=OFFICER,
    ),
    "access ask": Row(
        ["access", "ask", "{queued5}", "--question", "which lab?"],
        ["access", "ask", NOSUCH, "--question", "which lab?"],
        4,
        ok_text=["access", "ask", "{queued6}", "--question", "which lab?"],
        env=OFFICER,
    ),
    "access answer": Row(
        ["access", "answer", "{asked1}", "--text", "Lab B"],
        ["access", "answer", "{asked2}", "--text", "   "],
        2,
        ok_text=["access", "answer", "{asked3}", "--text", "Lab B"],
        env=RESEARCHER,
    ),
    "person update": Row(
        ["person", "update", "dave", "--email", "dave@lab-b.example"],
        ["person", "update", "dave", "--email", "dave at lab b"],
        2,
    ),
    "notify send": Row(["notify", "send"], ["notify", "send"], 3, env=OFFICER, bad_env=RESEARCHER),
    "notify status": Row(["notify", "status"], ["notify", "status"], 3, env=OFFICER, bad_env=RESEARCHER),
    "access sweep": Row(["access", "sweep"], ["access", "sweep"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "person add": Row(
        ["person", "add", "carol", "--citizenship", "US", "--location", "US", "--affiliation", "Lab B"],
        [
            "person",
            "add",
            "carol",
            "--citizenship",
            "US",
            "--location",
            "US",
            "--affiliation",
            "Lab B",
            "--training-completed-on",
            "last tuesday",
        ],
        2,
    ),  # fmt: skip
    "person erase": Row(
        ["person", "erase", "eve1", "--reason", "r"],
        ["person", "erase", "nosuch", "--reason", "r"],
        4,
        ok_text=["person", "erase", "eve2", "--reason", "r"],
    ),
    "screening load": Row(["screening", "load", "{csl}"], ["screening", "load", "{nowhere}"], 2, env=OFFICER),
    "release": Row(
        ["release", "calib", "--stat", "mean", "--column", "t1_us", "--epsilon", "0.1", "--preview"],
        ["release", "calib", "--stat", "mean", "--column", "nosuch", "--epsilon", "0.1", "--preview"],
        2,
    ),
    "budget set": Row(["budget", "set", "calib", "{privacy}"], ["budget", "set", "calib", "{bad_json}"], 2),
    "budget show": Row(["budget", "show", "calib"], ["budget", "show", "nosuch"], 4),
    "budget reconcile": Row(
        None,
        ["budget", "reconcile", "calib", NOSUCH, "--action", "refund", "--reason", "r"],
        2,
        why="needs a release killed while computing: test_privacy_cli.py kills one",
    ),
    "releases list": Row(["releases", "list", "calib"], ["releases", "list", "nosuch"], 4),
    "releases approve": Row(
        ["releases", "approve", "{review1}", "--reason", "r"],
        ["releases", "approve", NOSUCH, "--reason", "r"],
        4,
        ok_text=["releases", "approve", "{review2}", "--reason", "r"],
        env=OFFICER,
    ),
    "releases deny": Row(
        ["releases", "deny", "{review3}", "--reason", "r"],
        ["releases", "deny", NOSUCH, "--reason", "r"],
        4,
        ok_text=["releases", "deny", "{review4}", "--reason", "r"],
        env=OFFICER,
    ),
    "releases classify": Row(
        ["releases", "classify", "{released_short}", "--as", "EAR99", "--reason", "r"],
        ["releases", "classify", NOSUCH, "--as", "EAR99", "--reason", "r"],
        4,
        env=OFFICER,
    ),
    "releases run": Row(["releases", "run"], ["releases", "run"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "retention show": Row(["retention", "show", "{csv_short}"], ["retention", "show", NOSUCH], 4),
    "retention sweep": Row(["retention", "sweep"], ["retention", "sweep", "--at", "yesterday"], 2),
    "hold add": Row(["hold", "add", "--person", "bob", "--reason", "r"], ["hold", "add", "--reason", "r"], 2),
    "hold list": Row(["hold", "list"], ["hold", "list"], 3, bad_env=NOBODY),
    "hold release": Row(
        ["hold", "release", "{hold1}", "--reason", "r"],
        ["hold", "release", NOSUCH, "--reason", "r"],
        4,
        ok_text=["hold", "release", "{hold2}", "--reason", "r"],
    ),
    "delete": Row(["delete", "{csv_short}", "--reason", "r"], ["delete", NOSUCH, "--reason", "r"], 4),
    "token create": Row(["token", "create", "bob"], ["token", "create", "bob", "--days", "9999"], 2),
    "token list": Row(["token", "list"], ["token", "list"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "token revoke": Row(
        ["token", "revoke", "{token1}"], ["token", "revoke", "ffffffff"], 4, ok_text=["token", "revoke", "{token2}"]
    ),
    "account password": Row(
        ["account", "password", "alice", "--password-stdin"],
        ["account", "password", "nosuch", "--password-stdin"],
        3,  # an unknown person cannot authenticate
        stdin="a long enough passphrase 42\n",
    ),
    "access mine": Row(["access", "mine"], ["access", "mine"], 3, bad_env=NOBODY),
    "anomaly scan": Row(["anomaly", "scan"], ["anomaly", "scan", "--since", "yesterday"], 2, env=OFFICER),
    "anomaly list": Row(["anomaly", "list"], ["anomaly", "list", "--status", "weird"], 2, env=OFFICER),
    "anomaly show": Row(["anomaly", "show", "{alert1}"], ["anomaly", "show", NOSUCH], 4, env=OFFICER),
    "anomaly dismiss": Row(
        ["anomaly", "dismiss", "{alert1}", "--reason", "r"],
        ["anomaly", "dismiss", NOSUCH, "--reason", "r"],
        4,
        ok_text=["anomaly", "dismiss", "{alert2}", "--reason", "r"],
        env=OFFICER,
    ),
    "appeal file": Row(
        ["appeal", "file", "{denied1}", "--grounds", "g"],
        ["appeal", "file", NOSUCH, "--grounds", "g"],
        4,
        ok_text=["appeal", "file", "{denied2}", "--grounds", "g"],
        env=RESEARCHER,
    ),
    "appeal decide": Row(
        ["appeal", "decide", "{appeal1}", "--reason", "r"],
        ["appeal", "decide", "{appeal3}", "--reason", "r"],
        3,  # olga denied the request: another officer decides its appeal
        ok_text=["appeal", "decide", "{appeal2}", "--reason", "r"],
        env={AS: "otto"},
        bad_env=OFFICER,
    ),
    "appeal list": Row(["appeal", "list"], ["appeal", "list"], 3, env=RESEARCHER, bad_env=NOBODY),
    "audit checkpoints": Row(["audit", "checkpoints"], ["audit", "checkpoints", "--limit", "0"], 2),
    "enduse attest": Row(
        ["enduse", "attest", "{attest_grant}", "--statement", "s"], ["enduse", "attest", NOSUCH, "--statement", "s"], 4
    ),
    "enduse sweep": Row(["enduse", "sweep"], ["enduse", "sweep", "--at", "yesterday"], 2, env=OFFICER),
    "enduse sample": Row(
        ["enduse", "sample", "--fraction", "1", "--seed", "s"],
        ["enduse", "sample", "--fraction", "2", "--seed", "s"],
        2,
        env=OFFICER,
    ),
    "incident open": Row(
        ["incident", "open", "--title", "t", "--person", "bob"],
        ["incident", "open", "--title", "t", "--person", "bob", "--severity", "huge"],
        2,
        env=OFFICER,
    ),
    "incident list": Row(["incident", "list"], ["incident", "list", "--status", "weird"], 2, env=OFFICER),
    "incident show": Row(["incident", "show", "{incident1}"], ["incident", "show", NOSUCH], 4, env=OFFICER),
    "incident contain": Row(
        ["incident", "contain", "{incident1}", "--reason", "r", "--hold"],
        ["incident", "contain", NOSUCH, "--reason", "r", "--hold"],
        4,
        env=OFFICER,
    ),
    "incident deadline": Row(
        ["incident", "deadline", "{incident2}", "incident.vsd-decision", "--note", "n"],
        ["incident", "deadline", "{incident2}", "incident.nosuch", "--note", "n"],
        4,
        ok_text=["incident", "deadline", "{incident5}", "incident.vsd-decision", "--note", "n"],
        env=OFFICER,
    ),
    "incident remind": Row(["incident", "remind"], ["incident", "remind", "--at", "yesterday"], 2, env=OFFICER),
    "incident close": Row(
        ["incident", "close", "{incident3}", "--remediation", "r"],
        ["incident", "close", "{incident1}", "--remediation", "r"],
        2,  # deadlines not met yet
        ok_text=["incident", "close", "{incident4}", "--remediation", "r"],
        env=OFFICER,
    ),
    "incident readiness": Row(["incident", "readiness"], ["incident", "readiness"], 3, env=OFFICER, bad_env=RESEARCHER),
    "person list": Row(["person", "list"], ["person", "list", "--limit", "0"], 2),
    "person show": Row(["person", "show", "bob"], ["person", "show", "nosuch"], 4),
    "policy impact": Row(["policy", "impact", "{proposed}"], ["policy", "impact", "{nowhere}"], 2, env=OFFICER),
    "policy list": Row(["policy", "list"], ["policy", "list"], 4, bad_env={"QGOV_HOME": "{nowhere}"}),
    "policy publish": Row(["policy", "publish", "{proposed}"], ["policy", "publish", "{nowhere}"], 2),
    "role revoke": Row(
        ["role", "revoke", "frank", "auditor"],
        ["role", "revoke", "nosuch", "auditor"],
        4,
        ok_text=["role", "revoke", "frank", "data_manager"],
    ),
    "training record": Row(
        ["training", "record", "bob", "--completed-on", "{today}"],
        ["training", "record", "bob", "--completed-on", "last tuesday"],
        2,
        env=OFFICER,
    ),
    "training status": Row(["training", "status"], ["training", "status"], 3, env=OFFICER, bad_env=NOBODY),
    "training sweep": Row(["training", "sweep"], ["training", "sweep", "--at", "yesterday"], 2, env=OFFICER),
    "roles show": Row(["roles", "show"], ["roles", "show", "--role", "x"], 2, needs_store=False),  # a static table
    "vendor add": Row(
        [*VENDOR_ADD, "v{n}", "--kind", "cloud_storage", "--controlled", "--covers", "s3://bucket-{n}"],
        [*VENDOR_ADD, "vx", "--kind", "ship", "--controlled"],
        2,
        env=OFFICER,
    ),
    "compliance tabletop run": Row(
        ["compliance", "tabletop", "run", "insider_exfiltration", "--person", "bob"],
        ["compliance", "tabletop", "run", "phishing", "--person", "bob"],
        2,
        env=OFFICER,
    ),
    "compliance tabletop report": Row(
        ["compliance", "tabletop", "report", "{exercise}"],
        ["compliance", "tabletop", "report", "{exercise}"],
        3,
        env=OFFICER,
        bad_env=RESEARCHER,
    ),
    "vendor list": Row(["vendor", "list"], ["vendor", "list"], 3, env=OFFICER, bad_env=RESEARCHER),
    "vendor show": Row(["vendor", "show", "cloudy"], ["vendor", "show", "nosuch"], 4, env=OFFICER),
    "vendor assess": Row(
        ["vendor", "assess", "cloudy", "--risk-tier", "low", "--findings", "f"],
        ["vendor", "assess", "cloudy", "--risk-tier", "extreme", "--findings", "f"],
        2,
        env=OFFICER,
    ),
    "vendor retire": Row(
        ["vendor", "retire", "retire1", "--reason", "r"],
        ["vendor", "retire", "nosuch", "--reason", "r"],
        4,
        ok_text=["vendor", "retire", "retire2", "--reason", "r"],
        env=OFFICER,
    ),
    "violation record": Row(
        [*VIOLATION, "--sanction", "warning"], [*VIOLATION, "--sanction", "flogging"], 2, env=OFFICER
    ),
    "violation list": Row(["violation", "list", "--mine"], ["violation", "list"], 3, env=RESEARCHER, bad_env=NOBODY),
    "violation show": Row(["violation", "show", "{violation1}"], ["violation", "show", NOSUCH], 4, env=RESEARCHER),
    "violation remediate": Row(
        ["violation", "remediate", "{violation1}", "--step", "1", "--note", "n"],
        ["violation", "remediate", "{violation1}", "--step", "9", "--note", "n"],
        2,
        ok_text=["violation", "remediate", "{violation2}", "--step", "1", "--note", "n"],
        env=RESEARCHER,
    ),
}


def _commands(command: Any = None, path: tuple[str, ...] = ()) -> list[str]:
    from governance.cli.main import app

    command = command or typer.main.get_command(app)
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [" ".join(path)]
    return [name for key in sorted(subcommands) for name in _commands(subcommands[key], (*path, key))]


def test_every_command_has_a_row() -> None:
    commands = _commands()
    missing = [c for c in commands if c not in ROWS]
    assert not missing, "\n".join(
        f"'qgov {c}' has no row in ROWS of tests/e2e/test_cli_contract.py: add how it succeeds and fails"
        for c in missing
    )
    stale = sorted(set(ROWS) - set(commands))
    assert not stale, f"ROWS names commands the app does not have: {', '.join(stale)}"
    assert all(r.ok is not None or r.why for r in ROWS.values())


class World:
    """The module's store: people, a controlled dataset with a privacy profile, requests,
    grants, holds, tokens, releases, derivations and a deletion certificate to act on."""

    def __init__(self, root: Path, prefect_api: str) -> None:
        self.root = root
        self.env = {"QGOV_HOME": str(root / "home"), "PREFECT_API_URL": prefect_api}
        self.values: dict[str, str] = {"nowhere": str(root / "nowhere"), "out": str(root / "out" / "file")}
        self.counter = 0

    def run(self, args: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Any:
        """``qgov ARGS`` through its console-script entry point, in this process (a subprocess
        per call costs a second of imports; there are hundreds of calls): the environment,
        stdin, stdout and stderr are the command's own for the call. This process's OS account
        is mapped to alice (``init --name alice``); ``env[AS]`` acts as another person."""
        from governance.cli.main import main

        env = dict(env or {})
        acting = env.pop(AS, None)
        args = ["--as", acting, *args] if acting else args

        saved_env, saved_argv, saved_stdin = dict(os.environ), sys.argv, sys.stdin
        out, err = io.StringIO(), io.StringIO()
        os.environ.clear()
        os.environ.update({k: v for k, v in saved_env.items() if not k.startswith("QGOV_")})
        os.environ.update({**self.env, **(env or {})})
        sys.argv, sys.stdin = ["qgov", *args], io.StringIO(stdin or "")
        try:
            # Prefect reads its settings once per process, when it is first imported: this
            # worker may have imported it before PREFECT_API_URL was set, as a new process would not
            with _prefect_settings_from_environment(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            sys.argv, sys.stdin = saved_argv, saved_stdin
        return subprocess.CompletedProcess(["qgov", *args], code, out.getvalue(), err.getvalue())

    def ok(self, *args: str, env: dict[str, str] | None = None) -> Any:
        proc = self.run([*args, "--json"], env)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return json.loads(proc.stdout)

    def fill(self, args: list[str]) -> list[str]:
        self.counter += 1
        return [a.format(n=self.counter, **self.values) for a in args]


@contextlib.contextmanager
def _prefect_settings_from_environment() -> Iterator[None]:
    """Prefect's settings as a process started with this environment would read them."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: os.environ.get("PREFECT_API_URL") or None}):
        yield


def _person(w: World, name: str, citizenship: str, role: str) -> None:
    w.ok("person", "add", name, "--citizenship", citizenship, "--location", "US", "--affiliation", "Lab B",
         "--training-completed-on", date.today().isoformat(), "--role", role)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> World:
    from governance.sample_data import calibration_table, write_sample_folder

    root = tmp_path_factory.mktemp("contract")
    w = World(root, prefect_api)
    v = w.values
    (root / "out").mkdir()
    w.ok("init", "--name", "alice")
    _person(w, "alice", "US", "admin")
    _person(w, "olga", "US", "export_control_officer")
    _person(w, "bob", "CN", "researcher")
    _person(w, "chen", "CN", "researcher")
    for name in ("eve1", "eve2", "dave", "frank"):
        _person(w, name, "US", "researcher")
    _person(w, "otto", "US", "export_control_officer")
    for role in ("auditor", "data_manager"):
        w.ok("role", "grant", "frank", role)
    sample = write_sample_folder(root / "sample")
    calibration_table(qubits=200, seed=4).to_csv(sample / "calibration.csv", index=False)
    privacy = root / "privacy.yaml"
    privacy.write_text(yaml.safe_dump({"contributions": 1, "budget": {"epsilon": "5", "delta": "0"},
                                       "columns": {"t1_us": {"bounds": [0, 400]}}}))  # fmt: skip
    controlled = [
        "--subject-type",
        "quantum_computer",
        "--param",
        "physical_qubits=120",
        "--param",
        "cnot_error=0.0008",
    ]
    controlled += ["--fundamental", "no", "--intended-for-publication", "no", "--restrictions-accepted", "yes"]
    w.ok("dataset", "register", "calib", *controlled, "--privacy", str(privacy))
    arts = {a["path"]: a["id"] for a in w.ok("ingest", str(sample), "-d", "calib")["artifacts"]}
    v.update(csv=arts["calibration.csv"], qasm=arts["circuits/ghz5.qasm"], privacy=str(privacy))
    v.update(csv_short=v["csv"][:8], run=_latest_run(prefect_api, str(root / "home")))
    w.ok("dataset", "register", "scratch")
    extra = root / "extra"
    extra.mkdir()
    (extra / "notes.txt").write_text("scratch notes\n")
    gone = root / "gone"
    gone.mkdir()
    (gone / "gone.txt").write_text("to be deleted\n")
    v["extra_folder"] = str(extra)
    doomed = w.ok("ingest", str(gone), "-d", "scratch")["artifacts"][0]["id"]
    cert = root / "cert.json"
    deleted = w.ok("delete", doomed, "--reason", "r", "--yes", "--before-retention-end", "-o", str(cert))
    v.update(certificate=deleted["certificate"]["certificate_id"][:8], certificate_file=str(cert))
    # requests: alice's are granted; bob's (a Chinese national, controlled technology) wait for review
    for key in ("grant1", "grant2", "fetch_grant"):
        v[key] = w.ok("access", "request", "--artifact", v["csv"], "--purpose", key)["grant"]
    for key in ("queued1", "queued2", "queued3", "queued4", "queued5", "queued6", "asked1", "asked2", "asked3"):
        made = w.ok("access", "request", "--artifact", v["csv"], "--purpose", key, env=RESEARCHER)
        assert made["status"] == "queued", made
        v[key] = made["request"][:8]
        if key.startswith("asked"):
            w.ok("access", "ask", v[key], "--question", "which lab?", env=OFFICER)
    # olga denies four more of bob's: appeals to file and decide, and a burst of denials to alert on
    for key in ("denied1", "denied2", "denied3", "denied4", "denied5"):
        made = w.ok("access", "request", "--artifact", v["csv"], "--purpose", key, env=RESEARCHER)
        v[key] = made["request"]
        w.ok("access", "deny", v[key], "--reason", "r", env=OFFICER)
    for i, key in enumerate(("appeal1", "appeal2", "appeal3"), start=3):
        v[key] = w.ok("appeal", "file", v[f"denied{i}"], "--grounds", "g", env=RESEARCHER)["id"]
    v["attest_grant"] = w.ok("access", "request", "--artifact", v["csv"], "--purpose", "attest")["grant"]
    proposed = root / "proposed-policy"
    proposed.mkdir()
    v.update(proposed=str(proposed), today=date.today().isoformat())
    for key in ("hold1", "hold2"):
        v[key] = w.ok("hold", "add", "--dataset", "scratch", "--reason", key)["hold"][:8]
    for key in ("token1", "token2"):
        v[key] = w.ok("token", "create", "bob")["id"][:6]
    for key in ("activity1", "activity2"):
        v[key] = w.ok("lineage", "derive", "--activity", key, "--used", v["csv"], "--generated", v["qasm"])["activity"]
    released = w.ok("release", "calib", "--stat", "mean", "--column", "t1_us", "--epsilon", "0.1", "--purpose", "p")
    v["released_short"] = released["release_id"][:8]
    for i, key in enumerate(("review1", "review2", "review3", "review4")):
        asked = w.ok(
            "release", "calib", "--stat", "count", "--column", "t1_us", "--epsilon", f"0.6{i}", "--purpose", key
        )
        assert asked["status"] == "review", asked
        v[key] = asked["release_id"]
    for i in range(4):  # chen's burst of denials: a second alert
        made = w.ok("access", "request", "--artifact", v["csv"], "--purpose", f"c{i}", env={AS: "chen"})
        w.ok("access", "deny", made["request"], "--reason", "r", env=OFFICER)
    alerts = w.ok("anomaly", "scan", env=OFFICER)["alerts"]
    assert len(alerts) >= 2, alerts
    v.update(alert1=alerts[0]["id"], alert2=alerts[1]["id"])
    for name in ("cloudy", "retire1", "retire2"):
        w.ok("vendor", "add", name, "--kind", "cloud_storage", "--jurisdiction", "US", "--max-classification",
             "EAR99", "--no-controlled", env=OFFICER)  # fmt: skip
    v["event1"] = alerts[0]["evidence"][0]["event_id"]
    for key in ("violation1", "violation2"):
        v[key] = w.ok("violation", "record", "bob", "--what", key, "--sanction", "warning", "--step", "s@2099-01-01",
                      "--evidence", v["event1"], env=OFFICER)["id"][:8]  # fmt: skip
    v["exercise"] = w.ok("compliance", "tabletop", "run", "shared_credentials", "--person", "bob", env=OFFICER)["home"]
    for i in range(1, 6):
        v[f"incident{i}"] = w.ok("incident", "open", "--title", f"t{i}", "--person", "bob", env=OFFICER)["id"]
    for key in ("incident3", "incident4"):
        w.ok("incident", "contain", v[key], "--reason", "r", "--suspend-grants", env=OFFICER)
        w.ok("incident", "deadline", v[key], "incident.vsd-decision", "--note", "n", env=OFFICER)
    v["checkpoint"] = str(w.ok("audit", "checkpoint")["size"])
    proof = root / "proof.json"
    proof.write_text(json.dumps(w.ok("audit", "prove", "#1")))
    v["proof"] = str(proof)
    item = root / "item.json"
    item.write_text(json.dumps({"kind": "technology", "subject": {"type": "qkd"}}))
    bad_item = root / "bad-item.json"
    bad_item.write_text(json.dumps({"kind": "gizmo"}))
    request = root / "request.json"
    request.write_text(json.dumps({"requester": {"name": "Li Wei", "citizenships": ["CN"], "location": "US",
                                                 "affiliation": "Univ."}, "item": {"artifact": v["csv_short"]},
                                   "destination": "US"}))  # fmt: skip
    bad_json = root / "bad.json"
    bad_json.write_text("{not json")
    not_empty = root / "not-empty"
    not_empty.mkdir()
    (not_empty / "x").write_text("x")
    repo = Path(__file__).resolve().parents[2]
    v.update(item=str(item), bad_item=str(bad_item), request=str(request), bad_json=str(bad_json))
    v.update(cases=str(repo / "policies" / "cases" / "ear.yaml"), not_empty=str(not_empty))
    v["csl"] = str(repo / "policies" / "data" / "restricted-parties-sample.csv")
    return w


def _latest_run(prefect_api: str, home: str) -> str:
    """The id of this store's latest ingest run on the session's Prefect server."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_api}), get_client(sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=200)
    return next(str(r.id) for r in runs if r.parameters.get("home") == home)


def _new_file(w: World) -> None:
    path = w.root / f"new-{w.counter}.txt"
    path.write_text(f"result {w.counter}\n")
    w.values["new_file"] = str(path)


def _error_document(proc: Any, code: int) -> dict[str, Any]:
    """With --json an error is one JSON document on stdout, and one line on stderr."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    doc = json.loads(proc.stdout)
    error = doc["error"]
    assert set(doc) == {"error"} and error["exit_code"] == code, doc
    assert isinstance(error["code"], str) and error["message"] and "\n" not in error["message"], doc
    _one_line(proc.stderr)
    return doc


def _one_line(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr


@pytest.mark.parametrize("command", sorted(ROWS), ids=sorted(ROWS))
def test_command_follows_the_contract(world: World, command: str) -> None:
    row = ROWS[command]
    if row.ok is not None:
        _new_file(world)
        ok = world.run([*world.fill(row.ok), "--json"], row.env, row.stdin)
        assert ok.returncode == row.ok_code, (ok.stdout, ok.stderr)
        json.loads(ok.stdout)  # exactly one document: json.loads refuses anything after it
        _new_file(world)
        text = world.run(world.fill(row.ok_text or row.ok), row.env, row.stdin)
        assert text.returncode == row.ok_code, (text.stdout, text.stderr)
        assert text.stdout.strip(), f"qgov {command}: the result must go to stdout (stderr: {text.stderr!r})"
        assert "Traceback" not in text.stderr
    bad_env = {k: v.format(**world.values) for k, v in (row.bad_env or {}).items()}
    bad = world.run([*world.fill(row.bad), "--json"], {**row.env, **bad_env}, row.stdin)
    _error_document(bad, row.bad_code)
    bad_text = world.run(world.fill(row.bad), {**row.env, **bad_env}, row.stdin)
    assert bad_text.returncode == row.bad_code and bad_text.stdout == "", (bad_text.stdout, bad_text.stderr)
    _one_line(bad_text.stderr)
    if row.needs_store:
        args = world.fill(row.ok or row.bad)
        missing = world.run([*args, "--json"], {**row.env, "QGOV_HOME": world.values["nowhere"]}, row.stdin)
        doc = _error_document(missing, 4)
        assert doc["error"]["code"] == "no_store" and "run 'qgov init'" in doc["error"]["message"]
        assert world.values["nowhere"] in doc["error"]["message"]
        assert not Path(world.values["nowhere"]).exists()


def test_an_ambiguous_prefix_names_the_candidates_and_a_unique_one_resolves(tmp_path: Path) -> None:
    """Two datasets whose ids begin alike: the shared prefix is exit 2 naming both, a longer
    one resolves, a prefix that matches nothing is exit 4."""
    from sqlalchemy import create_engine, text

    w = World(tmp_path, "")
    w.ok("init", "--name", "alice")
    for name in ("first", "second"):
        w.ok("dataset", "register", name)
    engine = create_engine(f"sqlite:///{tmp_path / 'home' / 'qgov.db'}")
    with engine.begin() as conn:
        for name, new_id in (("first", "abcd1111-0000-4000-8000-000000000000"),
                             ("second", "abcd2222-0000-4000-8000-000000000000")):  # fmt: skip
            conn.execute(text("UPDATE datasets SET id = :id WHERE name = :name"), {"id": new_id, "name": name})
    engine.dispose()
    ambiguous = w.run(["dataset", "show", "abcd", "--json"])
    doc = _error_document(ambiguous, 2)["error"]
    assert doc["code"] == "ambiguous_id" and "abcd1111" in doc["message"] and "abcd2222" in doc["message"]
    assert [c[:8] for c in doc["candidates"]] == ["abcd1111", "abcd2222"]
    assert w.ok("dataset", "show", "abcd2")["name"] == "second"
    assert w.run(["dataset", "show", "abcd3"]).returncode == 4
    assert w.run(["dataset", "show", "abc"]).returncode == 4  # below the minimum prefix: never a guess


def test_no_command_creates_a_store_it_was_not_asked_to(tmp_path: Path) -> None:
    """Without QGOV_HOME, a command run in an empty directory names where it looked; nothing appears."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("QGOV_")}
    proc = subprocess.run([QGOV, "dataset", "list"], cwd=tmp_path, env=environ, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 4 and proc.stdout == ""
    assert f"no qgov store at {tmp_path.resolve() / '.qgov'}" in proc.stderr and "run 'qgov init'" in proc.stderr
    assert list(tmp_path.iterdir()) == []
