"""The pages over plain HTTP (no browser): who may open what, CSRF, redirects, error pages.

A personal access token in the session cookie stands for its person, as a signed-in
browser's session token does; the capability table decides in the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from governance.api.app import csrf_token
from tests.e2e import server_support


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("webhttp")
    env = {"QGOV_HOME": str(tmp / "home")}
    core = server_support.new_store(env)
    ids = server_support.build_lab(core, tmp)
    core.close()
    tokens = {p: t["token"] for p, t in server_support.issue_tokens(env, ["li", "ann", "olga", "aud"]).items()}
    with server_support.running_server(env) as base:
        yield {"base": base, "ids": ids, "tokens": tokens}


def _as(site: dict[str, Any], person: str) -> httpx.Client:
    return httpx.Client(base_url=site["base"], cookies={"qgov_session": site["tokens"][person]}, timeout=120)


def test_without_a_session_a_page_redirects_to_sign_in_and_the_public_page_answers(site: dict[str, Any]) -> None:
    answer = httpx.get(f"{site['base']}/ui/queue")
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/sign-in?next=/ui/queue"
    assert httpx.get(f"{site['base']}/transparency").status_code == 200


@pytest.mark.parametrize(
    ("person", "path", "status"),
    [
        ("li", "/ui/queue", 403),
        ("li", "/ui/events", 403),
        ("li", "/ui/checkpoints", 403),
        ("li", "/ui/dashboard", 403),
        ("li", "/ui/my", 200),
        ("olga", "/ui/queue", 200),
        ("olga", "/ui/dashboard", 200),
        ("aud", "/ui/queue", 403),
        ("aud", "/ui/events", 200),
        ("aud", "/ui/dashboard", 200),
    ],
    ids=lambda v: str(v).replace("/", "_"),
)
def test_each_page_answers_as_the_capability_table_says(
    site: dict[str, Any], person: str, path: str, status: int
) -> None:
    with _as(site, person) as client:
        answer = client.get(path)
    assert answer.status_code == status, answer.text[:300]
    if status == 403:
        assert "may not" in answer.text and "text/html" in answer.headers["content-type"]


def test_a_researcher_sees_only_their_own_requests(site: dict[str, Any]) -> None:
    with _as(site, "li") as li, _as(site, "ann") as ann:
        token = csrf_token(site["tokens"]["li"])
        made = li.post(
            "/ui/request",
            data={"csrf": token, "artifact": site["ids"]["sponsor"], "purpose": "li's own study", "days": "30"}
            | {"destination": "US", "action": "submit"},
        )
        assert made.status_code == 303 and "queued" in made.headers["location"]
        assert "li&#39;s own study" in li.get("/ui/my").text
        assert "li&#39;s own study" not in ann.get("/ui/my").text


def test_a_researcher_sees_the_violations_recorded_against_them_and_no_one_elses(site: dict[str, Any]) -> None:
    from datetime import date, timedelta

    officer = {"Authorization": f"Bearer {site['tokens']['olga']}"}
    events = httpx.get(f"{site['base']}/api/v1/events", headers=officer, params={"type": "person.registered"})
    assert events.status_code == 200, events.text
    event = events.json()["items"][0]["event_id"]
    due = (date.today() + timedelta(days=10)).isoformat()
    body = {"person": "li", "what": "left a controlled printout on the bus", "sanction": "retraining"}
    made = httpx.post(
        f"{site['base']}/api/v1/violations",
        headers=officer,
        json=body | {"steps": [f"course@{due}"], "evidence": [event]},
    )
    assert made.status_code == 201, made.text
    with _as(site, "li") as li:
        page = li.get("/ui/my").text
        assert "Violations recorded against you" in page and "left a controlled printout on the bus" in page
        assert f"course, due {due}" in page
    with _as(site, "ann") as ann:
        assert "controlled printout" not in ann.get("/ui/my").text


def test_a_post_without_the_csrf_token_changes_nothing(site: dict[str, Any]) -> None:
    with _as(site, "li") as li:
        forged = li.post(
            "/ui/request", data={"artifact": site["ids"]["generic"], "purpose": "forged", "action": "submit"}
        )
        assert forged.status_code == 403 and "csrf" in forged.text
        assert "forged" not in li.get("/ui/my").text


def test_bad_input_on_a_form_is_a_page_naming_the_field(site: dict[str, Any]) -> None:
    with _as(site, "li") as li:
        token = csrf_token(site["tokens"]["li"])
        bad = li.post(
            "/ui/request",
            data={"csrf": token, "artifact": site["ids"]["generic"], "purpose": "x", "days": "0", "action": "submit"},
        )
    assert bad.status_code == 422 and "days: expected a whole number from 1 to 3650" in bad.text


def test_the_sign_in_page_refuses_a_form_posted_from_elsewhere(site: dict[str, Any]) -> None:
    posted = httpx.post(f"{site['base']}/ui/sign-in", data={"user": "li", "password": "x", "code": "123456"})
    assert posted.status_code == 403 and "expired" in posted.text


def test_a_next_page_outside_the_site_is_ignored(site: dict[str, Any]) -> None:
    page = httpx.get(f"{site['base']}/ui/sign-in", params={"next": "https://evil.example/"})
    assert 'name="next" value=""' in page.text


def test_a_forged_session_cookie_is_sent_to_sign_in_and_recorded(site: dict[str, Any]) -> None:
    forged = httpx.get(f"{site['base']}/ui/my", cookies={"qgov_session": "qgov_pat_forged_0000"})
    assert forged.status_code == 303 and forged.headers["location"].startswith("/ui/sign-in")
    with _as(site, "aud") as aud:
        assert "qgov_pat_forged" not in aud.get("/ui/events", params={"type": "auth.failed"}).text
        assert "<code>auth.failed</code>" in aud.get("/ui/events", params={"type": "auth.failed"}).text


NEW_FORMS = [
    # (person the table refuses, path, form): each new form goes through the service's check
    ("li", "/ui/datasets/new", {"name": "li-data", "subject_type": "none"}),
    ("li", "/ui/datasets/generic/research", {"fundamental": "yes"}),
    ("li", "/ui/holds", {"scope": "dataset", "target": "generic", "reason": "li's hold"}),
    ("li", "/ui/artifacts/{generic}/hold", {"reason": "li's hold"}),
    ("aud", "/ui/artifacts/{generic}/declassify", {"reason": "auditor's wish"}),
    ("aud", "/ui/artifacts/{generic}/override", {"classification": "EAR99", "reason": "auditor's wish"}),
    (
        "olga",
        "/ui/artifacts/{generic}/delete",
        {"reason": "officer's wish", "confirm": "yes", "before_retention_end": "yes"},
    ),
]


@pytest.mark.parametrize(("person", "path", "form"), NEW_FORMS, ids=[f[1] for f in NEW_FORMS])
def test_the_new_forms_refuse_whom_the_table_refuses_and_any_post_without_csrf(
    site: dict[str, Any], person: str, path: str, form: dict[str, str]
) -> None:
    path = path.format(**site["ids"])
    with _as(site, person) as client:
        forged = client.post(path, data=form)
        assert forged.status_code == 403 and "csrf" in forged.text, forged.text[:300]
        refused = client.post(path, data={**form, "csrf": csrf_token(site["tokens"][person])})
    assert refused.status_code == 403 and "may not" in refused.text, refused.text[:300]


def test_an_upload_by_someone_who_may_not_ingest_is_refused_before_a_byte_is_written(site: dict[str, Any]) -> None:
    with _as(site, "li") as client:
        refused = client.post(
            "/ui/datasets/generic/ingest",
            data={"csrf": csrf_token(site["tokens"]["li"])},
            files={"files": ("t1.csv", b"q,t1\n9,9\n", "text/csv")},
        )
    assert refused.status_code == 403 and "may not ingest" in refused.text


@pytest.mark.parametrize(
    ("person", "path", "form", "field"),
    [
        ("olga", "/ui/release", {"dataset": "generic", "stat": "median", "column": "t1"}, "stat: expected one of"),
        ("olga", "/ui/release", {"dataset": "generic", "stat": "mean", "column": ""}, "column: name a column"),
        ("olga", "/ui/collaboration", {"people": "Wei; CN; US", "artifacts": "x"}, "people line 1: expected"),
        ("olga", "/ui/holds", {"scope": "planet", "target": "x", "reason": "y"}, "scope: expected artifact"),
        ("olga", "/ui/artifacts/{generic}/delete", {"reason": ""}, "reason: a deletion needs a reason"),
    ],
    ids=lambda v: str(v)[:20] if isinstance(v, str) else "form",
)
def test_bad_input_on_the_new_forms_names_the_field(
    site: dict[str, Any], person: str, path: str, form: dict[str, str], field: str
) -> None:
    with _as(site, person) as client:
        bad = client.post(path.format(**site["ids"]), data={**form, "csrf": csrf_token(site["tokens"][person])})
    assert bad.status_code == 422 and field in bad.text, bad.text[:500]
