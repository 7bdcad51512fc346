"""Compliance over HTTP: scans, alerts and the incident lifecycle through `qgov serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from governance.content import fetch
from governance.requests import request_access
from lineage import EventLog
from tests.e2e import server_support


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    tmp = tmp_path_factory.mktemp("site")
    with server_support.database(request.param, tmp) as db_url:
        env = {"QGOV_HOME": str(tmp / "home"), "QGOV_DATABASE_URL": db_url}
        core = server_support.new_store(env)
        ids = server_support.build_lab(core, tmp)
        ann = core.acting_for("ann")
        assert request_access(ann, [ids["generic"]], "T1 fits", 30, "US")["status"] == "granted"
        for _ in range(4):  # refused: an embargoed destination
            assert request_access(ann, [ids["generic"]], "ship", 30, "KP")["status"] == "denied"
        fetch(ann, ids["generic"], Path(tmp / "t1.csv"))
        tokens = server_support.issue_tokens(env, ["olga", "ann", "aud"])
        with server_support.running_server(env) as base:
            yield base, {k: {"Authorization": f"Bearer {v['token']}"} for k, v in tokens.items()}, core, ids
        core.close()


def test_a_download_over_http_records_a_keyed_reference_to_the_network_not_the_address(site: tuple) -> None:
    base, h, core, ids = site
    got = httpx.get(f"{base}/api/v1/artifacts/{ids['generic']}/content", headers=h["ann"])
    assert got.status_code == 200
    with core.engine.connect() as conn:
        fetched = [e.body.payload for e in EventLog(conn).iter_events() if e.body.type == "artifact.fetched"]
    assert "location" not in fetched[0]  # the command line's fetch has no network
    location = fetched[-1]["location"]
    assert location.startswith("net/") and len(location) == 20 and "127.0" not in json.dumps(fetched[-1])


def test_scan_alert_and_incident_over_http(site: tuple) -> None:
    base, h, _, _ = site
    api = f"{base}/api/v1"
    assert httpx.post(f"{api}/anomaly/scans", json={}).status_code == 401
    refused = httpx.post(f"{api}/anomaly/scans", headers=h["ann"], json={})
    assert refused.status_code == 403 and "may not run compliance sweeps" in refused.json()["detail"]
    bad = httpx.post(f"{api}/anomaly/scans", headers=h["olga"], json={"since": "soon"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("since:")
    scanned = httpx.post(f"{api}/anomaly/scans", headers=h["olga"], json={})
    assert scanned.status_code == 200, scanned.text
    alert = next(a for a in scanned.json()["alerts"] if a["rule"] == "denied_burst")
    assert alert["person"] == "ann" and len(alert["evidence"]) == 4
    listed = httpx.get(f"{api}/anomaly/alerts", headers=h["aud"], params={"status": "open"})
    assert listed.status_code == 200 and alert["id"] in [a["id"] for a in listed.json()]

    opened = httpx.post(f"{api}/incidents", headers=h["olga"], json={"title": "probing", "alert": alert["id"]})
    assert opened.status_code == 201, opened.text
    incident = opened.json()["id"]
    assert httpx.post(f"{api}/incidents", headers=h["aud"], json={"title": "x"}).status_code == 403
    contained = httpx.post(
        f"{api}/incidents/{incident}/contain", headers=h["olga"], json={"reason": "probing", "suspend_grants": True}
    )
    assert contained.status_code == 200 and contained.json()["status"] == "contained"
    assert len(contained.json()["containment"][0]["actions"][0]["grants"]) == 1
    early = httpx.post(f"{api}/incidents/{incident}/close", headers=h["olga"], json={"remediation": "done"})
    assert early.status_code == 422 and "incident.vsd-decision is not met" in early.json()["detail"]
    met = httpx.post(
        f"{api}/incidents/{incident}/deadlines/incident.vsd-decision", headers=h["olga"], json={"note": "not needed"}
    )
    assert met.status_code == 200
    closed = httpx.post(f"{api}/incidents/{incident}/close", headers=h["olga"], json={"remediation": "talked"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    shown = httpx.get(f"{api}/incidents/{incident}", headers=h["aud"]).json()
    assert [e["type"] for e in shown["timeline"]].count("access.decided") == 4
    ready = httpx.get(f"{api}/incident-readiness", headers=h["aud"]).json()
    assert ready["incidents"] == 1 and ready["contain_hours"]["n"] == 1
    reminders = httpx.post(f"{api}/incident-reminders", headers=h["olga"], json={"at": datetime.now(UTC).isoformat()})
    assert reminders.status_code == 200 and reminders.json() == []
    assert httpx.get(f"{api}/incidents/nope", headers=h["olga"]).status_code == 404
