"""The API routes behind issue 16's gaps, and qgov.Client against the same server and embedded:
people, roles, datasets, a researcher's view, why content is refused, events, checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import qgov
from governance.app import App
from governance.grant_status import NoGrantError
from qgov.errors import AccessDenied, InputError, NotFoundError
from tests.e2e import server_support

PROBLEM = "application/problem+json"


@dataclass
class Site:
    env: dict[str, str]
    ids: dict[str, str]
    tokens: dict[str, dict[str, str]]
    base: str

    def get(self, who: str, path: str, **params: object) -> httpx.Response:
        return self.call("GET", who, path, params=params)

    def call(self, method: str, who: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]['token']}"}
        return httpx.request(method, f"{self.base}/api/v1{path}", headers=headers, timeout=120, **kwargs)  # type: ignore[arg-type]

    def client(self, who: str) -> qgov.Client:
        return qgov.Client(self.base, self.tokens[who]["token"])

    def embedded(self, who: str) -> qgov.Client:
        return qgov.Client.embedded(self.env["QGOV_HOME"], user=who)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("api-gaps")
    with server_support.database(request.param, tmp) as db_url:
        env = {"QGOV_HOME": str(tmp / "home"), "QGOV_DATABASE_URL": db_url}
        core: App = server_support.new_store(env)
        ids = server_support.build_lab(core, tmp)
        core.close()
        tokens = server_support.issue_tokens(env, ["alice", *(p for p, _, _ in server_support.PEOPLE)])
        with server_support.running_server(env) as base:
            yield Site(env, ids, tokens, base)


@pytest.fixture(autouse=True)
def _database_for_embedded(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # qgov.Client.embedded reads the rest of its settings from the environment, as the CLI does
    monkeypatch.setenv("QGOV_DATABASE_URL", site.env["QGOV_DATABASE_URL"])


def _problem(answer: httpx.Response, status: int, text: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    doc = answer.json()
    assert text in doc["detail"] and doc["status"] == status
    return doc


def test_people_are_paginated_and_read_as_the_table_allows(site: Site) -> None:
    page = site.get("aud", "/people", limit=2, offset=1).json()
    assert page["total"] == len(server_support.PEOPLE) and page["limit"] == 2 and len(page["items"]) == 2
    assert page["items"][0]["name"] == sorted(p for p, _, _ in server_support.PEOPLE)[1]
    _problem(site.get("li", "/people"), 403, "may not read other people's registered facts")
    _problem(site.get("aud", "/people", limit=0), 422, "limit")
    assert site.get("li", "/people/li").json()["citizenships"] == ["CN"]
    _problem(site.get("li", "/people/ann"), 403, "may not read other people's")
    _problem(site.get("olga", "/people/anm"), 404, "did you mean 'ann'")


def test_roles_are_granted_and_revoked_over_http(site: Site) -> None:
    assert site.call("PUT", "alice", "/people/rob/roles/auditor").json()["granted"] is True
    assert "auditor" in site.get("olga", "/people/rob").json()["roles"]
    assert site.call("DELETE", "alice", "/people/rob/roles/auditor").json()["revoked"] is True
    _problem(site.call("DELETE", "li", "/people/rob/roles/researcher"), 403, "may not grant or revoke roles")
    _problem(site.call("PUT", "alice", "/people/ghost/roles/auditor"), 404, "person 'ghost' is not registered")


def test_a_dataset_is_corrected_with_patch(site: Site) -> None:
    done = site.call("PATCH", "alice", "/datasets/generic", json={"description": "readout", "owner": "ann"}).json()
    assert set(done["fields"]) == {"description", "owner"}
    shown = site.get("li", "/datasets/generic").json()
    assert (shown["owner"], shown["description"]) == ("ann", "readout")
    _problem(site.call("PATCH", "alice", "/datasets/generic", json={"ownr": "x"}), 422, "ownr")
    bad = site.call("PATCH", "alice", "/datasets/sponsor", json={"params": {"physical_qbits": 5}})
    _problem(bad, 422, "did you mean 'physical_qubits'")
    listed = site.get("li", "/datasets", limit=1).json()
    assert listed["total"] == 2 and [d["name"] for d in listed["items"]] == ["generic"]


def test_refused_content_carries_the_grant_status_and_mine_shows_the_request(site: Site) -> None:
    sponsor = site.ids["sponsor"]
    doc = _problem(site.get("rita", f"/artifacts/{sponsor}/content"), 403, "no valid grant covers it")
    assert doc["grant_status"] == "never_requested"
    asked = site.call("POST", "li", "/access-requests", json={"artifact": sponsor, "purpose": "readout"}).json()
    doc = _problem(site.get("li", f"/artifacts/{sponsor}/content"), 403, "(pending)")
    assert doc["grant_status"] == "pending"
    mine = site.get("li", "/access/mine").json()
    assert [r["request"] for r in mine["requests"]] == [asked["id"]] and mine["requests"][0]["status"] == "queued"
    row = next(q for q in site.get("olga", "/queue").json() if q["request"] == asked["id"])
    assert row["citizenships"] == ["CN"] and row["destination"] == "US" and row["screening"] == []


def test_events_filter_and_page_and_checkpoints_list(site: Site) -> None:
    first = site.get("aud", "/events", type="person.registered", limit=2).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2
    assert {e["type"] for e in first["items"]} == {"person.registered"}
    rest = site.get("aud", "/events", type="person.registered", limit=100, offset=2).json()
    registered = 1 + len(server_support.PEOPLE)  # alice, registered by init as the admin, and the lab's people
    assert len(rest["items"]) == registered - 2 and rest["next_offset"] is None
    assert site.get("aud", "/events", actor="nobody").json()["items"] == []
    _problem(site.get("aud", "/events", since="last week"), 422, "since: expected an ISO 8601 time")
    _problem(site.get("li", "/events"), 403, "may not read the provenance log")
    page = site.get("aud", "/checkpoints").json()
    assert page["total"] >= 1 and page["items"][0]["size"] >= 1


def test_the_python_client_answers_the_same_embedded_and_remote(site: Site, tmp_path: Path) -> None:
    with site.client("aud") as remote, site.embedded("aud") as local:
        assert remote.remote and not local.remote
        assert remote.whoami()["name"] == local.whoami()["name"] == "aud"
        assert remote.datasets() == local.datasets()
        assert remote.artifacts("sponsor") == local.artifacts("sponsor")
        assert remote.artifact(site.ids["sponsor"]) == local.artifact(site.ids["sponsor"])
        item = {
            "kind": "technology",
            "subject": {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 8e-4},
        }
        assert remote.classify(item) == local.classify(item)
        assert remote.classify(item)["classification"] == "4E906"
        traced = [c.trace(site.ids["sponsor"]) for c in (remote, local)]
        for doc in traced:
            doc.pop("as_of")  # each answer is as of its own moment
        assert traced[0] == traced[1] and traced[0]["nodes"]
        assert remote.events(types=["person.registered"]) == local.events(types=["person.registered"])
        assert remote.checkpoints()["items"][:1] == local.checkpoints()["items"][:1]
        assert remote.verify()["ok"] is True and local.verify()["ok"] is True
        assert remote.people()["total"] == local.people()["total"]
        with pytest.raises(InputError, match="on the server's machine"):
            remote.ingest(tmp_path, "sponsor")
        with pytest.raises(NotFoundError, match="dataset 'nope' is not registered"):
            remote.dataset("nope")
        with pytest.raises(AccessDenied, match="may not see the review queue"):
            remote.queue()
    for make in (site.client, site.embedded):
        with make("rob") as rob:
            with pytest.raises(NoGrantError) as refused:
                rob.fetch(site.ids["sponsor"], tmp_path / "x")
            assert refused.value.reason == "never_requested" and not (tmp_path / "x").exists()
            assert rob.my_access()["requests"] == []
