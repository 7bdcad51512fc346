"""Each command run embedded and as a client of `qgov serve` (QGOV_URL + QGOV_TOKEN): the same
``--json`` document and the same exit code (issue 15, item 4).

Two stores are built the same way: one is used on its own machine (the OS account is alice,
an admin; ``--as`` for the others), the other is served and used with each person's token.
The same table of commands runs against both, in order; documents are compared after the
values that differ between any two stores (ids, times, hashes, signatures) are replaced by
placeholders, so that everything else — fields, counts, statuses, messages — must match.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.ingest import finish_run, ingest_batch, plan_ingest
from tests.conftest import QGOV
from tests.e2e import server_support

PROFILE = {"contributions": 1, "budget": {"epsilon": "1.0", "delta": "0"}, "columns": {"t1": {"bounds": [0, 100]}}}


@dataclass(frozen=True)
class Case:
    name: str
    who: str
    args: tuple[str, ...]
    code: int
    save: dict[str, tuple[str, ...]] = field(default_factory=dict)  # placeholder -> path into the document


VENDOR = ("vendor", "add", "QPU Cloud", "--kind", "quantum_processor", "--jurisdiction", "US")
VENDOR += ("--max-classification", "4E906", "--controlled")

CASES = [
    Case("budget set", "alice", ("budget", "set", "{ds}", "{profile}"), 0),
    Case("budget set by a researcher", "li", ("budget", "set", "{ds}", "{profile}"), 3),
    Case("budget set, bad profile", "alice", ("budget", "set", "{ds}", "{bad_profile}"), 2),
    Case("budget show", "li", ("budget", "show", "{ds}"), 0),
    Case("budget show, no such dataset", "li", ("budget", "show", "nope"), 4),
    Case(
        "release preview",
        "li",
        ("release", "{ds}", "--stat", "mean", "--column", "t1", "--epsilon", "0.2", "--preview", "--size", "100"),
        0,
    ),  # fmt: skip
    Case(
        "release",
        "li",
        ("release", "{ds}", "--stat", "mean", "--column", "t1", "--epsilon", "0.2", "--purpose", "paper"),
        0,
        {"release": ("release_id",)},
    ),  # fmt: skip
    Case(
        "release, bad epsilon",
        "li",
        ("release", "{ds}", "--stat", "mean", "--column", "t1", "--epsilon", "0", "--purpose", "paper"),
        2,
    ),  # fmt: skip
    Case("releases list", "li", ("releases", "list", "{ds}"), 0),
    Case("releases approve by a researcher", "li", ("releases", "approve", "{release}", "--reason", "r"), 3),
    Case("releases approve, not in review", "olga", ("releases", "approve", "{release}", "--reason", "ok"), 2),
    Case("releases deny, unknown", "olga", ("releases", "deny", "nope", "--reason", "r"), 4),
    Case("releases classify", "olga", ("releases", "classify", "{release}", "--as", "EAR99", "--reason", "a mean"), 0),
    Case(
        "budget reconcile, nothing stuck",
        "alice",
        ("budget", "reconcile", "{ds}", "{release}", "--action", "refund", "--reason", "r"),
        2,
    ),  # fmt: skip
    Case("hold add by a researcher", "li", ("hold", "add", "--reason", "r", "--artifact", "{art}"), 3),
    Case("hold add, no target", "olga", ("hold", "add", "--reason", "r"), 2),
    Case("hold add", "olga", ("hold", "add", "--reason", "subpoena", "--artifact", "{art}"), 0, {"hold": ("hold",)}),
    Case("hold list", "olga", ("hold", "list"), 0),
    Case("retention show", "li", ("retention", "show", "{art}"), 0),
    Case("retention show, unknown", "li", ("retention", "show", "00000000-0000-0000-0000-000000000000"), 4),
    Case("delete dry run", "alice", ("delete", "{art}", "--reason", "r"), 0),
    Case("delete while held", "alice", ("delete", "{art}", "--reason", "r", "--yes", "--before-retention-end"), 1),
    Case("hold release", "olga", ("hold", "release", "{hold}", "--reason", "settled"), 0),
    Case("hold list, released too", "olga", ("hold", "list", "--released"), 0),
    Case("delete by a researcher", "li", ("delete", "{art}", "--reason", "r", "--yes"), 3),
    Case("delete", "alice", ("delete", "{art}", "--reason", "done", "--yes", "--before-retention-end"), 0),
    Case("lineage trace", "li", ("lineage", "trace", "{generic}", "--upstream"), 0),
    Case("lineage trace, bad time", "li", ("lineage", "trace", "{generic}", "--as-of", "yesterday"), 2),
    Case(
        "access request",
        "ann",
        ("access", "request", "--artifact", "{generic}", "--purpose", "study"),
        0,
        {"grant": ("grant",)},
    ),  # fmt: skip
    Case("access revoke by a researcher", "li", ("access", "revoke", "{grant}", "--reason", "r"), 3),
    Case("access revoke", "olga", ("access", "revoke", "{grant}", "--reason", "left the lab"), 0),
    Case("screen", "li", ("screen", "Acme Quantum Ltd", "--country", "US"), 0),
    Case(
        "person add by a researcher",
        "li",
        ("person", "add", "zoe", "--citizenship", "FR", "--location", "US", "--affiliation", "Lab B"),
        3,
    ),  # fmt: skip
    Case(
        "person add",
        "alice",
        (
            "person",
            "add",
            "zoe",
            "--citizenship",
            "fr",
            "--location",
            "us",
            "--affiliation",
            "Lab B",
            "--role",
            "auditor",
            "--training-completed-on",
            "2026-01-05",
        ),
        0,
    ),  # fmt: skip
    Case(
        "person add, bad date",
        "alice",
        (
            "person",
            "add",
            "zoe",
            "--citizenship",
            "FR",
            "--location",
            "US",
            "--affiliation",
            "Lab B",
            "--training-completed-on",
            "soon",
        ),
        2,
    ),  # fmt: skip
    Case(
        "lineage derive",
        "alice",
        ("lineage", "derive", "--activity", "fit T1", "--used", "{sponsor}", "--generated", "{generic}"),
        0,
        {"activity": ("activity",)},
    ),  # fmt: skip
    Case("declassify", "olga", ("declassify", "{generic}", "--reason", "aggregate only"), 0),
    Case("override by a researcher", "li", ("override", "{generic}", "--as", "EAR99", "--reason", "r"), 3),
    Case("override", "olga", ("override", "{generic}", "--as", "EAR99", "--reason", "reviewed"), 0),
    Case("lineage retract", "olga", ("lineage", "retract", "{activity}", "--reason", "wrong input"), 0),
    Case("lineage retract, unknown", "olga", ("lineage", "retract", "nope", "--reason", "r"), 4),
    Case("person erase by an officer", "olga", ("person", "erase", "rob", "--reason", "r"), 3),
    Case("person erase", "alice", ("person", "erase", "rob", "--reason", "asked to be forgotten"), 0),
    Case("person erase, unknown", "alice", ("person", "erase", "nobody", "--reason", "r"), 4),
    Case("access check", "li", ("access", "check", "{what_if}"), 0),
    Case("access check, bad destination", "li", ("access", "check", "{bad_what_if}"), 2),
    Case("policy list", "li", ("policy", "list"), 0),
    Case("policy publish, unchanged", "alice", ("policy", "publish", "{empty_policy}", "--note", "same"), 0),
    Case("policy publish, bad YAML", "alice", ("policy", "publish", "{bad_policy}"), 2),
    Case("policy publish by a researcher", "li", ("policy", "publish", "{empty_policy}"), 3),
    Case("dataset register by a researcher", "li", ("dataset", "register", "t1-sweep"), 3),
    Case(
        "dataset register",
        "alice",
        (
            "dataset",
            "register",
            "t1-sweep",
            "--subject-type",
            "quantum_computer",
            "--param",
            "physical_qubits=54",
            "--param",
            "cnot_error=0.004",
            "--fundamental",
            "yes",
            "--restrictions-accepted",
            "no",
            "--intended-for-publication",
            "yes",
            "--privacy",
            "{profile}",
        ),
        0,
    ),  # fmt: skip
    Case("dataset register, taken", "alice", ("dataset", "register", "t1-sweep"), 2),
    Case("dataset register, bad profile", "alice", ("dataset", "register", "t2", "--privacy", "{bad_profile}"), 2),
    Case(
        "dataset register, bad qubits",
        "alice",
        ("dataset", "register", "t3", "--subject-type", "quantum_computer", "--param", "physical_qubits=-5"),
        2,
    ),  # fmt: skip
    Case("dataset list", "li", ("dataset", "list"), 0),
    Case("dataset show", "li", ("dataset", "show", "generic"), 0),
    Case("dataset show, unknown", "li", ("dataset", "show", "nope"), 4),
    Case("artifact list", "li", ("artifact", "list", "--dataset", "generic"), 0),
    Case("artifact show", "li", ("artifact", "show", "{generic}"), 0),
    Case("artifact show, unknown", "li", ("artifact", "show", "nope"), 4),
    Case("anomaly scan", "olga", ("anomaly", "scan"), 0),
    Case("anomaly list", "olga", ("anomaly", "list"), 0),
    Case("anomaly list, bad status", "olga", ("anomaly", "list", "--status", "weird"), 2),
    Case("incident list by a researcher", "li", ("incident", "list"), 3),
    Case("incident readiness", "aud", ("incident", "readiness"), 0),
    Case("incident open by a researcher", "li", ("incident", "open", "--title", "t", "--person", "li"), 3),
    Case("incident open, bad severity", "olga", ("incident", "open", "--title", "t", "--severity", "huge"), 2),
    Case(
        "incident open",
        "olga",
        ("incident", "open", "--title", "bulk download", "--person", "li", "--severity", "high"),
        0,
        {"incident": ("id",)},
    ),  # fmt: skip
    Case("incident contain, no action", "olga", ("incident", "contain", "{incident}", "--reason", "r"), 2),
    Case("incident contain, unknown", "olga", ("incident", "contain", "nope", "--reason", "r", "--hold"), 4),
    Case(
        "incident contain", "olga", ("incident", "contain", "{incident}", "--reason", "probing", "--suspend-grants"), 0
    ),
    Case("vendor add by a researcher", "li", VENDOR, 3),
    Case("vendor add", "olga", (*VENDOR, "--covers", "https://qpu.example"), 0),
    Case(
        "vendor assess, bad tier",
        "olga",
        ("vendor", "assess", "QPU Cloud", "--risk-tier", "extreme", "--findings", "f"),
        2,
    ),  # fmt: skip
    Case("vendor assess", "olga", ("vendor", "assess", "QPU Cloud", "--risk-tier", "low", "--findings", "SOC 2"), 0),
    Case("vendor list", "aud", ("vendor", "list"), 0),
    Case("vendor show, unknown", "aud", ("vendor", "show", "Nobody Inc"), 4),
    Case("vendor retire", "olga", ("vendor", "retire", "QPU Cloud", "--reason", "contract ended"), 0),
    Case("violation list, mine", "li", ("violation", "list", "--mine"), 0),
    Case("violation show, unknown", "olga", ("violation", "show", "nope"), 4),
    Case("violation remediate, unknown", "li", ("violation", "remediate", "nope", "--step", "1", "--note", "n"), 4),
    Case("audit checkpoint", "aud", ("audit", "checkpoint"), 0),
    Case("audit verify", "aud", ("audit", "verify", "--no-witness"), 0),
    Case("audit verify by a researcher", "li", ("audit", "verify"), 3),
    Case("audit verify, kept checkpoint missing", "aud", ("audit", "verify", "--since", "/nonexistent/cp.json"), 2),
    Case("audit report", "aud", ("audit", "report", "{generic}", "-o", "{report}"), 0),
    Case("token create by a researcher", "li", ("token", "create", "ann"), 3),
    Case("token create, bad days", "alice", ("token", "create", "ann", "--days", "0"), 2),
    Case("token create", "alice", ("token", "create", "ann", "--note", "ci"), 0, {"token_id": ("id",)}),
    Case("token revoke", "alice", ("token", "revoke", "{token_id}"), 0),
    Case("token revoke, unknown", "li", ("token", "revoke", "nope"), 4),
]

_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<hash>"),
    (re.compile(r"/parity\d*/[er]/"), "/parity/<store>/"),
    (re.compile(r"qgov_pat_\S+"), "<token>"),
    (re.compile(r"\b[0-9a-f]{16}\b"), "<token-id>"),
]
# Signed or noisy values, and positions in a log that has more events on the served store
# (its tokens were issued there): they differ between any two stores.
_SIGNED = {"note", "key_name", "signature", "root_hash", "value", "pseudonym", "noise_scale", "warnings"}
_SIGNED |= {
    "signed_note",
    "log",
    "seq",
    "count",
    "interval",
    "checkpoints_checked",
    "events_checked",
    "latest_checkpoint",
}


def _normal(value: Any, key: str = "") -> Any:
    """``value`` with what differs between two stores (ids, times, hashes, signed notes, the
    noise of a DP answer) replaced by placeholders."""
    if isinstance(value, dict):
        if "root_hash" in value:  # a checkpoint: its size is the log's length
            value = value | {"size": "<size>"}
        return {k: _normal(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normal(v, key) for v in value]
    if key in _SIGNED and value is not None:
        return f"<{key}>"
    if isinstance(value, str):
        for pattern, placeholder in _VOLATILE:
            value = pattern.sub(placeholder, value)
    return value


def _lab(env: dict[str, str], tmp: Path, mode: str) -> dict[str, str]:
    """build_lab's store, plus a dataset ``dp`` whose table is this store's own (deleting it
    shreds nothing another test needs)."""
    core = server_support.new_store(env)
    ids = server_support.build_lab(core, tmp)
    folder = tmp / "dp-table"
    folder.mkdir()
    (folder / "dp.csv").write_text("q,t1\n" + "".join(f"{i},{40 + i % 20}\n" for i in range(60)))
    register_dataset(core, DatasetSpec(name="dp", owner="alice", subject={"type": "none"}, research={}))
    plan = plan_ingest(core, folder, "dp")
    from datetime import UTC, datetime

    finish_run(core, plan, ingest_batch(core, plan, plan.files), datetime.now(UTC), 0)
    ids["dp"] = list_artifacts(core, "dp")[0].id
    core.close()
    return {"ds": "dp", "art": ids["dp"], "generic": ids["generic"], "sponsor": ids["sponsor"]}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("parity")
    profile, bad = tmp / "privacy.json", tmp / "bad-privacy.json"
    profile.write_text(json.dumps(PROFILE))
    bad.write_text(json.dumps(PROFILE | {"columns": {"t1": {"bounds": [5]}}}))
    (tmp / "empty-policy").mkdir()
    (tmp / "bad-policy").mkdir()
    (tmp / "bad-policy" / "rules.yaml").write_text("rules: [unclosed\n")
    what_if, bad_what_if = tmp / "what-if.json", tmp / "bad-what-if.json"
    requester = {"name": "Li Wei", "citizenships": ["CN"], "location": "US", "affiliation": "Univ."}
    item = {"kind": "technology", "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}}
    what_if.write_text(json.dumps({"requester": requester, "item": item, "destination": "US"}))
    bad_what_if.write_text(json.dumps({"requester": requester, "item": item, "destination": "Narnia"}))
    files = {
        "what_if": str(what_if),
        "bad_what_if": str(bad_what_if),
        "profile": str(profile),
        "bad_profile": str(bad),
        "empty_policy": str(tmp / "empty-policy"),
        "bad_policy": str(tmp / "bad-policy"),
    }
    (tmp / "e").mkdir()
    (tmp / "r").mkdir()
    local = {"QGOV_HOME": str(tmp / "e" / "home")}
    served = {"QGOV_HOME": str(tmp / "r" / "home")}
    embedded = _lab(local, tmp / "e", "embedded") | files | {"report": str(tmp / "e" / "report.html")}
    remote = _lab(served, tmp / "r", "remote") | files | {"report": str(tmp / "r" / "report.html")}
    tokens = server_support.issue_tokens(served, ["alice", *(p for p, _, _ in server_support.PEOPLE)])
    with server_support.running_server(served) as base:
        yield {
            "embedded": (local, embedded),
            "remote": ({"QGOV_URL": base, "QGOV_HOME": str(tmp / "laptop")}, remote),
            "tokens": tokens,
        }


def _run(stores: dict[str, Any], mode: str, case: Case) -> tuple[int, Any, str]:
    env, ids = stores[mode]
    args = [a.format(**ids) for a in case.args]
    if mode == "remote":
        env = env | {"QGOV_TOKEN": stores["tokens"][case.who]["token"]}
    elif case.who != "alice":
        args = ["--as", case.who, *args]
    done = subprocess.run(
        [QGOV, *args, "--json"], env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=False
    )
    try:
        doc = json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{mode} {case.name}: not one JSON document on stdout: {done.stdout!r} {done.stderr!r}")
    for placeholder, path in case.save.items():
        found = doc
        for key in path:
            found = found[key]
        ids[placeholder] = found
    return done.returncode, doc, done.stderr


def test_every_command_answers_the_same_embedded_and_through_the_server(stores: dict[str, Any]) -> None:
    differences = []
    for case in CASES:
        code_e, doc_e, err_e = _run(stores, "embedded", case)
        code_r, doc_r, err_r = _run(stores, "remote", case)
        if code_e != case.code:
            differences.append(f"{case.name}: embedded exit {code_e}, expected {case.code}: {err_e}")
        if (code_r, _normal(doc_r)) != (code_e, _normal(doc_e)):
            differences.append(f"{case.name}: exit {code_e} / {code_r}\n  {_normal(doc_e)}\n  {_normal(doc_r)}")
        if code_e and len(err_r.strip().splitlines()) != 1:
            differences.append(f"{case.name}: not one line on stderr: {err_r}")
    assert not differences, "\n".join(differences)


ROUTES = [  # (method, path, body): each new route refuses without a token, and a researcher where the table says no
    ("POST", "/holds", {"reason": "r", "artifact": "{art}"}),
    ("POST", "/artifacts/{art}/deletion", {"reason": "r", "before_retention_end": True}),
    ("GET", "/artifacts/{art}/deletion-plan", None),
    ("POST", "/people/ann/erasure", {"reason": "r"}),
    ("PUT", "/datasets/dp/budget", {"data": PROFILE}),
    ("POST", "/datasets/dp/budget/reconciliations", {"release_id": "x", "action": "refund", "reason": "r"}),
    ("POST", "/releases/x/review", {"approve": True, "reason": "r"}),
    ("POST", "/releases/x/classification", {"classification": "EAR99", "reason": "r"}),
    ("POST", "/grants/x/revocation", {"reason": "r"}),
    ("POST", "/policies", {"files": {}}),
    ("POST", "/artifacts/{art}/override", {"classification": "EAR99", "reason": "r"}),
    ("POST", "/artifacts/{art}/declassification", {"reason": "r"}),
    ("POST", "/derivations", {"activity": "a", "used": ["{art}"], "generated": ["{generic}"]}),
    ("POST", "/derivations/x/retraction", {"reason": "r"}),
    ("POST", "/people", {"name": "x", "citizenships": ["US"], "location": "US", "affiliation": "L"}),
    ("POST", "/audit/verifications", {}),
    ("GET", "/audit/reports/{art}", None),
    ("POST", "/tokens", {"person": "ann"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_new_route_needs_a_token_and_the_capability(
    stores: dict[str, Any], method: str, path: str, body: dict[str, Any] | None
) -> None:
    import httpx

    env, ids = stores["remote"]
    url = env["QGOV_URL"] + "/api/v1" + path.format(**ids)
    payload = json.loads(json.dumps(body).replace("{art}", ids["art"]).replace("{generic}", ids["generic"]))
    anonymous = httpx.request(method, url, json=payload, timeout=120)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("application/problem+json")
    token = stores["tokens"]["li"]["token"]
    refused = httpx.request(method, url, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["detail"].startswith("user 'li' may not ") and problem["qgov_error"]["exit_code"] == 3


def test_the_client_kept_nothing_on_its_machine(stores: dict[str, Any]) -> None:
    home = Path(stores["remote"][0]["QGOV_HOME"])
    assert not home.exists() or not any(home.rglob("*"))
