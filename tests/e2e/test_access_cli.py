"""`qgov screen` and `qgov access check` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import QGOV

pytestmark = pytest.mark.usefixtures("in_whatif_store")

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


def test_workflow_from_the_cli(cli, sample_tree: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date, timedelta

    trained = (date.today() - timedelta(days=30)).isoformat()

    def ok(proc: subprocess.CompletedProcess[str]) -> dict:
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout else {}

    cli("init", "--name", "alice")
    ok(
        cli(
            "dataset",
            "register",
            "sponsor",
            "--subject-type",
            "quantum_computer",
            "--param",
            "physical_qubits=120",
            "--param",
            "cnot_error=0.0008",
            "--restrictions-accepted",
            "yes",
            "--json",
        )
    )
    arts = ok(cli("ingest", str(sample_tree), "-d", "sponsor", "--json"))["artifacts"]
    csv = next(a for a in arts if a["path"] == "calibration.csv")
    ok(
        cli(
            "person",
            "add",
            "li",
            "--citizenship",
            "CN",
            "--location",
            "US",
            "--affiliation",
            "University of Maryland",
            "--training-completed-on",
            trained,
            "--json",
        )
    )
    ok(
        cli(
            "person",
            "add",
            "olga",
            "--citizenship",
            "US",
            "--location",
            "US",
            "--affiliation",
            "Lab B",
            "--training-completed-on",
            trained,
            "--role",
            "export_control_officer",
            "--json",
        )
    )
    asked = ok(
        cli(
            "access",
            "request",
            "--artifact",
            csv["id"],
            "--purpose",
            "readout benchmark",
            "--json",
            acting_as="li",
        )
    )
    assert (asked["outcome"], asked["status"]) == ("license_required", "queued")
    refused = cli("fetch", csv["id"], "-o", str(tmp_path / "x.csv"), acting_as="li")
    assert refused.returncode == 3 and "no valid grant covers it" in refused.stderr
    waiting = ok(cli("access", "queue", "--json", acting_as="olga"))["queue"]
    assert [w["request"] for w in waiting] == [asked["request"]]
    no_licence = cli("access", "approve", asked["request"], acting_as="olga")
    assert no_licence.returncode == 2 and "--licence" in no_licence.stderr
    grant = ok(cli("access", "approve", asked["request"], "--licence", "BIS D123456", "--json", acting_as="olga"))[
        "grant"
    ]
    ok(cli("fetch", csv["id"], "-o", str(tmp_path / "x.csv"), "--json", acting_as="li"))
    assert (tmp_path / "x.csv").read_bytes() == (sample_tree / "calibration.csv").read_bytes()
    ok(cli("access", "revoke", grant, "--reason", "project ended", "--json", acting_as="olga"))
    again = cli("fetch", csv["id"], "-o", str(tmp_path / "y.csv"), acting_as="li")
    assert again.returncode == 3 and not (tmp_path / "y.csv").exists()
    assert ok(cli("access", "sweep", "--json"))["expired"] == []
    sample = (Path(__file__).resolve().parents[2] / "policies" / "data" / "restricted-parties-sample.csv").read_text()
    (tmp_path / "csl.csv").write_text(
        sample
        + 'el-9999-001,Entity List (EL) - Bureau of Industry and Security,,Entity,,University of Maryland,,"College Park, MD, US",99 FR 1,2026-11-20,,N,For all items subject to the EAR.,Case-by-case review.,,,,,,,,,,,,,,,\n'
    )
    refreshed = ok(cli("screening", "load", str(tmp_path / "csl.csv"), "--json", acting_as="olga"))
    assert refreshed["list"]["new"] and [h["person"] for h in refreshed["new_hits"]] == ["li"]


def test_a_us_citizen_abroad_is_an_export_to_where_they_are(tmp_path: Path) -> None:
    """15 CFR 734.13(a)(1): destination "US" does not matter when the person is in China."""
    doc = _check(tmp_path, requester={"citizenships": ["US"], "location": "CN"})
    assert doc["outcome"] == "license_required"
    assert "ear.access.located-abroad" in {r["rule"] for r in doc["reasons"]}
    assert doc["exports"] == [
        {
            "country": "CN",
            "basis": "export",
            "via": "location",
            "citation": doc["exports"][0]["citation"],
            "status": "V",
        }
    ]


def test_export_reexport_and_deemed_export_are_printed(tmp_path: Path) -> None:
    request = {
        "requester": dict(REQUESTER, citizenships=["IN"], permanent_residence="SG", location="FR"),
        "item": CONTROLLED_ITEM,
        "purpose": "readout benchmark",
        "destination": "DE",
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    proc = _run("access", "check", str(path), "--at", AT)
    assert proc.returncode == 0 and "license_required" in proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    for line in (
        "export to DE (by destination)",
        "reexport to FR (by location)",
        "deemed reexport to IN (by nationality)",
    ):
        assert line in out


def test_a_cuban_national_in_the_us_is_denied_ear99(tmp_path: Path) -> None:
    doc = _check(tmp_path, requester={"citizenships": ["CU"]}, item={"kind": "technology", "subject": {"type": "none"}})
    assert doc["outcome"] == "deny" and "ear.access.part746.cuba" in {r["rule"] for r in doc["reasons"]}
