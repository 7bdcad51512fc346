"""OpenID Connect for institutions: the server accepts ID tokens (JWTs) from one configured issuer.

The issuer's signing keys come from its published JWKS (``jwks_uri`` in its discovery document,
fetched over the network and cached by PyJWT's ``PyJWKClient``); a token must be signed by one
of them with an asymmetric algorithm, be issued by the issuer, to the configured audience (our
client id), and be unexpired. The claim ``QGOV_OIDC_USERNAME_CLAIM`` names a registered person:
an institution's identity never creates a qgov person by itself (an admin registers people with
the facts access rules need).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import httpx
import jwt

from governance.app import App
from governance.identity import AuthenticationError, Principal, principal_for

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]
_lock = threading.Lock()


@lru_cache(maxsize=4)
def discovery(issuer: str) -> dict[str, Any]:
    """The issuer's discovery document (its endpoints and JWKS address), fetched once."""
    try:
        document = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except (httpx.HTTPError, ValueError) as exc:
        raise AuthenticationError(f"OIDC issuer {issuer}: discovery failed ({type(exc).__name__})") from None
    if str(document.get("issuer", "")).rstrip("/") != issuer:
        raise AuthenticationError(f"OIDC issuer {issuer}: its discovery document names {document.get('issuer')!r}")
    return document


@lru_cache(maxsize=4)
def _jwks_client(issuer: str) -> jwt.PyJWKClient:
    try:
        return jwt.PyJWKClient(discovery(issuer)["jwks_uri"], cache_keys=True, lifespan=300)
    except KeyError:
        raise AuthenticationError(f"OIDC issuer {issuer}: its discovery document has no jwks_uri") from None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def verify_id_token(app: App, token: str) -> dict[str, Any]:
    """The claims of an ID token signed by the configured issuer for our client id, unexpired."""
    settings = app.settings
    if not settings.oidc_issuer or not settings.oidc_audience:
        raise AuthenticationError("bearer token: a JWT, but this server has no OpenID Connect issuer configured")
    with _lock:
        client = _jwks_client(settings.oidc_issuer)
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        if kid is not None:
            key = client.get_signing_key(kid)
        else:
            # No key id: acceptable only when the issuer publishes exactly one signing key.
            keys = client.get_signing_keys()
            if len(keys) != 1:
                raise AuthenticationError(f"bearer JWT: no key id, and the issuer publishes {len(keys)} keys")
            key = keys[0]
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=settings.oidc_audience,
            issuer=settings.oidc_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as exc:
        raise AuthenticationError(f"bearer JWT: {exc}") from None
    return claims


def person_of(app: App, claims: dict[str, Any]) -> Principal:
    """The registered person the username claim names (an identity creates no person)."""
    settings = app.settings
    name = claims.get(settings.oidc_username_claim)
    if not isinstance(name, str) or not name.strip():
        raise AuthenticationError(f"bearer JWT: no {settings.oidc_username_claim!r} claim naming a person")
    with app.engine.connect() as conn:
        return principal_for(conn, name.strip(), f"oidc:{settings.oidc_issuer}")


def authenticate_jwt(app: App, token: str) -> Principal:
    """The registered person an ID token from the configured issuer stands for."""
    return person_of(app, verify_id_token(app, token))


__all__ = ["authenticate_jwt", "discovery", "looks_like_jwt", "person_of", "verify_id_token"]
