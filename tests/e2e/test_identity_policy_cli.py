"""Who acts and which policy decides, from the command line (embedded mode).

The review's attacks: ``QGOV_USER=<an officer>`` approved a Chinese national's request for
4E906 technology, and ``QGOV_POLICY_DIR`` pointing at a copy of the rules with the
deemed-export rule weakened got "approve → granted" on controlled data.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAINED = (date.today() - timedelta(days=30)).isoformat()


def _ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def _refused(proc: subprocess.CompletedProcess[str], message: str) -> None:
    """Refused with ``message`` (exit code and stream as the command-line contract has them)."""
    assert proc.returncode != 0 and message in proc.stdout + proc.stderr, (proc.returncode, proc.stderr)


def _person(cli, name: str, citizenship: str, role: str) -> None:  # type: ignore[no-untyped-def]
    facts = ["--citizenship", citizenship, "--location", "US", "--affiliation", "Lab B"]
    _ok(cli("person", "add", name, *facts, "--training-completed-on", TRAINED, "--role", role, "--json"))


@pytest.fixture
def lab(cli, sample_tree: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """alice (this OS account, admin, a trained US person); li (CN researcher); olga (officer);
    a controlled (4E906) artifact."""
    facts = ["--citizenship", "US", "--location", "US", "--affiliation", "Lab B"]
    init = _ok(cli("init", "--name", "alice", *facts, "--training-completed-on", TRAINED, "--json"))
    assert init["admin_granted_to"] == "alice"
    _person(cli, "li", "CN", "researcher")
    _person(cli, "olga", "US", "export_control_officer")
    params = ["--param", "physical_qubits=120", "--param", "cnot_error=0.0008"]
    _ok(
        cli(
            "dataset",
            "register",
            "sponsor",
            "--subject-type",
            "quantum_computer",
            *params,
            "--restrictions-accepted",
            "yes",
            "--json",
        )
    )
    arts = _ok(cli("ingest", str(sample_tree), "-d", "sponsor", "--json"))["artifacts"]
    return {"artifact": next(a["id"] for a in arts if a["path"] == "calibration.csv")}


def _events(cli, kind: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    events = _ok(cli("audit", "events", "--json"))["events"]
    return [e for e in events if e["type"] == kind]


def test_qgov_user_names_nobody_and_an_officer_cannot_be_posed_as(cli, lab: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    asked = _ok(
        cli("access", "request", "--artifact", lab["artifact"], "--purpose", "benchmark", "--json", acting_as="li")
    )
    assert (asked["outcome"], asked["status"]) == ("license_required", "queued")
    # The attack: QGOV_USER names the officer; the OS account is alice's, who is no officer.
    posing = cli("access", "approve", asked["request"], "--licence", "x", "--json", extra_env={"QGOV_USER": "olga"})
    _refused(posing, "user 'alice' may not approve or deny access requests")
    queue = _ok(cli("access", "queue", "--json", acting_as="olga"))["queue"]
    assert [q["request"] for q in queue] == [asked["request"]]  # still waiting for an officer


def test_acting_as_another_is_recorded_with_the_admin(cli, lab: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    asked = _ok(
        cli("access", "request", "--artifact", lab["artifact"], "--purpose", "benchmark", "--json", acting_as="li")
    )
    decided = _ok(cli("access", "deny", asked["request"], "--reason", "no licence", "--json", acting_as="olga"))
    assert decided["status"] == "denied"
    [requested] = _events(cli, "access.requested")
    [denied] = _events(cli, "access.denied")
    assert requested["actor"] == "li" and denied["actor"] == "olga"
    # both name the admin who typed them, as a pseudonymous actor reference
    admin_ref = requested["payload"]["acting_admin"]
    assert denied["payload"]["acting_admin"] == admin_ref and len(admin_ref) == 64
    assert requested["acting_admin"] == denied["acting_admin"] == "alice"
    # a person nobody registered cannot be acted as
    ghost = cli("access", "queue", "--json", acting_as="ghost")
    _refused(ghost, "'ghost' is not a registered person")


def test_the_first_admin_registered_at_init_can_ask_for_data(cli, lab: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    asked = _ok(cli("access", "request", "--artifact", lab["artifact"], "--purpose", "own analysis", "--json"))
    assert (asked["outcome"], asked["status"]) == ("approve", "granted")
    _ok(cli("fetch", lab["artifact"], "-o", str(tmp_path / "t.csv"), "--json"))
    assert _events(cli, "access.requested")[0]["actor"] == "alice"


def _weakened(tmp_path: Path) -> Path:
    """A copy of the bundled access rules whose deemed-export rule approves."""
    body = (ROOT / "policies" / "bundles" / "ear" / "access.yaml").read_text(encoding="utf-8")
    rule = "    - id: ear.access.deemed-export\n      outcome: license_required\n"
    assert rule in body
    org = tmp_path / "weakened"
    org.mkdir()
    (org / "access.yaml").write_text(body.replace(rule, rule.replace("license_required", "approve")))
    return org


def test_a_weakened_policy_directory_changes_no_recorded_decision(cli, lab: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    org = _weakened(tmp_path)
    weakened = {"QGOV_POLICY_DIR": str(org)}
    asked = _ok(
        cli(
            "access",
            "request",
            "--artifact",
            lab["artifact"],
            "--purpose",
            "benchmark",
            "--json",
            acting_as="li",
            extra_env=weakened,
        )
    )
    assert (asked["outcome"], asked["status"]) == ("license_required", "queued")
    assert asked["grant"] is None
    # the same directory is honoured where nothing is recorded: a what-if
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {
                "requester": {
                    "name": "Li",
                    "citizenships": ["CN"],
                    "location": "US",
                    "affiliation": "Lab B",
                    "training_completed_on": TRAINED,
                },
                "item": {"artifact": lab["artifact"]},
                "purpose": "benchmark",
                "destination": "US",
            }
        )
    )
    in_force = _ok(cli("access", "check", str(request), "--json"))
    what_if = _ok(cli("access", "check", str(request), "--policy", str(org), "--json"))
    assert in_force["outcome"] == "license_required" and what_if["outcome"] == "approve"
    assert what_if["policy_version"] != in_force["policy_version"]


def test_only_an_admin_publishes_and_each_version_is_logged(cli, lab: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    org = _weakened(tmp_path)
    versions = _ok(cli("policy", "list", "--json"))["versions"]
    assert [(v["version"], v["in_force"]) for v in versions] == [(1, True)]
    refused = cli("policy", "publish", str(org), "--json", acting_as="olga")
    _refused(refused, "user 'olga' may not publish policy bundles")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("jurisdiction: US-EAR\nrules: [{id: x, colour: red}]\n")
    broken = cli("policy", "publish", str(bad), "--json")
    _refused(broken, "x.yaml: rules[0]")
    published = _ok(cli("policy", "publish", str(org), "--note", "deemed exports approved", "--json"))
    assert (published["version"], published["new"]) == (2, True)
    again = _ok(cli("policy", "publish", str(org), "--json"))
    assert (again["version"], again["new"]) == (2, False)
    [event] = [e for e in _events(cli, "policy.published") if e["payload"]["version"] == 2]
    assert event["actor"] == "alice" and event["payload"]["sha256"] == published["sha256"]
    shown = _ok(cli("policy", "show", "--version", "1", "--json"))
    assert shown["published"]["version"] == 1 and not shown["published"]["in_force"]
    # now, and only now, the recorded decision follows the published rule
    asked = _ok(
        cli("access", "request", "--artifact", lab["artifact"], "--purpose", "benchmark", "--json", acting_as="li")
    )
    assert (
        asked["outcome"] == "approve" and asked["decision"]["policy_version"] == published["policy_versions"]["US-EAR"]
    )
