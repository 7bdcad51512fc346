"""Tabletop exercises (issue 19): inject a misuse scenario into a scratch copy of the store,
run the anomaly scan there, open the incident from its alert and let the team act in the copy.

The copy is the SQLite database file (the ``sqlite3`` backup API, so a store in use copies
consistently) and the key files, in a fresh private directory; its blob store starts empty.
Every injected event, alert and incident action lives in the copy only. The real store gets one
``compliance.tabletop_run`` event recording that an exercise happened: scenario, the person
(as a log reference), where the copy is and the outcome (ADR 0040). A PostgreSQL store is
copied into a scratch database on the same server (``tabletop_pg``); the directory then holds
the record, the key files and the blob store, and the exercise prints the ``DROP DATABASE``
that removes the scratch database.

Injected fetches name artifacts ``tabletop-SCENARIO-NN`` that exist nowhere: an unknown
artifact counts as controlled (deny when unsure), so they look like controlled data to the
rules without any real artifact's contents being involved.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize, can
from governance.compliance.tabletop_pg import copy_database, drop_statement, scratch_url
from governance.config import Settings, load_settings
from governance.db import make_engine, migrate, sqlite_path, transaction
from lineage import EventLog, NewEvent
from policies.compliance import CompliancePolicy
from qgov.canonical import iso_utc, parse_iso
from qgov.errors import ConfigError, InputError, NotFoundError

RECORD = "tabletop.json"


def _fetches(person: str, scenario: str, plan: list[tuple[datetime, str]]) -> list[NewEvent]:
    return [
        NewEvent(
            "artifact.fetched",
            person,
            subjects=[f"tabletop-{scenario}-{i:02d}"],
            payload={"artifact": f"tabletop-{scenario}-{i:02d}", "location": where, "tabletop": scenario},
            occurred_at=at,
        )
        for i, (at, where) in enumerate(plan)
    ]


def insider_exfiltration(person: str, now: datetime, _p: CompliancePolicy, _conn: Connection) -> list[NewEvent]:
    """Forty controlled artifacts new to the person, fetched within the last two hours."""
    return _fetches(
        person, "insider_exfiltration", [(now - timedelta(minutes=120 - 3 * i), "US/office") for i in range(40)]
    )


def shared_credentials(person: str, now: datetime, _p: CompliancePolicy, _conn: Connection) -> list[NewEvent]:
    """The same account fetching from two countries minutes apart, three times in the last hour."""
    plan = []
    for i in range(3):
        at = now - timedelta(minutes=60 - 15 * i)
        plan += [(at, "US/office"), (at + timedelta(minutes=4), "BR/net")]
    return _fetches(person, "shared_credentials", plan)


def travel(person: str, now: datetime, p: CompliancePolicy, _conn: Connection) -> list[NewEvent]:
    """A short routine from the office (a few more fetches over three days than ``new_location``
    needs as history), then, in the last hour, fetches from a country the account never used."""
    routine = int(p.a("new_location", "min_prior_fetches")) + 2
    step = timedelta(hours=66) / routine
    plan = [(now - timedelta(days=3) + i * step, "US/office") for i in range(routine)]
    plan += [(now - timedelta(minutes=30), "JP/hotel"), (now - timedelta(minutes=20), "JP/hotel")]
    return _fetches(person, "travel", plan)


def slow_drip(person: str, now: datetime, p: CompliancePolicy, _conn: Connection) -> list[NewEvent]:
    """Weeks of history at the person's ordinary pace (one new controlled artifact a week), then,
    spread evenly over the last ``slow_drip.window_days`` (no burst for ``controlled_burst``),
    ``min_new_artifacts`` + 2 new ones: sized from the compliance policy in force."""
    window = timedelta(days=int(p.a("slow_drip", "window_days")))
    start = now - 3 * window - timedelta(days=7)  # the rule judges only against an earlier pace
    plan = []
    at = start
    while at < now - window:
        plan.append((at, "US/office"))
        at += timedelta(days=7)
    drip = int(p.a("slow_drip", "min_new_artifacts")) + 2
    step = (window - timedelta(hours=1)) / drip
    plan += [(now - window + timedelta(minutes=30) + (i + 1) * step, "US/office") for i in range(drip)]
    return _fetches(person, "slow_drip", plan)


def budget_probing(person: str, now: datetime, p: CompliancePolicy, conn: Connection) -> list[NewEvent]:
    """``release_probing.min_releases`` + 1 DP releases on one column by the person over the last
    week. The release rows are written into the copy, on the first live artifact of a dataset
    there, for a column named ``tabletop-probe`` that no table has: nothing is computed, no value
    is real, and each is reserved and charged at ε = 0 with its ledger entries, as the release
    pipeline books them, so that ``audit verify`` in the copy still agrees with the log."""
    from governance.privacy import write_ledger

    a = t.artifacts
    target = conn.execute(
        select(a.c.id, a.c.dataset_id).where(a.c.deleted_at.is_(None)).order_by(a.c.created_at, a.c.id).limit(1)
    ).first()
    if target is None:
        raise InputError(
            "SCENARIO: budget_probing attaches its releases to a dataset, and this store has none "
            "(register and ingest one first)"
        )
    count = int(p.a("release_probing", "min_releases")) + 1
    step = timedelta(days=min(float(p.a("release_probing", "days")), 7.0)) / count
    query = {"column": "tabletop-probe", "statistic": "mean", "tabletop": "budget_probing"}
    zero = {"epsilon": "0", "delta": "0"}
    events = []
    for i in range(count):
        at = now - (count - i) * step
        release = str(uuid.uuid4())
        conn.execute(
            insert(t.releases).values(
                id=release,
                dataset_id=target.dataset_id,
                artifact_id=target.id,
                query_key=f"tabletop-{release}",
                query=query,
                **zero,
                requester=person,
                purpose="tabletop exercise: budget probing",
                status="released",
                decision={"tabletop": "budget_probing", "note": "injected by an exercise; nothing was computed"},
                result=None,
                created_at=at,
                updated_at=at,
            )
        )
        for entry in ("reserve", "commit"):
            write_ledger(conn, target.dataset_id, release, entry, Fraction(0), Fraction(0), person, at)
        subjects = [release, target.id, target.dataset_id]
        reserved = {"release": release, "dataset": target.dataset_id, **zero}
        published = {"release": release, "artifact": target.id, "query": query, **zero, "tabletop": "budget_probing"}
        events += [
            NewEvent("budget.reserved", person, subjects[::2], reserved, occurred_at=at),
            NewEvent("release.published", person, subjects, published, occurred_at=at),
        ]
    return events


Scenario = Callable[[str, datetime, CompliancePolicy, Connection], list[NewEvent]]
SCENARIOS: dict[str, Scenario] = {
    "insider_exfiltration": insider_exfiltration,
    "shared_credentials": shared_credentials,
    "travel": travel,
    "slow_drip": slow_drip,
    "budget_probing": budget_probing,
}
# the incident is opened from the alert of the rule the scenario is about, when it fired
EXPECTED = {
    "insider_exfiltration": "controlled_burst",
    "shared_credentials": "concurrent_locations",
    "travel": "new_location",
    "slow_drip": "slow_drip",
    "budget_probing": "release_probing",
}


def _scenario(name: str) -> Any:
    key = name.replace("-", "_")
    if key in SCENARIOS:
        return key, SCENARIOS[key]
    raise InputError(f"SCENARIO: expected one of {', '.join(SCENARIOS)}, got {name!r}")


def _private_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(0o600)


def scratch_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    """The settings that point ``qgov`` at the copy (each overrides one the real store may set);
    ``database_url`` is the scratch PostgreSQL database, if the store is on PostgreSQL."""
    return {
        "QGOV_HOME": str(home),
        "QGOV_DATABASE_URL": database_url or f"sqlite:///{home / 'qgov.db'}",
        "QGOV_STORAGE_URL": str(home / "blobs"),
        "QGOV_KEY_FILE": str(home / "keys" / "kek.json"),
        "QGOV_SIGNING_KEY_FILE": str(home / "keys" / "checkpoint.key"),
        "QGOV_WITNESS_DIR": str(home / "witness"),
    }


def _scratch_settings(app: App, home: Path, database: str | None = None) -> Settings:
    """Settings on the scratch store ``home`` (and scratch database ``database`` on the real
    store's PostgreSQL server) acting for the same person, with the real store's keys."""
    env = {k: v for k, v in os.environ.items() if k.startswith("QGOV_")}
    url = scratch_url(app.settings.database_url, database) if database else None
    settings = load_settings(env | scratch_env(home, url))
    return settings.model_copy(update={"user": app.user, "policy_dir": app.settings.policy_dir})


def _scratch_app(app: App, home: Path, database: str | None = None) -> App:
    return App(_scratch_settings(app, home, database))


def _migrated(app: App, home: Path) -> Callable[[str], Engine]:
    def target(url: str) -> Engine:
        settings = _scratch_settings(app, home).model_copy(update={"database_url": url})
        engine = make_engine(settings)
        migrate(engine)
        return engine

    return target


def _copy_store(app: App, parent: Path | None) -> tuple[Path, str | None, str | None]:
    """The scratch home, and on PostgreSQL the scratch database's name and how it was copied."""
    settings = app.settings
    db = sqlite_path(settings.database_url) if settings.is_sqlite else None
    if settings.is_sqlite and db is None:
        raise ConfigError("QGOV_DATABASE_URL: an in-memory SQLite store cannot be copied for an exercise")
    root = parent or settings.home / "tabletop"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="exercise-", dir=root))
    database = copied = None
    if db is None:
        database, copied = copy_database(app.engine, settings.database_url, _migrated(app, home))
    else:
        target = sqlite3.connect(home / "qgov.db")
        source = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        (home / "qgov.db").chmod(0o600)
    (home / "blobs").mkdir(mode=0o700)
    if settings.kek_json is None:
        _private_copy(settings.key_file, home / "keys" / "kek.json")
    if settings.signing_key is None and settings.signing_key_file.exists():
        _private_copy(settings.signing_key_file, home / "keys" / "checkpoint.key")
    return home, database, copied


def run_tabletop(app: App, scenario: str, person: str, parent: Path | None = None) -> dict[str, Any]:
    """Run one exercise; returns the record also written to ``HOME/tabletop.json`` in the copy."""
    from governance.compliance.anomaly import compliance_policy, scan
    from governance.compliance.incidents import open_incident

    name, make = _scenario(scenario)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "compliance.tabletop")
        if conn.execute(select(t.people.c.name).where(t.people.c.name == person)).first() is None:
            raise NotFoundError(f"--person: {person!r} is not a person in this store ('qgov person list')")
    home, database, copied = _copy_store(app, parent)
    copy = _scratch_app(app, home, database)
    cleanup = [f"rm -r {home}"]
    if database:
        cleanup.insert(0, drop_statement(database))
    try:
        injected_at = datetime.now(UTC)
        policy = compliance_policy(copy)
        with transaction(copy.engine) as conn:
            events = make(person, injected_at, policy, conn)
            EventLog(conn).append_many(events)
        since = min(e.occurred_at for e in events if e.occurred_at is not None) - timedelta(seconds=1)
        found = scan(copy, since=since)
        detected_at = datetime.now(UTC)
        alerts = [a for a in found["alerts"] if a["person"] == person]
        incident = None
        with copy.engine.connect() as conn:
            may_open = can(conn, copy.user, "incident.manage")
        if alerts and may_open:
            first = max(alerts, key=lambda a: (a["rule"] == EXPECTED[name], a["severity"] == "high"))
            incident = open_incident(copy, f"tabletop {name}: {person}", alert=first["id"])["id"]
        record = {
            "scenario": name,
            "person": person,
            "home": str(home),
            "env": scratch_env(home, scratch_url(app.settings.database_url, database, True) if database else None),
            "database": database,
            "copied": copied or "sqlite backup",
            "cleanup": cleanup,
            "injected_at": iso_utc(injected_at),
            "injected_events": len(events),
            "detected_at": iso_utc(detected_at) if alerts else None,
            "detect_seconds": round((detected_at - injected_at).total_seconds(), 3) if alerts else None,
            "alerts": [{"id": a["id"], "rule": a["rule"], "severity": a["severity"]} for a in alerts],
            "incident": incident,
            "outcome": "detected" if alerts else "missed",
        }
        if alerts and not may_open:
            record["note"] = f"{copy.user} may not open incidents (officers do); the alerts wait in the copy"
        (home / RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        (home / RECORD).chmod(0o600)
    finally:
        copy.close()
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "compliance.tabletop")
        log = EventLog(conn)
        payload = {
            "scenario": name,
            "person_ref": log.actor_ref(person),
            "scratch": str(home),
            "database": database,
            "outcome": record["outcome"],
            "rules": sorted({a["rule"] for a in alerts}),
        }
        # subject ids are short (64 characters on PostgreSQL): the exercise's name, not its path
        subject = f"tabletop:{home.name}"
        log.append(NewEvent("compliance.tabletop_run", app.user, subjects=[subject], payload=payload))
    return record


def tabletop_report(app: App, home: Path) -> dict[str, Any]:
    """The exercise in ``home`` as it stands: detection, and time to contain and close its incident."""
    from governance.compliance.incidents import show_incident

    with app.engine.connect() as conn:
        authorize(conn, app.user, "compliance.tabletop")
    path = home / RECORD
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        raise NotFoundError(f"DIR: {home} holds no tabletop exercise (no readable {RECORD})") from None
    out = dict(record)
    out["contained_at"] = out["closed_at"] = out["contain_seconds"] = out["close_seconds"] = None
    out["status"] = None
    if record.get("incident"):
        copy = _scratch_app(app, home, record.get("database"))
        try:
            inc = show_incident(copy, record["incident"])
        finally:
            copy.close()
        injected = parse_iso(record["injected_at"], "injected_at")
        out["status"] = inc["status"]
        for step in ("contained", "closed"):
            if at := inc.get(f"{step}_at"):
                out[f"{step}_at"] = at
                out[f"{'contain' if step == 'contained' else 'close'}_seconds"] = round(
                    (parse_iso(at, step) - injected).total_seconds(), 3
                )
    return out


__all__ = ["SCENARIOS", "run_tabletop", "tabletop_report"]
