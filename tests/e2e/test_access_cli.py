"""`qgov screen` and `qgov access check` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import QGOV

AT = "2026-11-25T12:00:00Z"
REQUESTER = {
    "name": "Li Wei",
    "citizenships": ["CN"],
    "us_permanent_resident": False,
    "location": "US",
    "affiliation": "University of Maryland",
    "training_completed_on": "2026-05-01",
}
CONTROLLED_ITEM = {
    "kind": "technology",
    "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008},
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QGOV, *args], capture_output=True, text=True, timeout=120, check=False, env=dict(os.environ))


def _check(tmp_path: Path, **changes: object) -> dict:
    request = {
        "requester": dict(REQUESTER),
        "item": CONTROLLED_ITEM,
        "purpose": "readout benchmark",
        "destination": "US",
    }
    requester_changes = changes.pop("requester", {})
    request["requester"].update(requester_changes)  # type: ignore[union-attr]
    request.update(changes)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    proc = _run("access", "check", str(path), "--at", AT, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_deemed_export_of_controlled_technology_needs_a_licence(tmp_path: Path) -> None:
    doc = _check(tmp_path)
    assert doc["outcome"] == "license_required" and doc["classification"] == "4E906"
    assert doc["reasons"][0]["rule"] == "ear.access.deemed-export" and doc["export_countries"] == ["CN"]
    assert {s["field"] for s in doc["screening"]} == {"name", "affiliation"}


def test_published_result_is_approved_at_once(tmp_path: Path) -> None:
    doc = _check(tmp_path, item=CONTROLLED_ITEM | {"published": True})
    assert doc["outcome"] == "approve" and doc["classification"] == "NOT_SUBJECT"


def test_listed_affiliation_is_denied_and_a_denial_is_exit_0(tmp_path: Path) -> None:
    doc = _check(tmp_path, requester={"affiliation": "Hefei National Laboratory for Physical Sciences at Microscale"})
    assert doc["outcome"] == "deny"
    assert doc["reasons"][0]["rule"] == "ear.access.entity-list-presumption-of-denial"


def test_embargoed_destination_is_denied(tmp_path: Path) -> None:
    doc = _check(tmp_path, item={"kind": "dataset", "subject": {"type": "none"}}, destination="CU")
    assert doc["outcome"] == "deny" and doc["reasons"][0]["rule"] == "ear.access.embargoed-destination"


def test_bad_request_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps({"requester": REQUESTER, "item": CONTROLLED_ITEM, "destination": "China"}))
    proc = _run("access", "check", str(path))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "request.json.destination: expected an ISO 3166 two-letter code" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "status"),
    [("QuantumCTek Co Ltd", "potential_match"), ("Massachusetts Institute of Technology", "clear")],
    ids=["listed", "benign"],
)
def test_screen_json_contract(name: str, status: str) -> None:
    proc = _run("screen", name, "--country", "CN", "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["status"] == status
    for match in doc["matches"]:
        assert {"name", "list", "score", "entry_id"} <= set(match)
