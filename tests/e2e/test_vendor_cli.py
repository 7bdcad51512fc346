"""`qgov vendor` and `qgov violation` as officers and researchers run them, and the refusals
that keep controlled data off vendors without a current assessment (ADR 0035).

The S3 store is moto in server mode (a real S3-compatible HTTP server, as in
tests/integration/test_s3_backend.py); nothing is mocked.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.requests import Person, register_person
from governance.vendors import assess_vendor
from lineage import EventLog
from tests.integration.test_s3_backend import CREDENTIALS, moto_url  # noqa: F401  (a fixture)

boto3 = pytest.importorskip("boto3")

TRAINED = (date.today() - timedelta(days=30)).isoformat()
BUCKET = "qgov-vendor"
CONTROLLED = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def env(tmp_path: Path, db_url: str, moto_url: str) -> dict[str, str]:  # noqa: F811
    """This module's store keeps its blobs on S3 (a third party's storage), not on local disk."""
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1", **_keys())
    if BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=BUCKET)
    prefix = tmp_path.name
    return {
        "QGOV_HOME": str(tmp_path / "home"),
        "QGOV_DATABASE_URL": db_url,
        "QGOV_STORAGE_URL": f"s3://{BUCKET}/{prefix}",
        "QGOV_S3_ENDPOINT_URL": moto_url,
        **CREDENTIALS,
    }


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "testing"}


@pytest.fixture
def lab(app: App, tmp_path: Path) -> App:
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,51\n")
    register_dataset(app, DatasetSpec(name="sponsor", owner="alice", subject=CONTROLLED, research={}))
    register_dataset(app, DatasetSpec(name="generic", owner="alice"))
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("rita", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    register_person(app, Person("aud", ["US"], False, None, "US", "Lab B", TRAINED), ["auditor"])
    return app


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _refused(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert done.returncode == code, (done.stdout, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for w in words:
        assert w in done.stderr, done.stderr


def _objects(env: dict[str, str]) -> list[str]:
    client = boto3.client("s3", endpoint_url=env["QGOV_S3_ENDPOINT_URL"], region_name="us-east-1", **_keys())
    prefix = env["QGOV_STORAGE_URL"].removeprefix(f"s3://{BUCKET}/")
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def _add_storage_vendor(cli: Run, env: dict[str, str]) -> None:
    _json(
        cli(
            "vendor", "add", "Cloudy Storage", "--kind", "cloud_storage", "--jurisdiction", "US",
            "--max-classification", "4E906", "--controlled",
            "--covers", f"s3://{BUCKET}", "--covers", env["QGOV_S3_ENDPOINT_URL"], "--json",
            acting_as="olga",
        )
    )  # fmt: skip


def test_controlled_data_is_stored_on_a_vendor_only_under_a_current_assessment(
    lab: App, cli: Run, env: dict[str, str], tmp_path: Path
) -> None:
    folder = str(tmp_path / "run")
    # uncontrolled data needs no vendor: the refusal is about controlled data
    assert _json(cli("ingest", folder, "-d", "generic", "--json"))["ingested"]
    stored = len(_objects(env))
    refused = cli("ingest", folder, "-d", "sponsor")
    _refused(refused, 3, f"storage {env['QGOV_STORAGE_URL']}: no vendor in the register covers it", "qgov vendor add")
    assert list_artifacts(lab, "sponsor") == [] and len(_objects(env)) == stored  # nothing published, no staging left

    _add_storage_vendor(cli, env)
    _refused(cli("ingest", folder, "-d", "sponsor"), 3, "vendor Cloudy Storage has no assessment", "vendor assess")
    # an assessment that has run out is no assessment: medium risk is current for 365 days (policy)
    assess_vendor(
        lab.acting_for("olga"), "Cloudy Storage", "medium", "SOC 2 report", datetime.now(UTC) - timedelta(400)
    )
    _refused(cli("ingest", folder, "-d", "sponsor"), 3, "assessment expired on", "review due")

    assessed = _json(
        cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "high", "--findings", "ISO 27001; US region",
            "--json", acting_as="olga")
    )  # fmt: skip
    due = datetime.fromisoformat(assessed["review_due"]) - datetime.now(UTC)
    assert assessed["cleared_for_controlled"] and 179 <= due.days <= 180  # high risk: 180 days (policy)
    done = _json(cli("ingest", folder, "-d", "sponsor", "--json"))
    assert done["ingested"] and list_artifacts(lab, "sponsor")[0].classification not in ("EAR99", "NOT_SUBJECT")

    _json(cli("vendor", "retire", "Cloudy Storage", "--reason", "contract ended", "--json", acting_as="olga"))
    (tmp_path / "run" / "t2.csv").write_text("q,t1\n1,52\n")
    _refused(cli("ingest", folder, "-d", "sponsor"), 3, "no vendor in the register covers it")


def test_a_second_vendor_covering_the_same_storage_must_be_cleared_too(
    lab: App, cli: Run, env: dict[str, str], tmp_path: Path
) -> None:
    """Deny when unsure: every vendor that covers the target must be cleared, not just one."""
    _add_storage_vendor(cli, env)
    _json(
        cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "low", "--findings", "ok", "--json", acting_as="olga")
    )
    _json(
        cli("vendor", "add", "Reseller", "--kind", "cloud_storage", "--jurisdiction", "IE", "--max-classification",
            "EAR99", "--no-controlled", "--covers", env["QGOV_STORAGE_URL"], "--json", acting_as="olga")
    )  # fmt: skip
    refused = cli("ingest", str(tmp_path / "run"), "-d", "sponsor")
    _refused(refused, 3, "vendor Reseller is registered as receiving no controlled data")


def test_access_for_a_remote_vendor_refuses_controlled_data_without_a_current_assessment(
    lab: App, cli: Run, env: dict[str, str], tmp_path: Path
) -> None:
    _add_storage_vendor(cli, env)
    _json(
        cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "low", "--findings", "ok", "--json", acting_as="olga")
    )
    assert _json(cli("ingest", str(tmp_path / "run"), "-d", "sponsor", "--json"))["ingested"]
    assert _json(cli("ingest", str(tmp_path / "run"), "-d", "generic", "--json"))["ingested"]
    controlled, generic = (list_artifacts(lab, d)[0].id for d in ("sponsor", "generic"))
    _json(
        cli("vendor", "add", "QPU Cloud", "--kind", "quantum_processor", "--jurisdiction", "US",
            "--max-classification", "4E906", "--controlled", "--covers", "https://qpu.example", "--json", acting_as="olga")
    )  # fmt: skip
    ask = ("access", "request", "--purpose", "run on the remote QPU", "--vendor")
    refused = cli(*ask, "QPU Cloud", "--artifact", controlled, acting_as="sam")
    _refused(refused, 3, "--vendor QPU Cloud: vendor QPU Cloud has no assessment")
    _refused(cli(*ask, "Nobody Inc", "--artifact", controlled, acting_as="sam"), 4, "vendor 'Nobody Inc' is not")
    # uncontrolled data may go to it; the request records the vendor
    made = _json(cli(*ask, "QPU Cloud", "--artifact", generic, "--json", acting_as="sam"))
    assert made["status"] == "granted"
    _json(cli("vendor", "assess", "QPU Cloud", "--risk-tier", "medium", "--findings", "ok", "--json", acting_as="olga"))
    made = _json(cli(*ask, "QPU Cloud", "--artifact", controlled, "--json", acting_as="sam"))
    assert made["status"] in ("granted", "queued")
    with lab.engine.connect() as conn:
        asked = [e.body.payload for e in EventLog(conn).iter_events() if e.body.type == "access.requested"]
    assert [a.get("vendor") for a in asked] == ["QPU Cloud", "QPU Cloud"]
    # a foreign national's request for the controlled data waits for an officer
    register_person(lab, Person("li", ["CN"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    queued = _json(cli(*ask, "QPU Cloud", "--artifact", controlled, "--json", acting_as="li"))
    assert queued["status"] == "queued"
    # the vendor leaves the register's cleared list: the requests' grants are unusable for controlled
    # data (a fetch, or an officer's approval of a request still queued); uncontrolled data still goes
    _json(cli("vendor", "retire", "QPU Cloud", "--reason", "contract ended", "--json", acting_as="olga"))
    out = tmp_path / "out.csv"
    if made["status"] == "granted":
        _refused(cli("fetch", controlled, "-o", str(out), acting_as="sam"), 3, "QPU Cloud is retired", "vendor assess")
        assert not out.exists()
    stuck = cli("access", "approve", queued["request"], "--licence", "BIS D1", acting_as="olga")
    _refused(stuck, 3, "QPU Cloud is retired", queued["request"], "vendor assess")
    fetched = cli("fetch", generic, "-o", str(out), acting_as="sam")
    assert fetched.returncode == 0, fetched.stderr


def test_the_register_is_kept_by_officers_read_by_auditors_and_logged(lab: App, cli: Run, env: dict[str, str]) -> None:
    _add_storage_vendor(cli, env)
    _refused(
        cli("vendor", "add", "X", "--kind", "cloud_storage", "--jurisdiction", "US", "--max-classification", "EAR99",
            "--no-controlled", acting_as="sam"),
        3, "may not register, assess or retire vendors",
    )  # fmt: skip
    _refused(
        cli("vendor", "add", "X", "--kind", "cloud_storage", "--jurisdiction", "US", "--max-classification", "EAR99",
            "--controlled", acting_as="olga"),
        2, "--max-classification EAR99: contradicts --controlled",
    )  # fmt: skip
    _refused(
        cli("vendor", "add", "X", "--kind", "cloud_storage", "--jurisdiction", "US", "--max-classification", "4E906",
            "--controlled", "--covers", "/srv/blobs", acting_as="olga"),
        2, "--covers '/srv/blobs': expected a remote URL prefix",
    )  # fmt: skip
    _refused(cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "extreme", "--findings", "f", acting_as="olga"),
             2, "--risk-tier 'extreme': expected one of low, medium, high")  # fmt: skip
    listed = _json(cli("vendor", "list", "--json", acting_as="aud"))
    assert [(v["name"], v["cleared_for_controlled"], v["not_cleared"]) for v in listed] == [
        ("Cloudy Storage", False, "vendor Cloudy Storage has no assessment")
    ]
    _refused(cli("vendor", "list", acting_as="sam"), 3, "may not read the vendor risk register")
    _refused(cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "low", "--findings", "f", acting_as="aud"), 3)
    _json(
        cli("vendor", "assess", "Cloudy Storage", "--risk-tier", "low", "--findings", "f", "--json", acting_as="olga")
    )
    text = cli("vendor", "show", "Cloudy Storage", acting_as="aud")
    assert text.returncode == 0 and "cleared for controlled data" in text.stdout and "risk low" in text.stdout
    _json(cli("vendor", "retire", "Cloudy Storage", "--reason", "moved", "--json", acting_as="olga"))
    _refused(cli("vendor", "show", "Nope", acting_as="aud"), 4, "vendor 'Nope' is not in the register")
    with lab.engine.connect() as conn:
        types = [e.body.type for e in EventLog(conn).iter_events() if e.body.type.startswith("vendor.")]
    assert types == ["vendor.registered", "vendor.assessed", "vendor.retired"]


def _evidence(lab: App) -> str:
    with lab.engine.connect() as conn:
        return next(e.body.event_id for e in EventLog(conn).iter_events() if e.body.type == "person.registered")


def test_a_violation_is_recorded_seen_by_its_person_only_and_remediated(lab: App, cli: Run) -> None:
    event = _evidence(lab)
    due = (date.today() + timedelta(days=14)).isoformat()
    record = ("violation", "record", "sam", "--what", "shared a grant's files with a visitor", "--evidence", event)
    _refused(cli(*record, "--sanction", "flogging", "--step", f"retrain@{due}", acting_as="olga"),
             2, "--sanction 'flogging': expected one of warning, retraining")  # fmt: skip
    _refused(cli(*record, "--sanction", "warning", "--step", "retrain@soon", acting_as="olga"), 2, "due date")
    _refused(cli(*record, "--sanction", "warning", "--step", f"retrain@{due}", acting_as="sam"),
             3, "may not record violations")  # fmt: skip
    made = _json(
        cli(*record, "--sanction", "retraining", "--step", f"repeat the course@{due}", "--step", f"briefing@{due}",
            "--json", acting_as="olga")
    )  # fmt: skip
    assert made["person"] == "sam" and made["evidence"] == [event] and made["status"] == "open"
    mine = _json(cli("violation", "list", "--mine", "--json", acting_as="sam"))
    assert [v["id"] for v in mine] == [made["id"]] and mine[0]["sanction"] == "retraining"
    assert _json(cli("violation", "list", "--json", acting_as="rita")) == []
    _refused(cli("violation", "show", made["id"][:8], acting_as="rita"), 3, "only its person and officers")
    assert _json(cli("violation", "list", "--json", acting_as="aud"))[0]["id"] == made["id"]
    _refused(cli("violation", "remediate", made["id"][:8], "--step", "1", "--note", "n", acting_as="rita"), 3)
    one = _json(cli("violation", "remediate", made["id"][:8], "--step", "1", "--note", "done 3 May", "--json",
                    acting_as="sam"))  # fmt: skip
    assert one["status"] == "open" and one["remediation"][0]["done_by"] == "sam"
    _refused(cli("violation", "remediate", made["id"][:8], "--step", "1", "--note", "again", acting_as="sam"),
             2, "already done")  # fmt: skip
    two = _json(cli("violation", "remediate", made["id"], "--step", "2", "--note", "briefed", "--json",
                    acting_as="olga"))  # fmt: skip
    assert two["status"] == "remediated"
    shown = cli("violation", "show", made["id"][:8], acting_as="sam")
    assert shown.returncode == 0 and "sanction retraining" in shown.stdout and "done" in shown.stdout
    with lab.engine.connect() as conn:
        events = [e.body for e in EventLog(conn).iter_events() if e.body.type.startswith("violation.")]
    assert [e.type for e in events] == ["violation.recorded", "violation.remediated", "violation.remediated"]
    assert "sam" not in json.dumps(events[0].payload)  # the log names the person by reference
