"""The checkpoint signing key and periodic checkpoints of the provenance log.

The Ed25519 key is kept like the storage key: a 0600 file under ``QGOV_HOME/keys`` (or
``QGOV_SIGNING_KEY``), in the Go ``note`` private-key format so standard tooling can use
it. A checkpoint is signed inside every transaction that appends events, so it commits
atomically with the events it covers and the log has no unsigned tail: an event that no
signed checkpoint covers was written by something other than qgov (``audit verify`` says so).
A transaction that cannot sign (the key file is gone) does not commit. Once committed, the
checkpoint goes to the witness (``lineage.witness``), outside the database.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from governance.db import snapshot, transaction
from lineage import schema
from lineage.checkpoints import MerkleStore, StoredCheckpoint
from lineage.note import NoteSigner, NoteVerifier, generate_signing_key
from lineage.witness import DirectoryWitness
from qgov.errors import ConfigError, IntegrityError
from qgov.private_files import make_private_dir

if TYPE_CHECKING:  # App calls into this module when it commits; this module only reads App's fields
    from governance.app import App


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


@dataclass(frozen=True)
class Signed:
    """A checkpoint signed in a transaction, and the proof that it extends the one before."""

    checkpoint: StoredCheckpoint
    proof: tuple[int, list[bytes]] | None


def checkpoint_transaction(app: App, conn: Connection) -> Signed:
    """Sign the log as this transaction leaves it (just before it commits); ConfigError, and
    no commit, when there is no key to sign with."""
    signer = app.__dict__.get("signer") or load_signer(app, conn)
    app.__dict__["signer"] = signer  # the cached_property's slot
    merkle = MerkleStore(conn)
    signed = merkle.checkpoint(signer)
    return Signed(signed, getattr(merkle, "last_proof", None))


def witness(app: App, signed: StoredCheckpoint | Signed | None) -> None:
    """Hand a committed checkpoint to the witness, with the consistency proof it asks for
    (the one the signer just checked, when the witness holds the previous checkpoint)."""
    known = signed.proof if isinstance(signed, Signed) else None
    cp = signed.checkpoint if isinstance(signed, Signed) else signed
    if cp is None or cp.size == 0:
        return

    def prove(old_size: int, new_size: int) -> list[bytes]:
        if known is not None and (old_size, new_size) == (known[0], cp.size):
            return known[1]
        with snapshot(app.engine) as conn:
            return MerkleStore(conn).consistency(old_size, new_size)

    try:
        open_witness(app).add(cp.note, app.signer.verifier_key(), prove)
    except IntegrityError as exc:
        raise IntegrityError(
            f"committed, but {exc.diagnostics()}; the database may have been rolled back or rewritten: "
            "run 'qgov audit verify'"
        ) from None


def open_witness(app: App) -> DirectoryWitness:
    return DirectoryWitness(app.settings.witness_dir, clock=lambda: int(time.time()))


def checkpoint(app: App) -> StoredCheckpoint:
    """Sign the log as it stands now (``qgov audit checkpoint``)."""
    signer = app.signer
    with transaction(app.engine) as conn:
        signed = MerkleStore(conn).checkpoint(signer)
    witness(app, signed)
    return signed


__all__ = [
    "checkpoint",
    "checkpoint_transaction",
    "create_signing_key",
    "existing_verifier",
    "Signed",
    "load_signer",
    "open_witness",
    "witness",
]
