"""Browser sign-in through the institution's OpenID Connect issuer: authorization code + PKCE.

1. :meth:`OidcLogins.start` makes a fresh ``state``, ``nonce`` and PKCE ``code_verifier`` (RFC
   7636, S256), keeps them in the server's memory for ten minutes, and returns the issuer's
   authorization URL. The API also binds ``state`` to the browser in an HttpOnly cookie, so a
   code obtained in another browser cannot be completed in this one (login CSRF).
2. :meth:`OidcLogins.finish` takes the ``code`` and ``state`` the issuer redirected back with:
   the state must be pending (each is used once) and match the cookie; the code is exchanged
   at the issuer's token endpoint with the verifier; the ID token is validated against the
   issuer's JWKS exactly as a bearer JWT is (:func:`governance.oidc.verify_id_token`), and its
   ``nonce`` must be ours. The username claim names a registered person, who gets a session
   token of a few hours, as after a local sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

import httpx

from governance.app import App
from governance.identity import AuthenticationError, IssuedToken, create_token_for
from governance.oidc import discovery, person_of, verify_id_token

PENDING_SECONDS = 600
MAX_PENDING = 10_000
SESSION_HOURS = 8


@dataclass(frozen=True)
class _Pending:
    verifier: str
    nonce: str
    redirect_uri: str
    started: float


def code_challenge(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _issuer_configured(app: App) -> tuple[str, str]:
    settings = app.settings
    if not settings.oidc_issuer or not settings.oidc_audience:
        raise AuthenticationError("OIDC sign-in: this server has no OpenID Connect issuer (QGOV_OIDC_ISSUER)")
    return settings.oidc_issuer, settings.oidc_audience


class OidcLogins:
    """Sign-ins under way, in the server's memory (one process serves a lab)."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def start(self, app: App, redirect_uri: str) -> tuple[str, str]:
        """The issuer's authorization URL for a new sign-in, and its state."""
        issuer, client_id = _issuer_configured(app)
        endpoint = discovery(issuer).get("authorization_endpoint")
        if not isinstance(endpoint, str):
            raise AuthenticationError(f"OIDC issuer {issuer}: its discovery document has no authorization_endpoint")
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        now = time.monotonic()
        with self._lock:
            expired = [k for k, p in self._pending.items() if now - p.started > PENDING_SECONDS]
            for key in expired:
                del self._pending[key]
            if len(self._pending) >= MAX_PENDING:
                raise AuthenticationError("OIDC sign-in: too many sign-ins under way; try again in a few minutes")
            self._pending[state] = _Pending(verifier, nonce, redirect_uri, now)
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}", state

    def finish(self, app: App, code: str, state: str, browser_state: str | None) -> IssuedToken:
        """Exchange the code, validate the ID token, and start a session for its person."""
        issuer, client_id = _issuer_configured(app)
        if not browser_state or not hmac.compare_digest(state.encode(), browser_state.encode()):
            raise AuthenticationError("OIDC sign-in: the state does not match this browser's sign-in")
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.started > PENDING_SECONDS:
            raise AuthenticationError("OIDC sign-in: unknown or expired state; start the sign-in again")
        endpoint = discovery(issuer).get("token_endpoint")
        if not isinstance(endpoint, str):
            raise AuthenticationError(f"OIDC issuer {issuer}: its discovery document has no token_endpoint")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
        }
        secret = app.settings.oidc_client_secret
        auth = (client_id, secret.get_secret_value()) if secret is not None else None
        if auth is None:
            form["client_id"] = client_id  # a public client: PKCE is its proof
        try:
            answer = httpx.post(endpoint, data=form, auth=auth, timeout=10)
            tokens = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise AuthenticationError(f"OIDC sign-in: the token endpoint failed ({type(exc).__name__})") from None
        if answer.status_code != 200 or not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            error = tokens.get("error") if isinstance(tokens, dict) else None
            raise AuthenticationError(f"OIDC sign-in: the issuer refused the code ({error or answer.status_code})")
        claims = verify_id_token(app, tokens["id_token"])
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(), pending.nonce.encode()):
            raise AuthenticationError("OIDC sign-in: the ID token's nonce is not this sign-in's")
        who = person_of(app, claims)
        return create_token_for(app, who.name, timedelta(hours=SESSION_HOURS), f"sign-in (oidc:{issuer})", by=who.name)


__all__ = ["OidcLogins", "code_challenge"]
