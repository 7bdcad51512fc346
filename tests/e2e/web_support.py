"""What the browser tests share: a lab behind a real `qgov serve`, Debian's Chromium driven by
Playwright, signing in with a password and a TOTP code, and screenshots.

Chromium comes from Debian's ``chromium`` package: without it the browser tests skip locally
and fail under ``CI=true``, like tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest

from governance.app import App
from governance.requests import Person, register_person
from tests.conftest import QGOV
from tests.e2e import server_support

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
VIEWPORT = {"width": 1280, "height": 900}


def require_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: the browser tests must run in CI (scripts/chromium.sh installs it)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


def set_password(env: dict[str, str], person: str) -> str:
    """``qgov account password PERSON`` with :data:`PASSWORD`; the TOTP secret it prints."""
    made = subprocess.run(
        [QGOV, "account", "password", person, "--password-stdin", "--json"],
        input=PASSWORD + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["totp_secret"])


@contextmanager
def web_site(
    tmp: Path,
    people: tuple[str, ...],
    env: dict[str, str] | None = None,
    prepare: Callable[[App, dict[str, str]], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """The lab of :func:`server_support.build_lab` plus dana (data manager), passwords for
    ``people``, ``prepare(core, env)`` for what a test adds, then `qgov serve` and a browser.

    Yields ``base``, ``ids`` (the lab's artifacts), ``secrets``, ``browser``, ``tmp``, ``env``
    and ``used_steps`` (the TOTP step each person last signed in with)."""
    require_chromium()
    env = {"QGOV_HOME": str(tmp / "home"), **(env or {})}
    core = server_support.new_store(env)
    ids = server_support.build_lab(core, tmp)
    register_person(core, Person("dana", ["US"], False, None, "US", "Lab B", server_support.TRAINED), ["data_manager"])
    if prepare is not None:
        prepare(core, env)
    core.close()
    secrets = {person: set_password(env, person) for person in people}
    from playwright.sync_api import sync_playwright

    with server_support.running_server(env) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield {
                "base": base,
                "ids": ids,
                "secrets": secrets,
                "browser": browser,
                "tmp": tmp,
                "env": env,
                "used_steps": {},
            }
        finally:
            browser.close()


def signed_in(site: dict[str, Any], person: str) -> Any:
    """A new browser context with ``person`` signed in (password and this step's TOTP code)."""
    from tests.e2e.web_checklist import check_page

    context = site["browser"].new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{site['base']}/ui/")
    assert page.url.endswith("/ui/sign-in"), page.url
    check_page(page)
    page.get_by_label("User name").fill(person)
    page.get_by_label("Password").fill(PASSWORD)
    wait_for_fresh_code(site, person)
    page.get_by_label("Code from your authenticator app (6 digits)").fill(pyotp.TOTP(site["secrets"][person]).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"Signed in as {person}").is_visible(), page.content()[:2000]
    return page


def wait_for_fresh_code(site: dict[str, Any], person: str) -> None:
    """A TOTP code works once: wait for the next 30-second step if this one was used."""
    if site["used_steps"].get(person) == int(time.time() // 30):
        time.sleep(31 - time.time() % 30)
    site["used_steps"][person] = int(time.time() // 30)


def screenshot(page: Any, path: Path, full_page: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


__all__ = [
    "CHROMIUM",
    "PASSWORD",
    "VIEWPORT",
    "require_chromium",
    "screenshot",
    "set_password",
    "signed_in",
    "wait_for_fresh_code",
    "web_site",
]
