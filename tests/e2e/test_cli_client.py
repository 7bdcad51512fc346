"""The command line as a client of `qgov serve` (QGOV_URL + QGOV_TOKEN): same documents, no keys."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import QGOV
from tests.e2e import server_support


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    tmp: Path = tmp_path_factory.mktemp("remote")
    env = {"QGOV_HOME": str(tmp / "server-home")}
    core = server_support.new_store(env)
    ids = server_support.build_lab(core, tmp)
    core.close()
    tokens = server_support.issue_tokens(env, ["li", "olga"])
    with server_support.running_server(env) as base:
        yield {"base": base, "tokens": tokens, "ids": ids, "client_home": tmp / "laptop"}


def _as(remote: dict[str, object], who: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    tokens = remote["tokens"]
    assert isinstance(tokens, dict)
    environ = {
        **os.environ,
        "QGOV_URL": str(remote["base"]),
        "QGOV_TOKEN": tokens[who]["token"],
        "QGOV_HOME": str(remote["client_home"]),
        **extra,
    }
    return subprocess.run([QGOV, *args], env=environ, capture_output=True, text=True, timeout=120, check=False)


def test_a_researcher_requests_and_an_officer_approves_through_the_server(
    remote: dict[str, object], tmp_path: Path
) -> None:
    ids = remote["ids"]
    assert isinstance(ids, dict)
    me = _as(remote, "li", "whoami", "--json")
    assert me.returncode == 0 and json.loads(me.stdout)["name"] == "li", me.stderr
    asked = _as(remote, "li", "access", "request", "--artifact", ids["sponsor"], "--purpose", "readout", "--json")
    assert asked.returncode == 0, asked.stderr
    doc = json.loads(asked.stdout)
    assert set(doc) == {"request", "status", "outcome", "grant", "decision"} and doc["status"] == "queued"
    # the policy in force is the service's: a client's own policy directory is not read
    other = _as(
        remote,
        "li",
        "access",
        "request",
        "--artifact",
        ids["sponsor"],
        "--purpose",
        "again",
        "--json",
        QGOV_POLICY_DIR="/nonexistent/weakened-rules",
    )
    assert other.returncode == 0 and json.loads(other.stdout)["outcome"] == "license_required", other.stderr
    # the token is li's: li may not approve, and a client of a server cannot act as another
    posing = _as(remote, "li", "access", "approve", doc["request"], "--licence", "x")
    assert posing.returncode == 3 and "user 'li' may not approve" in posing.stderr
    posing = _as(remote, "li", "--as", "olga", "access", "approve", doc["request"], "--licence", "x")
    assert posing.returncode == 2 and "--as olga: not available with QGOV_URL" in posing.stderr
    queue = _as(remote, "olga", "access", "queue", "--json")
    assert doc["request"] in [q["request"] for q in json.loads(queue.stdout)["queue"]]
    approved = _as(remote, "olga", "access", "approve", doc["request"], "--licence", "BIS D1", "--json")
    assert approved.returncode == 0 and json.loads(approved.stdout)["grant"], approved.stderr
    out = tmp_path / "t1.csv"
    got = _as(remote, "li", "fetch", ids["sponsor"], "-o", str(out), "--json")
    assert got.returncode == 0, got.stderr
    assert out.read_bytes() == server_support.CONTENT and oct(out.stat().st_mode & 0o777) == "0o600"
    assert json.loads(got.stdout)["size"] == len(server_support.CONTENT)
    # the client's machine holds no key, no database, no blob
    home = Path(str(remote["client_home"]))
    assert not home.exists() or not any(home.rglob("*"))


def test_a_refused_fetch_writes_nothing_and_says_why(remote: dict[str, object], tmp_path: Path) -> None:
    ids = remote["ids"]
    assert isinstance(ids, dict)
    refused = _as(remote, "olga", "fetch", ids["generic"], "-o", str(tmp_path / "x"))
    assert refused.returncode != 0 and "no valid grant" in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_commands_not_yet_served_refuse_instead_of_opening_a_local_store(remote: dict[str, object]) -> None:
    listed = _as(remote, "li", "keys", "rotate")
    assert listed.returncode == 2 and "QGOV_URL is set" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1
