"""The vendor register and violations over HTTP, through `qgov serve` with tokens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from lineage import EventLog
from tests.e2e import server_support


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    tmp = tmp_path_factory.mktemp("site")
    with server_support.database(request.param, tmp) as db_url:
        env = {"QGOV_HOME": str(tmp / "home"), "QGOV_DATABASE_URL": db_url}
        core = server_support.new_store(env)
        ids = server_support.build_lab(core, tmp)
        tokens = server_support.issue_tokens(env, ["olga", "ann", "rita", "aud"])
        with server_support.running_server(env) as base:
            yield f"{base}/api/v1", {k: {"Authorization": f"Bearer {v['token']}"} for k, v in tokens.items()}, core, ids
        core.close()


VENDOR = {
    "name": "QPU Cloud",
    "kind": "quantum_processor",
    "jurisdiction": "US",
    "max_classification": "4E906",
    "controlled": True,
    "covers": ["https://qpu.example"],
}


def test_vendors_over_http_gate_controlled_access_requests(site: tuple) -> None:
    api, h, _, ids = site
    assert httpx.post(f"{api}/vendors", json=VENDOR).status_code == 401
    refused = httpx.post(f"{api}/vendors", headers=h["ann"], json=VENDOR)
    assert refused.status_code == 403 and "may not register, assess or retire vendors" in refused.json()["detail"]
    bad = httpx.post(f"{api}/vendors", headers=h["olga"], json=VENDOR | {"kind": "ship"})
    assert bad.status_code == 422 and "--kind 'ship'" in bad.json()["detail"]
    made = httpx.post(f"{api}/vendors", headers=h["olga"], json=VENDOR)
    assert made.status_code == 201 and made.json()["cleared_for_controlled"] is False
    ask = {"artifact": ids["sponsor"], "purpose": "remote run", "vendor": "QPU Cloud"}
    denied = httpx.post(f"{api}/access-requests", headers=h["ann"], json=ask)
    assert denied.status_code == 403 and "vendor QPU Cloud has no assessment" in denied.json()["detail"]
    assessed = httpx.post(
        f"{api}/vendors/QPU Cloud/assessments", headers=h["olga"], json={"risk_tier": "low", "findings": "ok"}
    )
    assert assessed.status_code == 200 and assessed.json()["cleared_for_controlled"] is True
    granted = httpx.post(f"{api}/access-requests", headers=h["ann"], json=ask)
    assert granted.status_code == 201 and granted.json()["decision"]["vendor"] == "QPU Cloud"
    listed = httpx.get(f"{api}/vendors", headers=h["aud"])
    assert listed.status_code == 200 and [v["name"] for v in listed.json()] == ["QPU Cloud"]
    assert httpx.get(f"{api}/vendors", headers=h["ann"]).status_code == 403
    assert httpx.get(f"{api}/vendors/nope", headers=h["aud"]).status_code == 404
    retired = httpx.post(f"{api}/vendors/QPU Cloud/retire", headers=h["olga"], json={"reason": "contract ended"})
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    again = httpx.post(f"{api}/access-requests", headers=h["ann"], json=ask)
    assert again.status_code == 403 and "vendor QPU Cloud is retired" in again.json()["detail"]


def test_violations_over_http_are_seen_by_their_person(site: tuple) -> None:
    api, h, core, _ = site
    with core.engine.connect() as conn:
        event = next(e.body.event_id for e in EventLog(conn).iter_events() if e.body.type == "person.registered")
    due = (date.today() + timedelta(days=7)).isoformat()
    body = {"person": "ann", "what": "copied files to a USB stick", "sanction": "warning"}
    body |= {"steps": [f"return the stick@{due}"], "evidence": [event]}
    assert httpx.post(f"{api}/violations", headers=h["ann"], json=body).status_code == 403
    missing = httpx.post(f"{api}/violations", headers=h["olga"], json=body | {"evidence": ["nope-nope"]})
    assert missing.status_code == 404 and "--evidence nope-nope: no such event" in missing.json()["detail"]
    made = httpx.post(f"{api}/violations", headers=h["olga"], json=body)
    assert made.status_code == 201, made.text
    vid = made.json()["id"]
    mine = httpx.get(f"{api}/violations", headers=h["ann"], params={"mine": "true"})
    assert [v["id"] for v in mine.json()] == [vid]
    assert httpx.get(f"{api}/violations", headers=h["rita"]).json() == []
    assert httpx.get(f"{api}/violations/{vid}", headers=h["rita"]).status_code == 403
    assert httpx.get(f"{api}/violations/{vid[:8]}", headers=h["aud"]).json()["sanction"] == "warning"
    done = httpx.post(f"{api}/violations/{vid}/remediation", headers=h["ann"], json={"step": 1, "note": "returned"})
    assert done.status_code == 200 and done.json()["status"] == "remediated"
