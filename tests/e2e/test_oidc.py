"""OpenID Connect: `qgov serve` accepts ID tokens from a real issuer started on loopback.

The issuer is oidc-provider-mock (authlib behind Flask): it runs the authorization-code flow,
signs ID tokens with its own RSA key and publishes the key in its JWKS. Nothing about
validation is mocked: the server fetches the issuer's discovery document and JWKS over HTTP.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from governance.requests import Person, register_person
from tests.e2e import server_support

with warnings.catch_warnings():
    # oidc-provider-mock 0.3.4 imports authlib.jose, which authlib deprecates: not our code.
    warnings.simplefilter("ignore")
    from oidc_provider_mock import User, run_server_in_thread

CLIENT = "qgov-lab-b"
# The test issuer (authlib inside oidc-provider-mock) calls authlib APIs that authlib itself
# deprecates; those warnings come from its thread, not from qgov.
pytestmark = [
    pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:authlib.jose module is deprecated:DeprecationWarning"),
]


def _id_token(issuer: str, sub: str, client: str = CLIENT) -> str:
    """The authorization-code flow as a browser would drive it, then the code for tokens."""
    redirect = "http://127.0.0.1:9/callback"
    query = {
        "client_id": client,
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": "openid profile",
        "state": "s",
        "nonce": "n",
    }
    chosen = httpx.post(f"{issuer}/oauth2/authorize", params=query, data={"sub": sub})
    assert chosen.status_code == 302, chosen.text
    code = parse_qs(urlparse(chosen.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        f"{issuer}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(client, "secret"),
    )
    assert tokens.status_code == 200, tokens.text
    return str(tokens.json()["id_token"])


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    users = [
        User(sub="u-1001", claims={"preferred_username": "li"}),
        User(sub="u-1002", claims={"preferred_username": "ghost"}),
    ]
    with run_server_in_thread(user_claims=users) as srv:
        yield f"http://127.0.0.1:{srv.server_port}"


@pytest.fixture(scope="module")
def served(issuer: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("oidc")
    env = {
        "QGOV_HOME": str(tmp / "home"),
        "QGOV_OIDC_ISSUER": issuer,
        "QGOV_OIDC_AUDIENCE": CLIENT,
        "QGOV_OIDC_CLIENT_SECRET": "lab-b-secret",
    }
    core = server_support.new_store(env)
    register_person(core, Person("li", ["US"], False, None, "US", "Lab B", "2026-05-01"), ["researcher"])
    core.close()
    with server_support.running_server(env) as base:
        yield base


def _whoami(base: str, token: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})


def test_an_id_token_from_the_issuer_signs_in_the_registered_person(served: str, issuer: str) -> None:
    answer = _whoami(served, _id_token(issuer, "u-1001"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"name": "li", "roles": ["researcher"], "authenticated_by": f"oidc:{issuer}"}


def test_an_identity_without_a_registered_person_is_refused(served: str, issuer: str) -> None:
    answer = _whoami(served, _id_token(issuer, "u-1002"))
    assert answer.status_code == 401 and "'ghost' is not a registered person" in answer.json()["detail"]


def test_a_token_issued_to_another_client_is_refused(served: str, issuer: str) -> None:
    answer = _whoami(served, _id_token(issuer, "u-1001", client="some-other-app"))
    assert answer.status_code == 401 and "audience" in answer.json()["detail"].lower()


def test_a_token_signed_by_another_key_is_refused(served: str, issuer: str) -> None:
    genuine = _id_token(issuer, "u-1001")
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims | {"iat": int(time.time())}, other, algorithm="RS256", headers=header)
    answer = _whoami(served, forged)
    assert answer.status_code == 401 and "signature" in answer.json()["detail"].lower()


def test_an_unsigned_token_is_refused(served: str, issuer: str) -> None:
    claims = jwt.decode(_id_token(issuer, "u-1001"), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    answer = _whoami(served, unsigned)
    assert answer.status_code == 401


# -- browsers: the authorization-code flow with PKCE, driven by the server ------------------
def _start(served: str) -> tuple[str, dict[str, list[str]], str]:
    """A browser asks qgov to sign in: the redirect to the issuer and the state cookie."""
    start = httpx.get(f"{served}/api/v1/auth/oidc/login")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    cookie = next(c for c in start.headers.get_list("set-cookie") if c.startswith("qgov_oidc_state="))
    assert "HttpOnly" in cookie and "Secure" in cookie
    return location, parse_qs(urlparse(location).query), start.cookies["qgov_oidc_state"]


def _choose(location: str, sub: str) -> str:
    """At the issuer the person signs in (the test issuer's form takes a subject)."""
    chosen = httpx.post(location, data={"sub": sub})
    assert chosen.status_code == 302, chosen.text
    return str(chosen.headers["location"])


def test_a_browser_signs_in_through_the_issuer_with_pkce(served: str, issuer: str) -> None:
    location, query, state_cookie = _start(served)
    assert location.startswith(f"{issuer}/oauth2/authorize?")
    assert query["client_id"] == [CLIENT] and query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{served}/api/v1/auth/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43  # SHA-256, base64url
    assert query["state"] == [state_cookie] and len(query["nonce"][0]) >= 32
    back = _choose(location, "u-1001")
    assert back.startswith(f"{served}/api/v1/auth/oidc/callback?")
    signed = httpx.get(back, cookies={"qgov_oidc_state": state_cookie})
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_in"] == "li"
    session = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("qgov_session="))
    assert "HttpOnly" in session and "Secure" in session and "SameSite=strict" in session
    me = httpx.get(f"{served}/api/v1/whoami", cookies={"qgov_session": signed.cookies["qgov_session"]})
    assert me.status_code == 200 and me.json()["name"] == "li"
    assert me.json()["authenticated_by"].startswith("token:")
    # the code and state are spent: the same redirect again signs nobody in
    again = httpx.get(back, cookies={"qgov_oidc_state": state_cookie})
    assert again.status_code == 401 and "unknown or expired state" in again.json()["detail"]


def test_a_code_cannot_be_completed_in_another_browser(served: str, issuer: str) -> None:
    location, _, state_cookie = _start(served)
    back = _choose(location, "u-1001")
    elsewhere = httpx.get(back)  # no state cookie: not the browser that started the sign-in
    assert elsewhere.status_code == 401 and "does not match this browser" in elsewhere.json()["detail"]
    forged = httpx.get(back, cookies={"qgov_oidc_state": state_cookie + "x"})
    assert forged.status_code == 401


def test_a_browser_identity_without_a_registered_person_is_refused(served: str, issuer: str) -> None:
    location, _, state_cookie = _start(served)
    refused = httpx.get(_choose(location, "u-1002"), cookies={"qgov_oidc_state": state_cookie})
    assert refused.status_code == 401 and "'ghost' is not a registered person" in refused.json()["detail"]
    assert "qgov_session" not in refused.cookies
