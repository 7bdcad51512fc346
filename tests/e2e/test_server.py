"""`qgov serve` as people use it: tokens, the capability table, decisions and downloads over HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
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


@pytest.fixture
def lab(app: App, tmp_path: Path) -> dict[str, str]:
    return server_support.build_lab(app, tmp_path)


@pytest.fixture
def server(env: dict[str, str], lab: dict[str, str]) -> Iterator[str]:
    with server_support.running_server(env) as base:
        yield base


@pytest.fixture
def tokens(env: dict[str, str], lab: dict[str, str]) -> dict[str, dict[str, str]]:
    return server_support.issue_tokens(env, ["alice", "li", "ann", "olga", "aud"])


def _h(tokens: dict[str, dict[str, str]], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]['token']}"}


def test_token_create_prints_the_contract_document_and_keeps_only_a_hash(
    env: dict[str, str], tokens: dict[str, dict[str, str]], app: App
) -> None:
    doc = tokens["li"]
    assert set(doc) == {"token", "id", "expires_at"} and doc["token"].startswith("qgov_pat_")
    expires = datetime.fromisoformat(doc["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    secret = doc["token"].removeprefix(f"qgov_pat_{doc['id']}_")
    with app.engine.connect() as conn:
        stored = conn.execute(select(t.api_tokens.c.token_hash).where(t.api_tokens.c.id == doc["id"])).scalar_one()
        events = [e.body for e in EventLog(conn).iter_events(subject=doc["id"])]
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    assert [e.type for e in events] == ["token.created"] and secret not in json.dumps(events[0].payload)


def test_only_an_admin_issues_tokens_and_only_for_registered_people(env: dict[str, str], lab: dict[str, str]) -> None:
    refused = server_support.qgov({**env, "QGOV_USER": "li"}, "token", "create", "li", "--json")
    assert refused.returncode != 0 and "may not issue access tokens" in refused.stderr
    ghost = server_support.qgov(env, "token", "create", "ghost", "--json")
    assert ghost.returncode != 0 and "'ghost' is not a registered person" in ghost.stderr


def test_healthz_needs_no_token_and_everything_else_does(server: str, tokens: dict[str, dict[str, str]]) -> None:
    assert httpx.get(f"{server}/api/v1/healthz").json() == {"status": "ok"}
    spec = httpx.get(f"{server}/openapi.json").json()
    for path, methods in spec["paths"].items():
        if path == "/api/v1/healthz":
            continue
        for method in methods:
            url = server + path.replace("{request_id}", "x").replace("{artifact_id}", "x")
            answer = httpx.request(method.upper(), url, json={})
            assert answer.status_code == 401, (method, path, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["www-authenticate"] == "Bearer"


def test_whoami_names_the_token_holder_whatever_qgov_user_says(server: str, tokens: dict[str, dict[str, str]]) -> None:
    me = httpx.get(f"{server}/api/v1/whoami", headers=_h(tokens, "li") | {"X-QGOV-User": "olga"}).json()
    assert me == {"name": "li", "roles": ["researcher"], "authenticated_by": f"token:{tokens['li']['id']}"}


def test_a_revoked_or_forged_token_is_refused(
    server: str, env: dict[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    forged = tokens["li"]["token"][:-4] + "AAAA"
    answer = httpx.get(f"{server}/api/v1/whoami", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401 and "unknown or wrong token" in answer.json()["detail"]
    assert server_support.qgov(env, "token", "revoke", tokens["li"]["id"]).returncode == 0
    answer = httpx.get(f"{server}/api/v1/whoami", headers=_h(tokens, "li"))
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_failed_sign_ins_are_throttled_and_recorded(server: str, app: App) -> None:
    codes = [
        httpx.get(f"{server}/api/v1/whoami", headers={"Authorization": f"Bearer qgov_pat_{i:016x}_nope"}).status_code
        for i in range(12)
    ]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    with app.engine.connect() as conn:
        failed = [e for e in EventLog(conn).iter_events() if e.body.type == "auth.failed"]
    assert len(failed) == 10


def test_request_decide_and_download_over_http(
    server: str, lab: dict[str, str], tokens: dict[str, dict[str, str]], app: App
) -> None:
    made = httpx.post(
        f"{server}/api/v1/access-requests",
        headers=_h(tokens, "li"),
        json={"artifact": lab["sponsor"], "purpose": "readout benchmark", "days": 30, "destination": "US"},
    )
    assert made.status_code == 201, made.text
    req = made.json()
    assert (req["outcome"], req["status"]) == ("license_required", "queued") and req["id"]
    content = f"{server}/api/v1/artifacts/{lab['sponsor']}/content"
    refused = httpx.get(content, headers=_h(tokens, "li"))
    assert refused.status_code == 403 and "no valid grant" in refused.json()["detail"]
    # a researcher cannot decide; an officer needs a licence for this one
    own = httpx.post(f"{server}/api/v1/access-requests/{req['id']}/approve", headers=_h(tokens, "li"), json={})
    assert own.status_code == 403 and "export_control_officer" in own.json()["detail"]
    bare = httpx.post(f"{server}/api/v1/access-requests/{req['id']}/approve", headers=_h(tokens, "olga"), json={})
    assert bare.status_code == 422 and "licence" in bare.json()["detail"]
    ok = httpx.post(
        f"{server}/api/v1/access-requests/{req['id']}/approve",
        headers=_h(tokens, "olga"),
        json={"licence": "BIS D123456"},
    )
    assert ok.status_code == 200 and ok.json()["status"] == "granted" and ok.json()["grants"]
    got = httpx.get(content, headers=_h(tokens, "li"))
    assert got.status_code == 200 and got.content == CONTENT
    assert got.headers["content-length"] == str(len(CONTENT)) and got.headers["cache-control"] == "no-store"
    with app.engine.connect() as conn:
        fetched = [
            e.body for e in EventLog(conn).iter_events(subject=lab["sponsor"]) if e.body.type == "artifact.fetched"
        ]
    assert len(fetched) == 1 and fetched[0].payload["channel"] == "api"
    # another researcher still has no grant
    assert httpx.get(content, headers=_h(tokens, "ann")).status_code == 403


def test_an_officer_cannot_decide_their_own_request_over_http(
    server: str, lab: dict[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    req = httpx.post(
        f"{server}/api/v1/access-requests",
        headers=_h(tokens, "olga"),
        json={"artifact": lab["sponsor"], "purpose": "own study", "destination": "CN"},
    ).json()
    assert req["status"] == "queued"
    for action, body in (("approve", {"licence": "x"}), ("deny", {"reason": "x"})):
        answer = httpx.post(
            f"{server}/api/v1/access-requests/{req['id']}/{action}", headers=_h(tokens, "olga"), json=body
        )
        assert answer.status_code == 403 and "their own request" in answer.json()["detail"]


def test_researchers_see_only_their_own_requests(
    server: str, lab: dict[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    body = {"artifact": lab["generic"], "purpose": "fit T1", "destination": "US"}
    li = httpx.post(f"{server}/api/v1/access-requests", headers=_h(tokens, "li"), json=body).json()
    ann = httpx.post(f"{server}/api/v1/access-requests", headers=_h(tokens, "ann"), json=body).json()
    mine = httpx.get(f"{server}/api/v1/access-requests", headers=_h(tokens, "li")).json()
    assert [r["id"] for r in mine["items"]] == [li["id"]] and mine["total"] == 1
    assert httpx.get(f"{server}/api/v1/access-requests/{ann['id']}", headers=_h(tokens, "li")).status_code == 404
    everyone = httpx.get(f"{server}/api/v1/access-requests?limit=1", headers=_h(tokens, "aud")).json()
    assert everyone["total"] == 2 and len(everyone["items"]) == 1
    assert httpx.get(f"{server}/api/v1/queue", headers=_h(tokens, "aud")).status_code == 403


def test_bad_input_is_a_problem_document_naming_the_field(
    server: str, lab: dict[str, str], tokens: dict[str, dict[str, str]]
) -> None:
    answer = httpx.post(
        f"{server}/api/v1/access-requests",
        headers=_h(tokens, "li"),
        json={"artifact": lab["generic"], "purpose": "x", "destination": "China"},
    )
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"].startswith("destination:")
    missing = httpx.post(
        f"{server}/api/v1/access-requests", headers=_h(tokens, "li"), json={"artifact": "nope", "purpose": "x"}
    )
    assert missing.status_code == 404 and "artifact 'nope' does not exist" in missing.json()["detail"]
