"""The web interface as people use it: Debian's Chromium, driven by Playwright, against a real
`qgov serve` (issue 18). Each role signs in with a password and a TOTP code and walks its main
path; every page visited passes the accessibility checklist (tests/e2e/web_checklist.py);
screenshots are kept under the test's temporary directory (paths printed with -s). The
shared set-up (server, browser, signing in) is tests/e2e/web_support.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.e2e import server_support
from tests.e2e.web_checklist import check_page
from tests.e2e.web_support import PASSWORD, screenshot, signed_in, wait_for_fresh_code, web_site

WEB_PEOPLE = ("li", "olga", "aud", "dana")
SHOTS = Path(os.environ.get("QGOV_WEB_SCREENSHOTS", "")) if os.environ.get("QGOV_WEB_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with web_site(tmp_path_factory.mktemp("web"), WEB_PEOPLE) as served:
        served["token"] = server_support.issue_tokens(served["env"], ["aud"])["aud"]["token"]
        yield served


def _shot(site: dict[str, Any], page: Any, name: str) -> Path:
    path = screenshot(page, site["tmp"] / "screenshots" / f"{name}.png")
    if SHOTS is not None:
        screenshot(page, SHOTS / f"{name}.png", full_page=False)
    return path


def test_a_researcher_previews_asks_and_downloads(site: dict[str, Any]) -> None:
    page = signed_in(site, "li")
    nav = [a.inner_text() for a in page.get_by_role("navigation", name="Main").get_by_role("link").all()]
    # no queue, events, holds or dashboard for a researcher
    assert nav == ["My requests", "New request", "Datasets", "Statistics", "Collaboration check"]
    page.get_by_role("link", name="New request").click()
    check_page(page)
    page.get_by_label("Artifact").select_option(site["ids"]["sponsor"])
    page.get_by_label("Purpose (the officer reads it)").fill("calibrate the 120-qubit sweep")
    page.get_by_role("button", name="Preview the decision").click()
    preview = page.get_by_role("region", name="Preview: license required")
    assert "Nothing has been recorded" in preview.inner_text()
    assert "734.13" in preview.inner_text()  # a deemed export: the citation behind the answer
    check_page(page)
    page.get_by_role("button", name="Submit the request").click()
    assert "queued for an officer's review" in page.get_by_role("status").inner_text()
    card = page.locator("section.card").first
    assert "queued" in card.inner_text() and "Wait for an export-control officer" in card.inner_text()
    check_page(page)
    # the EAR99 dataset is granted at once and downloads
    page.goto(f"{site['base']}/ui/request?artifact={site['ids']['generic']}")
    page.get_by_label("Purpose (the officer reads it)").fill("fit T1 curves")
    page.get_by_role("button", name="Submit the request").click()
    assert "granted at once" in page.get_by_role("status").inner_text()
    _shot(site, page, "researcher")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download t1.csv").first.click()
    assert Path(download.value.path()).read_bytes() == server_support.CONTENT
    # a fetch without a grant says why, in the researcher's words
    page.goto(f"{site['base']}/ui/fetch/{site['ids']['sponsor']}")
    assert "pending review since" in page.get_by_role("alert").inner_text()


def test_an_officer_reviews_the_queue_with_its_context_and_approves(site: dict[str, Any]) -> None:
    page = signed_in(site, "olga")
    assert page.url.endswith("/ui/queue")
    card = page.locator("section.card", has_text="li:").first
    text = card.inner_text()
    for fact in ("CN", "Lab B", "calibrate the 120-qubit sweep", "4E906", "US", "30 days", "license required"):
        assert fact in text, (fact, text)
    check_page(page)
    _shot(site, page, "officer")
    card.get_by_label("Licence or exception reference (required)").fill("BIS D123456")
    card.get_by_role("button", name="Approve").click()
    assert "approved: grant" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Dashboard").click()
    check_page(page)
    assert "Incidents open" in page.content() and "none recorded" in page.content()


def test_a_form_post_without_the_session_s_csrf_token_is_refused(site: dict[str, Any]) -> None:
    page = signed_in(site, "olga")
    forged = page.request.post(f"{site['base']}/ui/queue/x/deny", form={"reason": "forged", "csrf": "wrong"})
    assert forged.status == 403 and "csrf" in forged.text()


def test_an_auditor_searches_verifies_and_traces(site: dict[str, Any]) -> None:
    page = signed_in(site, "aud")
    assert page.url.endswith("/ui/events")
    page.get_by_label('Type (a prefix ends in ".")').fill("access.")
    page.get_by_label("Actor").fill("li")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"[?&]type=access"))
    rows = page.locator("tbody tr").all_inner_texts()
    assert rows and all("access." in r and "li" in r for r in rows), rows
    check_page(page)
    page.get_by_role("link", name="Checkpoints").click()
    page.get_by_role("button", name="Verify the log now").click()
    assert "Log intact" in page.get_by_role("status").inner_text()
    check_page(page)
    page.goto(f"{site['base']}/ui/lineage?node={site['ids']['generic']}&agents=show")
    svg = page.locator("svg[role=img]")
    assert svg.count() == 1 and page.locator("svg[role=img] rect").count() >= 2
    box = page.locator(".graph").bounding_box()
    assert box is not None and box["width"] <= 1280
    check_page(page)
    _shot(site, page, "auditor")
    with page.expect_download() as download:
        page.get_by_role("link", name="PROV-JSON").click()
    prov = json.loads(Path(download.value.path()).read_text())
    assert "entity" in prov and "prefix" in prov


def test_a_data_manager_sees_datasets_and_the_quarantine(site: dict[str, Any]) -> None:
    page = signed_in(site, "dana")
    assert page.url.endswith("/ui/datasets")
    assert page.get_by_role("link", name="sponsor").is_visible()
    check_page(page)
    _shot(site, page, "data-manager")
    page.get_by_role("link", name="sponsor").click()
    assert "t1.csv" in page.content()
    page.get_by_role("link", name="Quarantine").first.click()
    assert "Nothing is quarantined." in page.content()
    check_page(page)


def test_the_transparency_page_needs_no_sign_in_and_suppresses_small_counts(site: dict[str, Any]) -> None:
    context = site["browser"].new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{site['base']}/transparency")
    check_page(page)
    text = page.content()
    assert "15 CFR" in text and "fewer than 5" in text and "none recorded" in text
    _shot(site, page, "public")


def test_metrics_for_prometheus_need_a_token_with_the_capability(site: dict[str, Any]) -> None:
    assert httpx.get(f"{site['base']}/metrics").status_code == 401
    time.sleep(0)  # the auditor's token: access.read_all
    scraped = httpx.get(f"{site['base']}/metrics", headers={"Authorization": f"Bearer {site['token']}"})
    assert scraped.status_code == 200, scraped.text
    assert "qgov_review_queue_pending" in scraped.text and "qgov_grants" in scraped.text


def test_signing_in_works_from_the_keyboard_alone_in_a_sane_focus_order(site: dict[str, Any]) -> None:
    context = site["browser"].new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{site['base']}/ui/sign-in")
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.id || document.activeElement.innerText"))
    assert order[0] == "Skip to content"
    start = order.index("user")
    assert order[start : start + 4] == ["user", "password", "code", "Sign in"], order
    page.get_by_label("User name").focus()
    page.keyboard.type("dana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    wait_for_fresh_code(site, "dana")
    page.keyboard.type(pyotp.TOTP(site["secrets"]["dana"]).now())
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/datasets")


def test_the_checklist_catches_what_it_checks(site: dict[str, Any]) -> None:
    """A page with an unlabelled field, no lang, no main and grey-on-white text fails it."""
    page = site["browser"].new_page()
    page.set_content('<title>x</title><h1>x</h1><input type="text"><p style="color:#aaa">faint</p><a href="#"></a>')
    with pytest.raises(AssertionError) as failed:
        check_page(page)
    for problem in ("no lang", "main landmark", "control without a label", "contrast", "unnamed a", "first Tab stop"):
        assert problem in str(failed.value), problem
