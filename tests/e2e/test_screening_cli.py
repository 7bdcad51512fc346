"""`qgov screening load` (CSL CSV/JSON, OpenSanctions FtM) and `qgov screen` warnings, as a user runs them."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "screening"
SAMPLE_WARNING = "the list in force is the bundled sample"


def ok(proc: subprocess.CompletedProcess[str]) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _officer(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    ok(
        cli(
            "person", "add", "olga", "--citizenship", "US", "--location", "US", "--affiliation", "Lab B",
            "--training-completed-on", datetime.now(UTC).date().isoformat(), "--role", "export_control_officer",
            "--json",
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    "name", ["Skolkovo Institute of Science and Technology", "Malek Ashtar University of Technology"]
)
def test_with_only_the_sample_a_clear_screen_warns_that_the_list_is_the_sample(cli, name: str) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--name", "alice")
    doc = ok(cli("screen", name, "--json"))
    assert doc["status"] == "clear" and doc["list"]["sample"] is True
    assert doc["warnings"] and doc["warnings"][0].startswith(SAMPLE_WARNING)
    text = cli("screen", name)
    assert text.returncode == 0
    out = " ".join((text.stdout + text.stderr).split())
    assert "clear (unverified" in out and f"warning: {SAMPLE_WARNING}" in out


@pytest.mark.parametrize(
    ("fixture", "fmt", "query", "entry_id"),
    [
        ("csl-test.csv", "csv", "北方航天大学", "test-el-001"),
        ("csl-test.json", "json", "SNPT", "test-el-101"),
        ("opensanctions-test.ftm.json", "ftm", "Sintetik Zapad Kriogenika Test", "test-os-company-1"),
    ],
    ids=["csl_csv", "csl_json", "opensanctions_ftm"],
)
def test_a_loaded_list_is_detected_recorded_and_screened_without_the_sample_warning(  # type: ignore[no-untyped-def]
    cli, fixture: str, fmt: str, query: str, entry_id: str
) -> None:
    _officer(cli)
    loaded = ok(cli("screening", "load", str(DATA / fixture), "--json", acting_as="olga"))["list"]
    assert loaded["new"] and loaded["format"] == fmt
    doc = ok(cli("screen", query, "--json"))
    assert doc["status"] == "potential_match" and doc["matches"][0]["entry_id"] == entry_id
    assert doc["warnings"] == [] and doc["list"]["sample"] is False and doc["list"]["source"] == fixture
    again = ok(cli("screening", "load", str(DATA / fixture), "--format", fmt, "--json", acting_as="olga"))
    assert again["list"]["new"] is False and again["list"]["version"] == loaded["version"]
    log = cli("audit", "verify")
    assert log.returncode == 0, log.stderr


def test_loading_the_sample_as_a_list_still_warns(cli) -> None:  # type: ignore[no-untyped-def]
    _officer(cli)
    sample = Path(__file__).resolve().parents[2] / "policies" / "data" / "restricted-parties-sample.csv"
    ok(cli("screening", "load", str(sample), "--json", acting_as="olga"))
    doc = ok(cli("screen", "Malek Ashtar University of Technology", "--json"))
    assert doc["list"]["sample"] is True and doc["warnings"][0].startswith(SAMPLE_WARNING)


def test_an_access_decision_past_the_list_s_maximum_age_goes_to_review_and_says_why(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _officer(cli)
    ok(cli("screening", "load", str(DATA / "csl-test.csv"), "--json", acting_as="olga"))
    request = {
        "requester": {"name": "Ada Byron", "citizenships": ["US"], "location": "US", "affiliation": "Lab B"}
        | {"training_completed_on": datetime.now(UTC).date().isoformat()},
        "item": {"kind": "dataset", "subject": {"type": "none"}},
        "purpose": "calibration study",
        "destination": "US",
    }
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    fresh = ok(cli("access", "check", str(path), "--json"))
    assert fresh["outcome"] == "approve" and not [r for r in fresh["reasons"] if r["outcome"] == "warning"]
    later = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = ok(cli("access", "check", str(path), "--at", later, "--json"))
    assert stale["outcome"] == "review"
    rules = {r["rule"]: r for r in stale["reasons"]}
    assert "ear.access.screening-list-stale" in rules
    assert "more than the policy's maximum of 7 days" in rules["screening.list-warning"]["text"]
    assert all("more than the policy's maximum" in w for s in stale["screening"] for w in s["warnings"])
    text = cli("access", "check", str(path), "--at", later)
    assert text.returncode == 0 and "warning: the list in force was loaded" in " ".join(
        (text.stdout + text.stderr).split()
    )


BAD_FILES = [
    ("ftm_bad_line", "bad.ftm.json", '{"id": "a", "schema": "Company", "properties": {"name": ["A"]}}\n{"id": ', [], r"bad.ftm.json, line 2: not valid JSON"),
    ("ftm_no_name", "bad.ftm.json", '{"id": "a", "schema": "Person", "properties": {}}\n', [], r"bad.ftm.json, line 1: field 'properties.name' is empty"),
    ("csv_missing_name", "bad.csv", "_id,source\nx,EL\n", [], r"bad.csv: missing column 'name'"),
    ("unknown_format", "list.csv", "_id,source,name\nx,EL,A\n", ["--format", "xml"], r"--format: expected one of csv, json, ftm, got 'xml'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("filename", "text", "options", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_a_bad_list_file_is_one_line_naming_file_line_and_field(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, filename: str, text: str, options: list[str], message: str
) -> None:
    _officer(cli)
    path = tmp_path / filename
    path.write_text(text)
    proc = cli("screening", "load", str(path), *options, acting_as="olga")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and message in errors[0], proc.stderr  # one line (Prefect may log its own)
