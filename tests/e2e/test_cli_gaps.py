"""Issue 16's gaps on the command line, as people run it: on the local store (this OS account
is alice's; ``qgov --as NAME`` for the others) and as a client of `qgov serve` (QGOV_URL +
QGOV_TOKEN), with the same exit codes and documents.

Exit codes follow DESIGN.md: 2 bad input, and the codes of "not permitted" and "not found"
are those of :class:`AccessDenied` and :class:`NotFoundError` (the contract's 3 and 4).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qgov.errors import AccessDenied, NotFoundError
from tests.conftest import QGOV
from tests.e2e import server_support

NOT_PERMITTED = AccessDenied.exit_code
NOT_FOUND = NotFoundError.exit_code


@dataclass
class Lab:
    env: dict[str, str]
    ids: dict[str, str]
    tokens: dict[str, dict[str, str]]
    base: str
    tmp: Path

    def run(self, mode: str, who: str, *args: str) -> subprocess.CompletedProcess[str]:
        if mode == "local":
            environ = {**os.environ, **self.env}
            args = args if who == "alice" else ("--as", who, *args)
        else:
            environ = {
                **os.environ,
                "QGOV_URL": self.base,
                "QGOV_TOKEN": self.tokens[who]["token"],
                "QGOV_HOME": str(self.tmp / "laptop"),
            }
            environ.pop("QGOV_DATABASE_URL", None)
        return subprocess.run([QGOV, *args], env=environ, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("gaps")
    with server_support.database(request.param, tmp) as db_url:
        env = {"QGOV_HOME": str(tmp / "home"), "QGOV_DATABASE_URL": db_url}
        core = server_support.new_store(env)
        ids = server_support.build_lab(core, tmp)
        core.close()
        tokens = server_support.issue_tokens(env, ["alice", *(p for p, _, _ in server_support.PEOPLE)])
        with server_support.running_server(env) as base:
            yield Lab(env, ids, tokens, base, tmp)


MODES = pytest.mark.parametrize("mode", ["local", "remote"])


def _ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _error(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    """Exit ``code``, one line on stderr naming the problem, no result on stdout."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert text in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


# -- 5: meaningful typos ------------------------------------------------------------------
def test_a_misspelt_parameter_is_bad_input_with_a_did_you_mean(lab: Lab) -> None:
    args = ("dataset", "register", "typo", "--subject-type", "quantum_computer", "--param", "physical_qbits=54")
    _error(lab.run("local", "alice", *args), 2, "did you mean 'physical_qubits'?")
    _error(lab.run("local", "alice", "dataset", "show", "typo"), NOT_FOUND, "dataset 'typo' is not registered")


@pytest.mark.parametrize(("typed", "meant"), [("EAR-99", "EAR99"), ("4E9O6", "4E906")])
def test_an_override_to_an_unknown_classification_is_bad_input(lab: Lab, typed: str, meant: str) -> None:
    proc = lab.run("local", "olga", "override", lab.ids["generic"], "--as", typed, "--reason", "typo")
    _error(proc, 2, f"--as '{typed}': not a classification of US-EAR; did you mean '{meant}'?")


def test_a_role_for_an_unregistered_person_is_not_found(lab: Lab) -> None:
    mode = "local"
    _error(
        lab.run(mode, "alice", "role", "grant", "ghost", "researcher"), NOT_FOUND, "person 'ghost' is not registered"
    )
    _error(lab.run(mode, "alice", "role", "grant", "rtia", "auditor"), NOT_FOUND, "did you mean 'rita'?")


# -- 6: fixing mistakes -------------------------------------------------------------------
@MODES
def test_roles_are_granted_and_revoked_by_admins_only(lab: Lab, mode: str) -> None:
    assert _ok(lab.run(mode, "alice", "role", "grant", "rob", "auditor", "--json")) == {
        "person": "rob",
        "role": "auditor",
    }
    assert _ok(lab.run(mode, "alice", "role", "revoke", "rob", "auditor", "--json"))["revoked"] is True
    assert _ok(lab.run(mode, "alice", "role", "revoke", "rob", "auditor", "--json"))["revoked"] is False
    _error(lab.run(mode, "li", "role", "revoke", "rob", "researcher"), NOT_PERMITTED, "may not grant or revoke roles")
    _error(lab.run(mode, "alice", "role", "revoke", "rob", "wizard"), 2, "role 'wizard': expected one of")
    human = lab.run(mode, "alice", "role", "revoke", "rob", "auditor")
    assert human.returncode == 0 and "rob did not hold auditor" in human.stdout + human.stderr


def test_people_are_listed_and_shown_as_the_capability_table_allows(lab: Lab) -> None:
    mode = "local"  # the same routes through the server: tests/e2e/test_api_gaps.py
    page = _ok(lab.run(mode, "aud", "person", "list", "--limit", "2", "--json"))
    assert page["total"] == len(server_support.PEOPLE) and len(page["items"]) == 2
    assert {"name", "citizenships", "location", "affiliation", "roles"} <= set(page["items"][0])
    table = lab.run(mode, "olga", "person", "list")
    assert table.returncode == 0 and "li" in table.stdout + table.stderr
    _error(lab.run(mode, "li", "person", "list"), NOT_PERMITTED, "may not read other people's registered facts")
    mine = _ok(lab.run(mode, "li", "person", "show", "li", "--json"))
    assert mine["citizenships"] == ["CN"] and "requests" in mine and "grants" in mine
    _error(lab.run(mode, "li", "person", "show", "ann"), NOT_PERMITTED, "may not read other people's")
    _error(lab.run(mode, "olga", "person", "show", "nobody"), NOT_FOUND, "person 'nobody' is not registered")
    assert "requests" in _ok(lab.run(mode, "olga", "person", "show", "ann", "--json"))


@MODES
def test_a_dataset_is_corrected_field_by_field(lab: Lab, mode: str, tmp_path: Path) -> None:
    checks = tmp_path / "checks.yaml"
    owner, column = ("ann", "q") if mode == "local" else ("rob", "t1")  # the remote run changes them again
    checks.write_text(f"- expectation: expect_column_values_to_not_be_null\n  column: {column}\n")
    done = _ok(
        lab.run(
            mode,
            "alice",
            "dataset",
            "update",
            "generic",
            "--description",
            f"readout ({mode})",
            "--owner",
            owner,
            "--expectations",
            str(checks),
            "--json",
        )
    )
    assert set(done["fields"]) == {"description", "owner", "expectations"} and done["changed"] == 0
    shown = _ok(lab.run("local", "alice", "dataset", "show", "generic", "--json"))
    assert (shown["owner"], shown["description"]) == (owner, f"readout ({mode})")
    _error(lab.run(mode, "alice", "dataset", "update", "generic", "--owner", "anne"), NOT_FOUND, "did you mean 'ann'")
    _error(lab.run(mode, "alice", "dataset", "update", "generic"), 2, "give at least one change")
    bad = lab.run(mode, "alice", "dataset", "update", "generic", "--param", "physical_qbits=5")
    _error(bad, 2, "not a parameter of a none item")
    _error(lab.run(mode, "li", "dataset", "update", "generic", "--description", "x"), NOT_PERMITTED, "may not change")


def test_a_subject_correction_reclassifies_the_data(lab: Lab) -> None:
    done = _ok(lab.run("local", "alice", "dataset", "update", "sponsor", "--param", "physical_qubits=20", "--json"))
    assert done["fields"] == ["subject"] and done["changes"][0]["artifact"] == lab.ids["sponsor"]
    assert done["changes"][0]["old"] == "4E906" and done["changes"][0]["new"] != "4E906"
    back = _ok(lab.run("local", "alice", "dataset", "update", "sponsor", "--param", "physical_qubits=120", "--json"))
    assert back["changes"][0]["new"] == "4E906"


# -- 7 and 8: a researcher's requests, why fetch refuses, the officer's queue ------------
@MODES
def test_access_mine_and_fetch_say_where_a_request_stands(lab: Lab, mode: str, tmp_path: Path) -> None:
    who, out = "li", tmp_path / "t1.csv"  # li (CN) waits for an officer: a deemed export of 4E906
    if mode == "local":  # the local run comes first and asks; the remote one finds a request pending
        never = lab.run(mode, who, "fetch", lab.ids["sponsor"], "-o", str(out))
        _error(never, NOT_PERMITTED, "no valid grant covers it (never requested)")
    asked = _ok(
        lab.run(mode, who, "access", "request", "--artifact", lab.ids["sponsor"], "--purpose", "readout", "--json")
    )
    _error(lab.run(mode, who, "fetch", lab.ids["sponsor"], "-o", str(out)), NOT_PERMITTED, "(pending)")
    assert not out.exists()
    mine = _ok(lab.run(mode, who, "access", "mine", "--json"))
    row = next(r for r in mine["requests"] if r["request"] == asked["request"])
    assert row["status"] == "queued" and row["rules"] and row["waited_hours"] >= 0
    human = lab.run(mode, who, "access", "mine")
    assert human.returncode == 0 and asked["request"] in human.stdout + human.stderr
    queue = _ok(lab.run(mode, "olga", "access", "queue", "--json"))["queue"]
    mine_queued = next(q for q in queue if q["request"] == asked["request"])
    assert mine_queued["destination"] == "US" and mine_queued["days"] == 30
    assert mine_queued["classifications"] == [{"artifact": lab.ids["sponsor"], "classification": "4E906"}]
    assert "citizenships" in mine_queued and isinstance(mine_queued["screening"], list)
    table = lab.run(mode, "olga", "access", "queue")
    assert table.returncode == 0 and "4E906" in table.stdout + table.stderr
    _error(lab.run(mode, who, "access", "queue"), NOT_PERMITTED, "may not see the review queue")


# -- 9: the auditor's view ----------------------------------------------------------------
@MODES
def test_audit_events_filter_by_type_actor_and_time(lab: Lab, mode: str) -> None:
    since = "2000-01-01T00:00:00Z"
    events = _ok(lab.run(mode, "aud", "audit", "events", "--type", "person.registered", "--since", since, "--json"))[
        "events"
    ]
    assert events and {e["type"] for e in events} == {"person.registered"}
    by_alice = _ok(lab.run(mode, "aud", "audit", "events", "--actor", "alice", "--limit", "3", "--json"))["events"]
    assert len(by_alice) == 3 and {e["actor"] for e in by_alice} == {"alice"}
    none = _ok(lab.run(mode, "aud", "audit", "events", "--until", since, "--json"))["events"]
    assert none == []
    _error(lab.run(mode, "aud", "audit", "events", "--since", "yesterday"), 2, "--since: expected an ISO 8601 time")
    _error(lab.run(mode, "li", "audit", "events"), NOT_PERMITTED, "may not read the provenance log")


def test_audit_checkpoints_lists_sizes_and_times(lab: Lab) -> None:
    mode = "local"
    assert lab.run("local", "alice", "audit", "checkpoint").returncode == 0
    page = _ok(lab.run(mode, "aud", "audit", "checkpoints", "--json"))
    assert page["total"] >= 1 and page["items"][0]["size"] >= 1 and page["items"][0]["created_at"].endswith("Z")
    human = lab.run(mode, "aud", "audit", "checkpoints")
    assert human.returncode == 0 and str(page["items"][0]["size"]) in human.stdout + human.stderr
    _error(lab.run(mode, "li", "audit", "checkpoints"), NOT_PERMITTED, "may not read the provenance log")
