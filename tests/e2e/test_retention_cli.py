"""`qgov hold`, `qgov delete`, `qgov audit verify-certificate`, `qgov retention`, `qgov person erase`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cli_add_self


def _ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _one_line(proc: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert text in lines[0], lines[0]


@pytest.fixture
def ids(cli, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    _ok(cli("init", "--name", "alice", "--json"))
    cli_add_self(cli)
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "raw.json").write_text('{"t1": [51, 48]}')
    (folder / "fit.json").write_text('{"t1": 50}')
    _ok(
        cli(
            "dataset",
            "register",
            "calib",
            "--fundamental",
            "yes",
            "--intended-for-publication",
            "yes",
            "--restrictions-accepted",
            "no",
            "--json",
        )
    )
    found = {a["path"]: a["id"] for a in _ok(cli("ingest", str(folder), "-d", "calib", "--json"))["artifacts"]}
    _ok(
        cli(
            "lineage",
            "derive",
            "--activity",
            "fit",
            "--used",
            found["raw.json"],
            "--generated",
            found["fit.json"],
            "--json",
        )
    )
    return found


def test_a_hold_blocks_deletion_then_a_deletion_yields_a_certificate_a_third_party_verifies(cli, ids, tmp_path) -> None:  # type: ignore[no-untyped-def]
    shown = _ok(cli("retention", "show", ids["raw.json"], "--json"))
    assert shown["schedule"] == "retention.not-controlled" and shown["action"] == "delete"
    hold = _ok(cli("hold", "add", "--artifact", ids["fit.json"], "--reason", "under review", "--json"))
    assert ids["raw.json"] in hold["covers"]
    dry = _ok(cli("delete", ids["raw.json"], "--reason", "done", "--json"))
    assert dry["dry_run"] and dry["holds"][0]["hold"] == hold["hold"]
    _one_line(
        cli("delete", ids["raw.json"], "--reason", "done", "--yes", "--before-retention-end"),
        1,
        f"held by legal hold {hold['hold']}",
    )
    _ok(cli("hold", "release", hold["hold"], "--reason", "review over", "--json"))
    cert = tmp_path / "cert.json"
    signed = _ok(
        cli("delete", ids["raw.json"], "--reason", "done", "--yes", "--before-retention-end", "-o", str(cert), "--json")
    )
    assert json.loads(cert.read_text()) == signed
    key = cli("audit", "public-key").stdout.strip()
    offline = {"QGOV_HOME": str(tmp_path / "elsewhere"), "QGOV_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    ok = _ok(cli("audit", "verify-certificate", str(cert), "--key", key, "--json", extra_env=offline))
    assert ok["ok"] and ok["certificate"]["artifacts"][0]["id"] == ids["raw.json"]
    forged = json.loads(cert.read_text())
    forged["certificate"]["reason"] = "routine"
    cert.write_text(json.dumps(forged))
    bad = cli("audit", "verify-certificate", str(cert), "--key", key, extra_env=offline)
    assert bad.returncode == 1 and "field 'reason' was changed" in bad.stdout
    _one_line(cli("fetch", ids["raw.json"], "-o", str(tmp_path / "out.json")), 4, "was deleted on")
    assert _ok(cli("audit", "verify", "--json"))["ok"]


def test_the_sweep_is_a_dry_run_unless_told(cli, ids) -> None:  # type: ignore[no-untyped-def]
    dry = _ok(cli("retention", "sweep", "--at", "2040-01-01T00:00:00Z", "--json"))
    assert dry["dry_run"] and {e["path"] for e in dry["deleted"]} == {"raw.json", "fit.json"}
    assert _ok(cli("retention", "show", ids["raw.json"], "--json"))["path"] == "raw.json"
    done = _ok(cli("retention", "sweep", "--at", "2040-01-01T00:00:00Z", "--yes", "--json"))
    assert all("certificate" in e for e in done["deleted"]) and len(done["deleted"]) == 2


def test_erasing_a_person_keeps_the_log_verifiable(cli, ids) -> None:  # type: ignore[no-untyped-def]
    added = cli("person", "add", "Bob Q", "--citizenship", "DE", "--location", "DE", "--affiliation", "TU Dresden")
    assert added.returncode == 0, added.stderr
    done = _ok(cli("person", "erase", "Bob Q", "--reason", "erasure request", "--json"))
    assert done["pseudonym"].startswith("erased-")
    assert _ok(cli("audit", "verify", "--json"))["ok"]
    _one_line(cli("person", "erase", "Bob Q", "--reason", "again"), 4, "no person 'Bob Q'")
