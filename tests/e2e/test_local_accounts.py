"""Local accounts with TOTP over HTTP: sign-in, replay, wrong factors, cookie sessions and CSRF."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from governance.requests import Person, register_person
from tests.conftest import QGOV
from tests.e2e import server_support

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp: Path = tmp_path_factory.mktemp("accounts")
    env = {"QGOV_HOME": str(tmp / "home")}
    core = server_support.new_store(env)
    register_person(core, Person("li", ["US"], False, None, "US", "Lab B", "2026-05-01"), ["researcher"])
    core.close()
    made = subprocess.run(
        [QGOV, "account", "password", "li", "--password-stdin", "--json"],
        input=PASSWORD + "\n",
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    enrolled = json.loads(made.stdout)
    with server_support.running_server(env) as base:
        yield {"base": base, "secret": enrolled["totp_secret"], "uri": enrolled["otpauth_uri"], **env}


def _sign_in(lab: dict[str, str], password: str = PASSWORD, code: str | None = None) -> httpx.Response:
    code = code or pyotp.TOTP(lab["secret"]).now()
    return httpx.post(f"{lab['base']}/api/v1/auth/sign-in", json={"user": "li", "password": password, "code": code})


def test_enrolment_gives_an_authenticator_uri_and_stores_no_clear_secret(lab: dict[str, str]) -> None:
    assert lab["uri"].startswith("otpauth://totp/qgov:li?secret=") and "issuer=qgov" in lab["uri"]
    import sqlite3

    db = sqlite3.connect(Path(lab["QGOV_HOME"]) / "qgov.db")
    ((stored, hashed),) = db.execute("SELECT totp_secret, password_hash FROM local_accounts").fetchall()
    db.close()
    assert lab["secret"].encode() not in stored and hashed.startswith("$argon2id$") and PASSWORD not in hashed


def test_password_and_code_sign_in_and_a_code_works_once(lab: dict[str, str]) -> None:
    code = pyotp.TOTP(lab["secret"]).now()
    first = _sign_in(lab, code=code)
    assert first.status_code == 200, first.text
    token = first.json()["token"]
    me = httpx.get(f"{lab['base']}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "li" and me["authenticated_by"].startswith("token:")
    replay = _sign_in(lab, code=code)
    assert replay.status_code == 401 and replay.json()["detail"] == "sign-in: wrong user name, password or code"


def test_a_wrong_password_or_code_gets_the_same_answer(lab: dict[str, str]) -> None:
    wrong_password = _sign_in(lab, password="not the password at all")
    wrong_code = _sign_in(lab, code="000000" if pyotp.TOTP(lab["secret"]).now() != "000000" else "111111")
    assert wrong_password.status_code == wrong_code.status_code == 401
    assert wrong_password.json()["detail"] == wrong_code.json()["detail"]


def test_a_browser_session_needs_the_csrf_token_to_change_anything(lab: dict[str, str]) -> None:
    import time

    time.sleep(31 - time.time() % 30)  # a fresh time step: the previous test used this one's code
    signed = _sign_in(lab)
    assert signed.status_code == 200, signed.text
    cookies = {"qgov_session": signed.cookies["qgov_session"], "qgov_csrf": signed.cookies["qgov_csrf"]}
    set_cookie = signed.headers.get_list("set-cookie")
    session_cookie = next(c for c in set_cookie if c.startswith("qgov_session="))
    assert "HttpOnly" in session_cookie and "Secure" in session_cookie and "SameSite=strict" in session_cookie
    with httpx.Client(base_url=lab["base"], cookies=cookies) as browser:
        assert browser.get("/api/v1/whoami").json()["name"] == "li"
        forged = browser.post("/api/v1/access-requests", json={"artifact": "x", "purpose": "y"})
        assert forged.status_code == 403 and "X-CSRF-Token" in forged.json()["detail"]
        with_csrf = browser.post(
            "/api/v1/access-requests",
            json={"artifact": "x", "purpose": "y"},
            headers={"X-CSRF-Token": signed.json()["csrf_token"]},
        )
        assert with_csrf.status_code == 404  # past authentication and CSRF: the artifact does not exist
        out = browser.post("/api/v1/auth/sign-out", headers={"X-CSRF-Token": signed.json()["csrf_token"]})
        assert out.status_code == 200
    with httpx.Client(base_url=lab["base"], cookies=cookies) as replayed:  # the old cookie, kept by an attacker
        assert replayed.get("/api/v1/whoami").status_code == 401


def test_sign_in_still_works_after_the_key_encryption_key_is_rotated(lab: dict[str, str]) -> None:
    import time

    rotated = subprocess.run(
        [QGOV, "keys", "rotate", "--json"],
        env={**os.environ, "QGOV_HOME": lab["QGOV_HOME"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert len(json.loads(rotated.stdout)["retired_key_ids"]) == 1
    time.sleep(31 - time.time() % 30)  # a fresh time step
    assert _sign_in(lab).status_code == 200
