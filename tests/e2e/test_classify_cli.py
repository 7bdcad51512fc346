"""`qgov classify`, `qgov policy …`, and the officer's commands as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import QGOV

pytestmark = pytest.mark.usefixtures("in_whatif_store")

ITEM = {
    "name": "fidelity-sweep-2026-03",
    "kind": "technology",
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
    "research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": True},
    "published": False,
    "catalog_course": False,
}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [QGOV, *args], capture_output=True, text=True, env=dict(os.environ, **(env or {})), timeout=120, check=False
    )


def _item(tmp_path: Path, item: object, name: str = "item.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(item))
    return str(path)


def test_classify_json_contract(tmp_path: Path) -> None:
    proc = _run("classify", _item(tmp_path, ITEM), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["classification"] == "4E906" and doc["controlled"] is True and doc["subject_to_ear"] is True
    assert doc["missing"] == [] and doc["reasons"][0]["rule"] == "ear.4A906.a.2"
    assert {"rule", "citation", "text"} <= set(doc["reasons"][0]) and len(doc["policy_version"]) == 64


def test_classify_explains_in_plain_words(tmp_path: Path) -> None:
    proc = _run("classify", _item(tmp_path, ITEM))
    assert proc.returncode == 0 and proc.stderr == ""  # the answer is the result: stdout
    assert "fidelity-sweep-2026-03 is 4E906 (controlled)" in proc.stdout
    assert "15 CFR 774 Supp. 1, ECCN 4A906.a.2" in proc.stdout
    assert (
        "not cleared by ear.734.8: fundamental research claimed but research.restrictions_accepted is true"
        in proc.stdout
    )


def test_incomplete_is_an_answer_not_an_error(tmp_path: Path) -> None:
    item = dict(ITEM, subject={"type": "quantum_computer", "physical_qubits": 150}, research={})
    proc = _run("classify", _item(tmp_path, item), "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert (doc["classification"], doc["controlled"], doc["missing"]) == ("INCOMPLETE", None, ["subject.cnot_error"])


def test_second_jurisdiction(tmp_path: Path) -> None:
    proc = _run("classify", _item(tmp_path, dict(ITEM, kind="hardware")), "--jurisdiction", "CA-ECL", "--json")
    assert json.loads(proc.stdout)["classification"] == "5506"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"kind": "gadget"}, "item.json.kind: expected one of"),
        (
            {"kind": "hardware", "subject": {"type": "qkd", "physical_qubits": "lots"}},
            "item.json.subject.physical_qubits: expected a number",
        ),
        ("not json", "item file"),
        (
            {"kind": "hardware", "subject": {"type": "quantum_computer", "physical_qubits": -5, "cnot_error": 1.0e-4}},
            "item.json.subject.physical_qubits: expected a positive whole number of qubits (1 or more), got -5",
        ),
        (
            {"kind": "dataset", "subject": {"type": "quantum_computer", "physical_qubits": 50, "cnot_error": 2.0}},
            "item.json.subject.cnot_error: expected an average C-NOT error between 0 and 1 (0 < error < 1), got 2.0",
        ),
        (
            {"kind": "hardware", "subject": {"type": "cryo_cmos", "operating_temperature_k": -1}},
            "item.json.subject.operating_temperature_k: expected a temperature in kelvin above 0 K (> 0), got -1",
        ),
    ],
    ids=["bad kind", "text parameter", "not JSON", "negative qubits", "error above one", "negative kelvin"],
)
def test_bad_items_are_one_line_exit_2(tmp_path: Path, item: object, message: str) -> None:
    path = tmp_path / "item.json"
    path.write_text(item if isinstance(item, str) else json.dumps(item))
    proc = _run("classify", str(path), "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["error"]["code"] == "bad_input"
    assert message in json.loads(proc.stdout)["error"]["message"]
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_policy_test_passes_shipped_cases_and_fails_a_wrong_one(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    ok = _run("policy", "test", str(root / "policies/cases/ear.yaml"), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["failed"] == 0
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "cases:\n  - name: 33 qubits is controlled?\n    item: {kind: hardware, subject: {type: quantum_computer, physical_qubits: 33, cnot_error: 1.0e-9}}\n    expect: 4A906\n"
    )
    bad = _run("policy", "test", str(wrong))
    assert bad.returncode == 1 and "FAIL 33 qubits is controlled?" in bad.stdout and "0 passed, 1 failed" in bad.stdout


def test_a_broken_org_policy_is_one_line_naming_the_rule(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        "jurisdiction: US-EAR\nrules:\n  - {id: org.a, entry: X, subject: qkd, hardware: X, citation: c, status: V, effective: 2026-01-01, colour: red}\n"
    )
    proc = _run("policy", "show", env={"QGOV_POLICY_DIR": str(tmp_path)})
    assert proc.returncode == 2 and "rules[0].colour: unknown key" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_officer_workflow_from_the_cli(cli, sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    cli(
        "dataset",
        "register",
        "calib",
        "--subject-type",
        "quantum_computer",
        "--param",
        "physical_qubits=120",
        "--param",
        "cnot_error=0.0008",
        "--restrictions-accepted",
        "yes",
    )
    arts = json.loads(cli("ingest", str(sample_tree), "-d", "calib", "--json").stdout)["artifacts"]
    csv = next(a for a in arts if a["path"] == "calibration.csv")
    shown = json.loads(cli("artifact", "show", csv["id"], "--json").stdout)
    assert shown["classification"] == "4E906" and shown["classification_basis"] == "automatic"
    refused = cli("override", csv["id"], "--as", "EAR99", "--reason", "aggregates")
    assert refused.returncode == 3 and "needs the export_control_officer role" in refused.stderr
    assert (
        cli("person", "add", "olga", "--citizenship", "US", "--location", "US", "--affiliation", "Lab B").returncode
        == 0
    )
    assert cli("role", "grant", "olga", "export_control_officer").returncode == 0
    done = cli("override", csv["id"], "--as", "EAR99", "--reason", "aggregates only", "--json", acting_as="olga")
    assert json.loads(done.stdout)["changes"][0]["new"] == "EAR99"
    shown = json.loads(cli("artifact", "show", csv["id"], "--json").stdout)
    assert shown["classification"] == "EAR99" and {h["source"] for h in shown["classification_history"]} == {
        "automatic",
        "override",
    }
    again = json.loads(cli("reclassify", "--json").stdout)
    assert again["changed"] == 0
