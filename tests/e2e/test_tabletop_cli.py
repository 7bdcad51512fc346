"""`qgov compliance tabletop`: a scenario injected into a scratch copy, detected there, acted on
there, measured; the real store gains only the record that an exercise ran."""

from __future__ import annotations

import json
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from governance.app import App
from governance.requests import Person, register_person
from lineage import schema
from tests.e2e.server_support import qgov

TRAINED = (date.today() - timedelta(days=30)).isoformat()


def _json(done: subprocess.CompletedProcess[str]) -> dict:  # type: ignore[type-arg]
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _log(app: App) -> tuple[int, str, list[str]]:
    e = schema.events
    with app.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(e)).scalar_one()
        head = conn.execute(select(e.c.hash).order_by(e.c.seq.desc()).limit(1)).scalar_one()
        types = [r.type for r in conn.execute(select(e.c.type).order_by(e.c.seq))]
    return count, head, types


def _drop_scratch_databases(app: App) -> None:
    """What an exercise's printed clean-up does, for every exercise of this test."""
    import psycopg

    base = app.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as conn:
        for record in (app.settings.home / "tabletop").glob("*/tabletop.json"):
            name = json.loads(record.read_text())["database"]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def lab(app: App, env: dict[str, str]):  # type: ignore[no-untyped-def]
    register_person(app, Person("sam", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"])
    register_person(app, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])

    def as_(user: str, *args: str, copy: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return qgov(env | (copy or {}), "--as", user, *args)

    yield as_
    if not app.settings.is_sqlite:
        _drop_scratch_databases(app)


def test_exercise_runs_in_a_copy_and_measures_the_response(app: App, lab) -> None:  # type: ignore[no-untyped-def]
    count, head, _ = _log(app)
    app.engine.dispose()  # nobody else on the store: PostgreSQL copies it as a template
    doc = _json(lab("olga", "compliance", "tabletop", "run", "insider-exfiltration", "--person", "sam", "--json"))
    assert doc["outcome"] == "detected" and doc["scenario"] == "insider_exfiltration"
    assert "controlled_burst" in {a["rule"] for a in doc["alerts"]}
    assert doc["detect_seconds"] >= 0 and doc["incident"]
    # the real store: the earlier log is untouched, one new event records the exercise, nothing else
    after, _, types = _log(app)
    assert after == count + 1 and types[-1] == "compliance.tabletop_run"
    e = schema.events
    with app.engine.connect() as conn:
        last = conn.execute(select(e).order_by(e.c.seq.desc()).limit(1)).one()
    assert last.prev_hash == head
    assert last.payload["scenario"] == "insider_exfiltration" and last.payload["outcome"] == "detected"
    assert "sam" not in json.dumps(last.payload)  # the person as a log reference only
    assert _json(lab("olga", "anomaly", "list", "--json")) == []
    assert _json(lab("olga", "incident", "list", "--json")) == []
    # the team acts in the copy
    home = Path(doc["home"])
    assert home.stat().st_mode & 0o077 == 0
    if app.settings.is_sqlite:
        assert (home / "qgov.db").stat().st_mode & 0o077 == 0 and doc["database"] is None
    else:
        assert doc["copied"] == "template" and doc["database"].startswith("qgov_tabletop_")
        assert doc["env"]["QGOV_DATABASE_URL"].endswith("/" + doc["database"])
        assert doc["cleanup"][0] == f'DROP DATABASE "{doc["database"]}";'
    report = _json(lab("olga", "compliance", "tabletop", "report", str(home), "--json"))
    assert report["status"] == "open" and report["contain_seconds"] is None
    inc = doc["incident"]
    contained = lab("olga", "incident", "contain", inc[:8], "--reason", "exercise", "--hold", copy=doc["env"])
    assert contained.returncode == 0, contained.stderr
    shown = _json(lab("olga", "incident", "show", inc, "--json", copy=doc["env"]))
    for d in [d for d in shown["deadlines"] if not d["met"]]:
        met = lab("olga", "incident", "deadline", inc, d["deadline"], "--note", "exercise", copy=doc["env"])
        assert met.returncode == 0, met.stderr
    closed = lab("olga", "incident", "close", inc, "--remediation", "exercise debrief", copy=doc["env"])
    assert closed.returncode == 0, closed.stderr
    report = _json(lab("olga", "compliance", "tabletop", "report", str(home), "--json"))
    assert report["status"] == "closed"
    assert 0 <= report["detect_seconds"] <= report["contain_seconds"] <= report["close_seconds"]
    assert _log(app)[0] == count + 1  # acting in the copy left the real store alone


def test_shared_credentials_and_refusals(app: App, lab) -> None:  # type: ignore[no-untyped-def]
    count, head, _ = _log(app)  # this test keeps its session on the store open
    doc = _json(lab("olga", "compliance", "tabletop", "run", "shared_credentials", "--person", "sam", "--json"))
    assert "concurrent_locations" in {a["rule"] for a in doc["alerts"]}
    assert _log(app)[0] == count + 1 and _log(app)[2][-1] == "compliance.tabletop_run"
    if not app.settings.is_sqlite:  # so PostgreSQL copied the rows table by table
        assert doc["copied"] == "rows"
    # the copy holds the store's whole log, intact, plus the injected events and the incident
    verified = lab("olga", "audit", "verify", "--no-witness", copy=doc["env"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert {i["id"] for i in _json(lab("olga", "incident", "list", "--json", copy=doc["env"]))} == {doc["incident"]}
    printed = lab("olga", "compliance", "tabletop", "report", doc["home"])
    assert printed.returncode == 0 and "clean up afterwards with:" in printed.stdout
    denied = lab("sam", "compliance", "tabletop", "run", "shared_credentials", "--person", "sam")
    assert denied.returncode == 3 and "tabletop exercise" in denied.stderr
    no_dataset = lab("olga", "compliance", "tabletop", "run", "budget_probing", "--person", "sam")
    assert no_dataset.returncode == 2 and "has none" in no_dataset.stderr and "Traceback" not in no_dataset.stderr
    unknown = lab("olga", "compliance", "tabletop", "run", "phishing", "--person", "sam")
    assert unknown.returncode == 2 and "SCENARIO" in unknown.stderr and "Traceback" not in unknown.stderr
    nobody = lab("olga", "compliance", "tabletop", "run", "shared_credentials", "--person", "zed")
    assert nobody.returncode != 0 and "--person" in nobody.stderr
    empty = lab("olga", "compliance", "tabletop", "report", str(Path(doc["home"]).parent))
    assert empty.returncode != 0 and "DIR" in empty.stderr


def test_travel_fetches_from_a_new_country(app: App, lab) -> None:  # type: ignore[no-untyped-def]
    """A short office routine, then fetches from a country the account never used: the incident
    is opened from the new_location alert."""
    count = _log(app)[0]
    doc = _json(lab("olga", "compliance", "tabletop", "run", "travel", "--person", "sam", "--json"))
    assert doc["outcome"] == "detected" and doc["scenario"] == "travel"
    found = {a["rule"]: a["id"] for a in doc["alerts"]}
    assert "new_location" in found and "concurrent_locations" not in found  # hours apart, not minutes
    shown = _json(lab("olga", "incident", "show", doc["incident"], "--json", copy=doc["env"]))
    assert shown["alert_id"] == found["new_location"]
    assert _log(app)[0] == count + 1


def test_slow_drip_over_weeks(app: App, lab) -> None:  # type: ignore[no-untyped-def]
    """Ten weeks of back-dated history: a weekly pace, then a new controlled artifact a day for the
    last three weeks. The drip is caught by slow_drip, and no day of it is a burst."""
    doc = _json(lab("olga", "compliance", "tabletop", "run", "slow-drip", "--person", "sam", "--json"))
    assert doc["outcome"] == "detected" and doc["scenario"] == "slow_drip"
    found = {a["rule"]: a["id"] for a in doc["alerts"]}
    assert "slow_drip" in found and "controlled_burst" not in found, found
    shown = _json(lab("olga", "incident", "show", doc["incident"], "--json", copy=doc["env"]))
    assert shown["alert_id"] == found["slow_drip"]
    verified = lab("olga", "audit", "verify", "--no-witness", copy=doc["env"])
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_budget_probing_releases_on_one_column(app: App, lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Seven DP releases on one column in a week: release_probing fires in the copy. The release
    rows are the copy's only; nothing is computed, and the real store's releases stay empty."""
    from governance import tables as t
    from tests.e2e.server_support import build_lab

    build_lab(app, tmp_path)
    count = _log(app)[0]
    doc = _json(lab("olga", "compliance", "tabletop", "run", "budget_probing", "--person", "sam", "--json"))
    assert doc["outcome"] == "detected" and doc["injected_events"] == 2 * 7  # reserved, published
    found = {a["rule"]: a["id"] for a in doc["alerts"]}
    assert "release_probing" in found, found
    shown = _json(lab("olga", "incident", "show", doc["incident"], "--json", copy=doc["env"]))
    assert shown["alert_id"] == found["release_probing"]
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.releases)).scalar_one() == 0
    assert _log(app)[0] == count + 1
    verified = lab("olga", "audit", "verify", "--no-witness", copy=doc["env"])
    assert verified.returncode == 0, verified.stdout + verified.stderr
