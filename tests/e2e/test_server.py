"""`qgov serve` as people use it: tokens, the capability table, decisions and downloads over HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from governance import tables as t
from governance.app import App
from lineage import EventLog
from tests.e2e import server_support

CONTENT = server_support.CONTENT


@dataclass
class Site:
    """One store served by one `qgov serve` for the whole module (per database)."""

    env: dict[str, str]
    app: App
    ids: dict[str, str]
    tokens: dict[str, dict[str, str]]
    base: str

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]['token']}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("site")
    with server_support.database(request.param, tmp) as db_url:
        env = {"QGOV_HOME": str(tmp / "home"), "QGOV_DATABASE_URL": db_url}
        core = server_support.new_store(env)
        ids = server_support.build_lab(core, tmp)
        tokens = server_support.issue_tokens(env, ["alice", *(p for p, _, _ in server_support.PEOPLE)])
        with server_support.running_server(env) as base:
            yield Site(env, core, ids, tokens, base)
        core.close()


def test_token_create_prints_the_contract_document_and_keeps_only_a_hash(site: Site) -> None:
    doc = site.tokens["li"]
    assert set(doc) == {"token", "id", "expires_at"} and doc["token"].startswith("qgov_pat_")
    expires = datetime.fromisoformat(doc["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    secret = doc["token"].removeprefix(f"qgov_pat_{doc['id']}_")
    with site.app.engine.connect() as conn:
        stored = conn.execute(select(t.api_tokens.c.token_hash).where(t.api_tokens.c.id == doc["id"])).scalar_one()
        events = [e.body for e in EventLog(conn).iter_events(subject=doc["id"])]
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    assert [e.type for e in events] == ["token.created"] and secret not in json.dumps(events[0].payload)


def test_only_an_admin_issues_tokens_and_only_for_registered_people(site: Site) -> None:
    refused = server_support.qgov(site.env, "--as", "li", "token", "create", "li", "--json")
    assert refused.returncode != 0 and "may not issue access tokens" in refused.stderr
    ghost = server_support.qgov(site.env, "token", "create", "ghost", "--json")
    assert ghost.returncode != 0 and "'ghost' is not a registered person" in ghost.stderr


def test_healthz_needs_no_token_and_everything_else_does(site: Site) -> None:
    assert httpx.get(f"{site.base}/api/v1/healthz").json() == {"status": "ok"}
    spec = httpx.get(f"{site.base}/openapi.json").json()
    for path, methods in spec["paths"].items():
        if path in ("/api/v1/healthz", "/api/v1/auth/sign-in", "/api/v1/auth/oidc/login", "/api/v1/auth/oidc/callback"):
            # the contract's exceptions: sign-in routes
            continue
        for method in methods:
            url = site.base + path.replace("{request_id}", "x").replace("{artifact_id}", "x")
            answer = httpx.request(method.upper(), url, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["www-authenticate"] == "Bearer"


def test_whoami_names_the_token_holder_whatever_qgov_user_says(site: Site) -> None:
    me = httpx.get(f"{site.base}/api/v1/whoami", headers=site.h("li") | {"X-QGOV-User": "olga"}).json()
    assert me == {"name": "li", "roles": ["researcher"], "authenticated_by": f"token:{site.tokens['li']['id']}"}


def test_a_revoked_or_forged_token_is_refused(site: Site) -> None:
    forged = site.tokens["li"]["token"][:-4] + "AAAA"
    answer = httpx.get(f"{site.base}/api/v1/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401 and "unknown or wrong token" in answer.json()["detail"]
    spare = server_support.issue_tokens(site.env, ["ann"])["ann"]
    headers = {"Authorization": f"Bearer {spare['token']}"}
    assert httpx.get(f"{site.base}/api/v1/whoami", headers=headers).status_code == 200
    assert server_support.qgov(site.env, "token", "revoke", spare["id"]).returncode == 0
    answer = httpx.get(f"{site.base}/api/v1/whoami", headers=headers)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_failed_sign_ins_are_throttled_and_recorded(site: Site) -> None:
    # A server of its own: the throttle would lock this address out of the module's server.
    with site.app.engine.connect() as conn:
        before = sum(1 for e in EventLog(conn).iter_events() if e.body.type == "auth.failed")
    with server_support.running_server(site.env) as base:
        codes = [
            httpx.get(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer qgov_pat_{i:016x}_no"}).status_code
            for i in range(12)
        ]
        assert httpx.get(f"{base}/api/v1/whoami", headers=site.h("li")).status_code == 429
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    with site.app.engine.connect() as conn:
        after = sum(1 for e in EventLog(conn).iter_events() if e.body.type == "auth.failed")
    assert after - before == 10


def test_request_decide_and_download_over_http(site: Site) -> None:
    made = httpx.post(
        f"{site.base}/api/v1/access-requests",
        headers=site.h("li"),
        json={"artifact": site.ids["sponsor"], "purpose": "readout benchmark", "days": 30, "destination": "US"},
    )
    assert made.status_code == 201, made.text
    req = made.json()
    assert (req["outcome"], req["status"]) == ("license_required", "queued") and req["id"]
    content = f"{site.base}/api/v1/artifacts/{site.ids['sponsor']}/content"
    refused = httpx.get(content, headers=site.h("li"))
    assert refused.status_code == 403 and "no valid grant" in refused.json()["detail"]
    decide = f"{site.base}/api/v1/access-requests/{req['id']}"
    own = httpx.post(f"{decide}/approve", headers=site.h("li"), json={})
    assert own.status_code == 403 and "export_control_officer" in own.json()["detail"]
    bare = httpx.post(f"{decide}/approve", headers=site.h("olga"), json={})
    assert bare.status_code == 422 and "licence" in bare.json()["detail"]
    ok = httpx.post(f"{decide}/approve", headers=site.h("olga"), json={"licence": "BIS D123456"})
    assert ok.status_code == 200 and ok.json()["status"] == "granted" and ok.json()["grants"]
    again = httpx.post(f"{decide}/deny", headers=site.h("olga"), json={"reason": "changed my mind"})
    assert again.status_code == 422 and "already granted" in again.json()["detail"]
    got = httpx.get(content, headers=site.h("li"))
    assert got.status_code == 200 and got.content == CONTENT
    assert got.headers["content-length"] == str(len(CONTENT)) and got.headers["cache-control"] == "no-store"
    assert got.headers["repr-digest"] == f"sha-256=:{base64.b64encode(hashlib.sha256(CONTENT).digest()).decode()}:"
    with site.app.engine.connect() as conn:
        fetched = [
            e.body
            for e in EventLog(conn).iter_events(subject=site.ids["sponsor"])
            if e.body.type == "artifact.fetched" and e.body.payload.get("channel") == "api"
        ]
    assert len(fetched) == 1
    assert httpx.get(content, headers=site.h("ann")).status_code == 403  # no grant of her own


def test_an_officer_cannot_decide_their_own_request_over_http(site: Site) -> None:
    req = httpx.post(
        f"{site.base}/api/v1/access-requests",
        headers=site.h("olga"),
        json={"artifact": site.ids["sponsor"], "purpose": "own study", "destination": "CN"},
    ).json()
    assert req["status"] == "queued"
    for action, body in (("approve", {"licence": "x"}), ("deny", {"reason": "x"})):
        url = f"{site.base}/api/v1/access-requests/{req['id']}/{action}"
        answer = httpx.post(url, headers=site.h("olga"), json=body)
        assert answer.status_code == 403 and "their own request" in answer.json()["detail"]


def test_researchers_see_only_their_own_requests(site: Site) -> None:
    body = {"artifact": site.ids["generic"], "purpose": "fit T1", "destination": "US"}
    rita = httpx.post(f"{site.base}/api/v1/access-requests", headers=site.h("rita"), json=body).json()
    rob = httpx.post(f"{site.base}/api/v1/access-requests", headers=site.h("rob"), json=body).json()
    mine = httpx.get(f"{site.base}/api/v1/access-requests", headers=site.h("rita")).json()
    assert [r["id"] for r in mine["items"]] == [rita["id"]] and mine["total"] == 1
    assert httpx.get(f"{site.base}/api/v1/access-requests/{rob['id']}", headers=site.h("rita")).status_code == 404
    page = httpx.get(f"{site.base}/api/v1/access-requests?limit=1", headers=site.h("aud")).json()
    assert page["total"] >= 2 and len(page["items"]) == 1 and page["items"][0]["id"] == rob["id"]
    assert httpx.get(f"{site.base}/api/v1/queue", headers=site.h("aud")).status_code == 403


def test_what_if_access_check_records_nothing(site: Site) -> None:
    request = {
        "requester": {
            "name": "Li Wei",
            "citizenships": ["CN"],
            "us_permanent_resident": False,
            "location": "US",
            "affiliation": "University of Maryland",
            "training_completed_on": "2026-05-01",
        },
        "item": {"artifact": site.ids["sponsor"]},
        "purpose": "readout benchmark",
        "destination": "US",
    }
    with site.app.engine.connect() as conn:
        before = EventLog(conn).head()
    answer = httpx.post(f"{site.base}/api/v1/access-checks", headers=site.h("rita"), json=request)
    assert answer.status_code == 200 and answer.json()["outcome"] == "license_required", answer.text
    with site.app.engine.connect() as conn:
        assert EventLog(conn).head() == before


def test_bad_input_is_a_problem_document_naming_the_field(site: Site) -> None:
    answer = httpx.post(
        f"{site.base}/api/v1/access-requests",
        headers=site.h("li"),
        json={"artifact": site.ids["generic"], "purpose": "x", "destination": "China"},
    )
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("destination:")
    missing = httpx.post(
        f"{site.base}/api/v1/access-requests", headers=site.h("li"), json={"artifact": "nope", "purpose": "x"}
    )
    assert missing.status_code == 404 and "artifact 'nope' does not exist" in missing.json()["detail"]


def test_demo_server_shows_a_researcher_refused_approving_their_own_request(tmp_path: Path) -> None:
    shown = server_support.qgov({}, "demo", "--server", "--workdir", str(tmp_path / "demo"))
    assert shown.returncode == 0, shown.stderr
    out = " ".join(shown.stdout.split())  # the demo's story is its result: stdout (DESIGN.md)
    assert "Li tries to approve her own request 403 user 'li' may not approve or deny access requests" in out
    assert "200: 1500 bytes, SHA-256 matches: True" in out and "no token: 401" in out
