"""Local accounts for labs without single sign-on: a password (Argon2id) and TOTP (RFC 6238).

Signing in with both gives a personal access token of a few hours (the same machinery as
``qgov token``, so revocation, expiry and last use work the same way); the browser gets it as
an HttpOnly cookie. The TOTP secret is stored encrypted under the key-encryption key (Tink
AEAD, the person's name as associated data), never in clear: a copy of the database alone
does not yield the second factor. A code is accepted once (the last accepted time step is
kept), within one step of clock drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import argon2
import pyotp
import tink
from sqlalchemy import Connection, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.db import transaction
from governance.identity import AuthenticationError, IssuedToken, create_token_for, principal_for
from lineage import EventLog, NewEvent
from qgov.errors import InputError, IntegrityError

SIGN_IN_HOURS = 8
MIN_PASSWORD = 12
_hasher = argon2.PasswordHasher()  # Argon2id with the library's current parameters (RFC 9106)
_AD = b"qgov/totp/v1:"


@dataclass(frozen=True)
class Enrolment:
    person: str
    provisioning_uri: str  # otpauth://… for an authenticator app (shown once)
    secret: str


def set_password(app: App, person: str, password: str) -> Enrolment:
    """An admin (or the person) sets a password; a new TOTP secret is enrolled with it."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password: expected at least {MIN_PASSWORD} characters")
    now = datetime.now(UTC)
    secret = pyotp.random_base32()
    with transaction(app.engine) as conn:
        if person != app.user:
            authorize(conn, app.user, "person.register")
        principal_for(conn, person, "password+totp")
        sealed = app.kek.aead().encrypt(secret.encode(), _AD + person.encode())
        values = {"password_hash": _hasher.hash(password), "totp_secret": sealed, "totp_last_step": None}
        exists = conn.execute(select(t.local_accounts.c.person).where(t.local_accounts.c.person == person)).first()
        if exists:
            conn.execute(update(t.local_accounts).where(t.local_accounts.c.person == person).values(**values))
        else:
            conn.execute(insert(t.local_accounts).values(person=person, created_at=now, **values))
        log = EventLog(conn)
        log.append(NewEvent("account.password_set", app.user, subjects=[], payload={"for": log.actor_ref(person)}))
    uri = pyotp.TOTP(secret).provisioning_uri(name=person, issuer_name="qgov")
    return Enrolment(person, uri, secret)


def _unseal(app: App, sealed: bytes, person: str) -> str:
    """The TOTP secret; a rotation since this process loaded its keys makes it reload them once."""
    try:
        return app.kek.aead().decrypt(sealed, _AD + person.encode()).decode()
    except tink.TinkError:
        app.kek.refresh()
    try:
        return app.kek.aead().decrypt(sealed, _AD + person.encode()).decode()
    except tink.TinkError:
        raise IntegrityError(f"local account {person!r}: its TOTP secret does not open with {app.kek.source}") from None


def sign_in(app: App, person: str, password: str, code: str, now: datetime | None = None) -> IssuedToken:
    """Password and current TOTP code → a token of a few hours. Every refusal is the same
    message (no oracle for which factor was wrong or whether the account exists)."""
    now = now or datetime.now(UTC)
    refused = AuthenticationError("sign-in: wrong user name, password or code")
    with transaction(app.engine) as conn:
        row = conn.execute(select(t.local_accounts).where(t.local_accounts.c.person == person)).first()
        if row is None:
            _hasher.hash(password)  # the same work as a real check: timing says nothing
            raise refused
        try:
            _hasher.verify(row.password_hash, password)
        except argon2.exceptions.VerificationError:
            raise refused from None
        secret = _unseal(app, row.totp_secret, person)
        totp = pyotp.TOTP(secret)
        step = None
        for drift in (0, -1, 1):
            at = now + timedelta(seconds=30 * drift)
            if code.isdigit() and totp.verify(code, for_time=at, valid_window=0):
                step = totp.timecode(at)
                break
        if step is None or (row.totp_last_step is not None and step <= row.totp_last_step):
            raise refused  # a wrong code, or one already used (replay)
        updates = {"totp_last_step": step}
        if _hasher.check_needs_rehash(row.password_hash):
            updates["password_hash"] = _hasher.hash(password)
        conn.execute(update(t.local_accounts).where(t.local_accounts.c.person == person).values(**updates))
    return create_token_for(app, person, timedelta(hours=SIGN_IN_HOURS), "sign-in (password+totp)", by=person)


def reseal_totp_secrets(app: App, conn: Connection) -> int:
    """Seal every TOTP secret under the key set's primary (a key rotation calls this before the
    old keys leave the key file, in its finishing transaction under the log head lock)."""
    aead = app.kek.aead()
    rows = conn.execute(select(t.local_accounts.c.person, t.local_accounts.c.totp_secret)).all()
    for row in rows:
        ad = _AD + row.person.encode()
        resealed = aead.encrypt(aead.decrypt(row.totp_secret, ad), ad)
        conn.execute(
            update(t.local_accounts).where(t.local_accounts.c.person == row.person).values(totp_secret=resealed)
        )
    return len(rows)


__all__ = ["Enrolment", "reseal_totp_secrets", "set_password", "sign_in"]
