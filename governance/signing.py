"""The checkpoint signing key and periodic checkpoints of the provenance log.

The Ed25519 key is kept like the storage key: a 0600 file under ``QGOV_HOME/keys`` (or
``QGOV_SIGNING_KEY``), in the Go ``note`` private-key format so standard tooling can use
it. A checkpoint is signed inside the writing transaction that makes one due — when the
log has none yet, every :data:`CHECKPOINT_EVERY` events, or when the newest is older than
:data:`CHECKPOINT_MAX_AGE` — so a checkpoint commits atomically with the events it covers.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, func, select

from governance.app import App
from governance.db import transaction
from lineage import EventLog, schema
from lineage.checkpoints import MerkleStore, StoredCheckpoint
from lineage.note import NoteSigner, NoteVerifier, generate_signing_key
from qgov.errors import ConfigError
from qgov.private_files import make_private_dir

CHECKPOINT_EVERY = 1000
CHECKPOINT_MAX_AGE = timedelta(hours=1)


def load_signer(app: App, conn: Connection | None = None) -> NoteSigner:
    """The configured key; a new log gets a fresh one. ``conn``: read through the caller's
    transaction (a second SQLite connection would wait for the lock that transaction holds)."""
    configured = _configured_signer(app)
    if configured is not None:
        return configured
    path = app.settings.signing_key_file
    if conn is not None:
        signed = conn.execute(select(func.count()).select_from(schema.checkpoints)).scalar_one()
    else:
        with app.engine.connect() as own:
            signed = own.execute(select(func.count()).select_from(schema.checkpoints)).scalar_one()
    if signed:
        raise ConfigError(
            f"signing key file {path} does not exist but the log has {signed} signed checkpoint(s); "
            "restore the key file or set QGOV_SIGNING_KEY"
        )
    create_signing_key(app)
    created = _configured_signer(app)  # written just now, by us or a concurrent process
    if created is None:
        raise ConfigError(f"signing key file {path}: could not be created")
    return created


def _configured_signer(app: App) -> NoteSigner | None:
    """The key from QGOV_SIGNING_KEY or the key file, if either exists; nothing is created."""
    if app.settings.signing_key is not None:
        return NoteSigner(app.settings.signing_key.get_secret_value())
    path = app.settings.signing_key_file
    return NoteSigner(path.read_text(encoding="ascii").strip()) if path.is_file() else None


def create_signing_key(app: App) -> bool:
    """Write a fresh signing key (0600) unless one is configured; True when written."""
    path = app.settings.signing_key_file
    if app.settings.signing_key is not None or path.exists():
        return False
    make_private_dir(path.parent)
    key = generate_signing_key(f"qgov.local/{secrets.token_hex(8)}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return False
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
        out.flush()
        os.fsync(out.fileno())
    return True


def existing_verifier(app: App) -> NoteVerifier | None:
    """This store's public key if a signing key is configured; never creates one or opens the database."""
    signer = _configured_signer(app)
    return NoteVerifier.from_vkey(signer.verifier_key()) if signer is not None else None


def checkpoint_if_due(app: App, conn: Connection) -> StoredCheckpoint | None:
    merkle = MerkleStore(conn)
    latest = merkle.latest()
    size, _ = EventLog(conn).head()
    if latest is not None and latest.size == size:
        return None
    due = (
        latest is None
        or size - latest.size >= CHECKPOINT_EVERY
        or datetime.now(UTC) - latest.created_at >= CHECKPOINT_MAX_AGE
    )
    if not due:
        return None
    try:
        signer = app.__dict__.get("signer") or load_signer(app, conn)
        app.__dict__["signer"] = signer  # the cached_property's slot
    except ConfigError:
        return None  # the events still commit; 'qgov audit verify' reports what no checkpoint covers
    return merkle.checkpoint(signer)


def checkpoint(app: App) -> StoredCheckpoint:
    """Sign the log as it stands now (``qgov audit checkpoint``)."""
    signer = app.signer
    with transaction(app.engine) as conn:
        return MerkleStore(conn).checkpoint(signer)


__all__ = [
    "CHECKPOINT_EVERY",
    "checkpoint",
    "checkpoint_if_due",
    "create_signing_key",
    "existing_verifier",
    "load_signer",
]
