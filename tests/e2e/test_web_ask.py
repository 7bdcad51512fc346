"""An officer asks for information and the requester answers: in the browser, through the
HTTP API, and by e-mail from a real `qgov serve` to a real SMTP server (aiosmtpd on loopback).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from governance.app import App
from governance.people import set_email
from tests.e2e import server_support
from tests.e2e.web_checklist import check_page
from tests.e2e.web_support import signed_in, web_site
from tests.integration.test_email_notifications import Inbox, _free_port

QUESTION = "Which lab will hold the copy, and who else reads it?"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    port = _free_port()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {"QGOV_SMTP_HOST": "127.0.0.1", "QGOV_SMTP_PORT": str(port), "QGOV_SMTP_FROM": "qgov@lab-b.example"}

    def prepare(core: App, env: dict[str, str]) -> None:
        set_email(core, "li", "li@umd.example")

    try:
        with web_site(tmp_path_factory.mktemp("ask"), ("li", "olga"), env=env, prepare=prepare) as served:
            served["inbox"] = inbox
            served["tokens"] = server_support.issue_tokens(served["env"], ["li", "olga", "ann"])
            yield served
    finally:
        smtp.stop()


def _api(site: dict[str, Any], who: str, method: str, path: str, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {site['tokens'][who]['token']}"}
    return httpx.request(method, f"{site['base']}/api/v1{path}", json=body, headers=headers, timeout=60)


def test_the_officer_asks_in_the_queue_and_the_researcher_answers_on_their_page(site: dict[str, Any]) -> None:
    made = _api(site, "li", "POST", "/access-requests", {"artifact": site["ids"]["sponsor"], "purpose": "fit T1"})
    assert made.status_code == 201 and made.json()["status"] == "queued", made.text
    request = made.json()["id"]
    olga = signed_in(site, "olga")
    card = olga.locator("section.card", has_text="fit T1")
    card.get_by_label("Ask the requester (the review waits, its clock paused)").fill(QUESTION)
    card.get_by_role("button", name="Ask for information").click()
    assert f"Request {request} waits for the requester's answer" in olga.get_by_role("status").inner_text()
    assert olga.locator("section.card", has_text="fit T1").count() == 0  # out of the queue while waiting
    # li is told by e-mail that there is a question, not what it is
    mail = site["inbox"].messages[-1]
    assert mail[0] == ["li@umd.example"] and "waiting for your answer" in mail[1]["Subject"]
    assert request in mail[1].get_content() and "Which lab" not in mail[1].get_content()
    li = signed_in(site, "li")
    assert (
        "waiting for your answer to an officer's question"
        in li.get_by_role("region", name="Notifications").inner_text()
    )
    card = li.locator("section.card", has_text=request)
    assert QUESTION in card.inner_text()
    check_page(li)
    card.get_by_label("Your answer to the officer").fill("Lab B only; nobody else")
    card.get_by_role("button", name="Send answer").click()
    assert "back in the review queue" in li.get_by_role("status").inner_text()
    olga.reload()
    card = olga.locator("section.card", has_text="fit T1")
    assert QUESTION in card.inner_text() and "Lab B only; nobody else" in card.inner_text()
    check_page(olga)


def test_ask_and_answer_through_the_api(site: dict[str, Any]) -> None:
    made = _api(site, "li", "POST", "/access-requests", {"artifact": site["ids"]["sponsor"], "purpose": "api path"})
    request = made.json()["id"]
    refused = _api(site, "li", "POST", f"/access-requests/{request}/ask", {"question": "mine?"})
    assert refused.status_code == 403 and "may not approve or deny" in refused.json()["detail"]
    asked = _api(site, "olga", "POST", f"/access-requests/{request[:8]}/ask", {"question": QUESTION})
    assert asked.status_code == 200 and asked.json()["status"] == "info_requested", asked.text
    mine = _api(site, "li", "GET", "/access/mine").json()
    (row,) = [r for r in mine["requests"] if r["request"] == request]
    assert (row["status"], row["question"]) == ("info_requested", QUESTION)
    other = _api(site, "ann", "POST", f"/access-requests/{request}/answer", {"text": "not mine"})
    assert other.status_code == 403 and "only its requester may" in other.json()["detail"]
    answered = _api(site, "li", "POST", f"/access-requests/{request}/answer", {"text": "Lab B"})
    assert answered.status_code == 200 and answered.json()["status"] == "queued"
    again = _api(site, "li", "POST", f"/access-requests/{request}/answer", {"text": "Lab B"})
    assert again.status_code == 422 and "no officer's question is waiting" in again.json()["detail"]
    queued = [q for q in _api(site, "olga", "GET", "/queue").json() if q["request"] == request]
    assert queued and queued[0]["answer"] == "Lab B"
    sent = _api(site, "olga", "GET", "/notifications/deliveries").json()
    assert sent["counts"].get("sent", 0) >= 2 and sent["failed"] == []
