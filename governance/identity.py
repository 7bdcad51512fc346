"""Who is asking: principals, personal access tokens and sign-in throttling.

A :class:`Principal` is what every service call acts for: a registered person, the roles
they hold now, and how they were authenticated. The server builds one per request from a
bearer token; the embedded command line builds one from the operating-system account.

Personal access tokens look like ``qgov_pat_<id>_<secret>``. The secret is 256 random bits,
so a single SHA-256 of it is what is stored (as GitHub and GitLab do: a slow password hash
buys nothing against a guess of 2^256); the token itself is shown once, when it is created,
and never logged. Lookup is by id, comparison in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import roles_of
from governance.db import transaction
from lineage import EventLog, NewEvent
from qgov.errors import AccessDenied, InputError, NotFoundError

TOKEN_PREFIX = "qgov_pat_"
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
# last_used_at is written at most this often per token: a busy script must not turn every
# request into a write transaction.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthenticationError(AccessDenied):
    """No valid credentials: the server answers 401."""


@dataclass(frozen=True)
class Principal:
    """A registered person acting now, with the roles they hold and how they proved it."""

    name: str
    roles: frozenset[str]
    authenticated_by: str  # token:<id> | os-account | oidc:<issuer> | password+totp | as:<admin>

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "roles": sorted(self.roles), "authenticated_by": self.authenticated_by}


@dataclass(frozen=True)
class IssuedToken:
    token: str
    id: str
    person: str
    expires_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"token": self.token, "id": self.id, "person": self.person, "expires_at": self.expires_at.isoformat()}


def principal_for(conn: Connection, person: str, authenticated_by: str) -> Principal:
    """The principal of a registered person (a person with a role or with registered facts)."""
    roles = frozenset(roles_of(conn, person))
    known = roles or conn.execute(select(t.people.c.name).where(t.people.c.name == person)).first()
    if not known:
        raise AuthenticationError(f"user {person!r} is not a registered person; an admin registers people")
    return Principal(person, roles, authenticated_by)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(app: App, person: str, days: int = DEFAULT_TOKEN_DAYS, note: str = "") -> IssuedToken:
    """An admin issues a personal access token for a registered person (shown once)."""
    from governance.capabilities import authorize

    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InputError(f"--days: expected 1 to {MAX_TOKEN_DAYS}, got {days}")
    with app.engine.connect() as conn:
        authorize(conn, app.user, "token.create")
    return create_token_for(app, person, timedelta(days=days), note, by=app.user)


def create_token_for(app: App, person: str, lifetime: timedelta, note: str, by: str) -> IssuedToken:
    """Issue a token (callers have authorized it: an admin, or a completed sign-in)."""
    now = datetime.now(UTC)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    expires = now + lifetime
    with transaction(app.engine) as conn:
        principal_for(conn, person, "token")  # refuses a person nobody registered
        conn.execute(
            insert(t.api_tokens).values(
                id=token_id,
                person=person,
                token_hash=_hash(secret),
                note=note,
                created_at=now,
                created_by=by,
                expires_at=expires,
            )
        )
        log = EventLog(conn)
        log.append(
            NewEvent(
                "token.created",
                by,
                subjects=[token_id],
                payload={
                    "token": token_id,
                    "for": log.actor_ref(person),
                    "expires_at": expires.isoformat(),
                    "note": note,
                },
                occurred_at=now,
            )
        )
    return IssuedToken(f"{TOKEN_PREFIX}{token_id}_{secret}", token_id, person, expires)


def revoke_token(app: App, token_id: str) -> None:
    """An admin (or the token's owner) revokes a token; recorded as an event."""
    from governance.capabilities import authorize, can
    from governance.ids import resolve

    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        if can(conn, app.user, "token.revoke"):  # others' token ids only for those who may revoke them
            token_id = resolve(conn, "token", token_id)
        row = conn.execute(select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(f"token {token_id!r}: no such token (see 'qgov token list')")
        if row.person != app.user:
            authorize(conn, app.user, "token.revoke")
        if row.revoked_at is not None:
            return
        conn.execute(
            update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(revoked_at=now, revoked_by=app.user)
        )
        EventLog(conn).append(
            NewEvent("token.revoked", app.user, subjects=[token_id], payload={"token": token_id}, occurred_at=now)
        )


def list_tokens(app: App) -> list[dict[str, Any]]:
    """Tokens without their secrets: everyone's for an admin, one's own otherwise."""
    from governance.capabilities import can

    with app.engine.connect() as conn:
        query = select(t.api_tokens).order_by(t.api_tokens.c.created_at)
        if not can(conn, app.user, "token.list"):
            query = query.where(t.api_tokens.c.person == app.user)
        rows = conn.execute(query).all()
    return [
        {
            "id": r.id,
            "person": r.person,
            "note": r.note,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "revoked_at": r.revoked_at,
            "last_used_at": r.last_used_at,
        }
        for r in rows
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def authenticate_token(app: App, token: str, now: datetime | None = None) -> Principal:
    """The principal a bearer token stands for, or :class:`AuthenticationError`."""
    now = now or datetime.now(UTC)
    if not token.startswith(TOKEN_PREFIX) or token.count("_") < 3:
        raise AuthenticationError("bearer token: not a qgov personal access token")
    token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    with app.engine.connect() as conn:
        row = conn.execute(select(t.api_tokens).where(t.api_tokens.c.id == token_id)).first()
        expected = row.token_hash if row is not None else _hash("")
        if row is None or not hmac.compare_digest(expected, _hash(secret)):
            raise AuthenticationError("bearer token: unknown or wrong token")
        if row.revoked_at is not None:
            raise AuthenticationError(f"bearer token {token_id}: revoked on {_aware(row.revoked_at).isoformat()}")
        if _aware(row.expires_at) <= now:
            raise AuthenticationError(f"bearer token {token_id}: expired on {_aware(row.expires_at).isoformat()}")
        principal = principal_for(conn, row.person, f"token:{token_id}")
        stale = row.last_used_at is None or now - _aware(row.last_used_at) >= LAST_USED_RESOLUTION
    if stale:
        with app.engine.begin() as conn:
            conn.execute(update(t.api_tokens).where(t.api_tokens.c.id == token_id).values(last_used_at=now))
    return principal


class SignInThrottle:
    """Failed sign-ins per client, in a sliding window: past ``limit`` the client waits.

    Kept in the server's memory (one process serves a lab); each refusal is also recorded
    by the caller, so a slow attack across restarts is still visible in the log.
    """

    def __init__(self, limit: int = 10, window_seconds: float = 60.0) -> None:
        self.limit = limit
        self.window = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> list[float]:
        kept = [t0 for t0 in self._failures.get(client, []) if now - t0 < self.window]
        if kept:
            self._failures[client] = kept
        else:
            self._failures.pop(client, None)
        return kept

    def blocked_for(self, client: str) -> float:
        """Seconds this client must wait before it may try again (0 when it may)."""
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - recent[-self.limit]))

    def failed(self, client: str) -> int:
        now = time.monotonic()
        with self._lock:
            recent = self._recent(client, now)
            recent.append(now)
            self._failures[client] = recent
            return len(recent)


__all__ = [
    "AuthenticationError",
    "IssuedToken",
    "Principal",
    "SignInThrottle",
    "authenticate_token",
    "create_token",
    "create_token_for",
    "list_tokens",
    "principal_for",
    "revoke_token",
]
