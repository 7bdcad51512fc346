"""A witness for the log's checkpoints, kept outside the database (after C2SP tlog-witness).

The database's writer can rewrite the database — its events, its checkpoints, or the whole
file put back from an older copy — and re-sign, since it holds the log's key. A witness is a
second record it cannot rewrite: a directory (by default ``QGOV_HOME/witness``; point
``QGOV_WITNESS_DIR`` at one the writer may add to but not change, such as another account's
drop directory, a ``chattr +a`` directory or a WORM mount) that holds one file per checkpoint
it accepted, each created with ``O_EXCL`` and never rewritten.

Protocol, the witness's side of C2SP ``tlog-witness``:

1. The first checkpoint pins the log's public key (``log.vkey``); every later one must be
   signed by it.
2. A new checkpoint of size ``n`` comes with an RFC 6962 consistency proof from the latest one
   the witness holds (size ``m``); the witness verifies it before accepting, so it never
   cosigns a fork or a rollback. ``n < m`` is refused (the log went backwards); ``n == m``
   with another root is refused (a fork).
3. It cosigns with its own Ed25519 key (``witness.key``, separate from the log's key) in the
   C2SP ``tlog-cosignature`` form: the signature line of ``cosignature/v1`` over
   ``"cosignature/v1\\ntime <t>\\n" + checkpoint text``, key ID
   ``SHA-256(name || 0x0A || 0x04 || public key)[:4]``, signature ``t (8 bytes, big-endian) ||
   Ed25519 signature``.

What it proves: the log held, at the time of each witnessed checkpoint, a tree of that size
and root, and the witnessed checkpoints form one append-only history. What it does not prove:
that events before the first witnessed checkpoint are what they were (it only knows roots),
nor anything when whoever writes the database can also delete files from the witness directory.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lineage.merkle import verify_consistency
from lineage.note import Checkpoint, NoteError, NoteVerifier, open_note, verify_checkpoint
from qgov.errors import ConfigError, IntegrityError, StorageError

ALG_COSIGNATURE_V1 = 0x04
_SIG_PREFIX = "— "
_FILE = re.compile(r"[0-9]{20}")


class WitnessError(IntegrityError):
    """The witness refused a checkpoint (rollback, fork, bad proof or signature)."""


@dataclass(frozen=True)
class Cosigner:
    """The witness's own Ed25519 key."""

    name: str
    key: Ed25519PrivateKey

    @property
    def key_id(self) -> bytes:
        return _cosigner_key_id(self.name, self.key.public_key())

    def vkey(self) -> str:
        return _cosigner_vkey(self.name, self.key.public_key())

    def cosign(self, checkpoint_text: str, timestamp: int) -> str:
        """The signature line (without the trailing newline) cosigning ``checkpoint_text``."""
        sig = self.key.sign(_cosigned_message(checkpoint_text, timestamp))
        raw = self.key_id + timestamp.to_bytes(8, "big") + sig
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(raw).decode('ascii')}"


@dataclass(frozen=True)
class CosignatureVerifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> CosignatureVerifier:
        parts = vkey.strip().split("+", 2)
        try:
            name, key_id, raw = parts[0], bytes.fromhex(parts[1]), base64.b64decode(parts[2], validate=True)
        except (IndexError, ValueError):
            raise ConfigError(f"witness key {vkey.strip()!r}: expected <name>+<8 hex>+<base64 key>") from None
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise ConfigError(f"witness key {name}: expected a cosignature/v1 Ed25519 key")
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
        if _cosigner_key_id(name, public) != key_id:
            raise ConfigError(f"witness key {name}: its key ID does not match the key")
        return cls(name, key_id, public)

    def verify(self, signed_note: str) -> int:
        """The timestamp of this witness's valid cosignature on ``signed_note``; WitnessError if none."""
        split = signed_note.rfind("\n\n")
        if split < 0:
            raise WitnessError("witnessed checkpoint has no signature block")
        text = signed_note[: split + 1]
        for line in signed_note[split + 2 :].splitlines():
            name, _, b64 = line.removeprefix(_SIG_PREFIX).partition(" ")
            if name != self.name:
                continue
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError:
                raise WitnessError(f"cosignature by {name}: not base64") from None
            if len(raw) != 4 + 8 + 64 or raw[:4] != self.key_id:
                continue
            timestamp = int.from_bytes(raw[4:12], "big")
            try:
                self.public_key.verify(raw[12:], _cosigned_message(text, timestamp))
            except InvalidSignature:
                raise WitnessError(f"invalid cosignature by witness {name}") from None
            return timestamp
        raise WitnessError(f"no cosignature by witness {self.name}")


@dataclass(frozen=True)
class Witnessed:
    """The newest checkpoint a witness holds: the log's signed note plus the cosignature."""

    checkpoint: Checkpoint
    note: str
    path: Path


class DirectoryWitness:
    """A witness whose state is a directory of append-only files (see the module docstring)."""

    def __init__(self, root: Path, clock: Callable[[], int]) -> None:
        self.root = root
        self.clock = clock  # seconds since the epoch, for the cosignature's timestamp

    @property
    def _checkpoints(self) -> Path:
        return self.root / "checkpoints"

    # -- reading ------------------------------------------------------------------
    def log_verifier(self) -> NoteVerifier | None:
        path = self.root / "log.vkey"
        return NoteVerifier.from_vkey(path.read_text(encoding="ascii").strip()) if path.is_file() else None

    def verifier(self) -> CosignatureVerifier | None:
        path = self.root / "witness.vkey"
        return CosignatureVerifier.from_vkey(path.read_text(encoding="ascii")) if path.is_file() else None

    def latest(self) -> Witnessed | None:
        """The largest checkpoint the witness cosigned, its signatures checked; None if none yet."""
        if not self._checkpoints.is_dir():
            return None
        names = sorted((p.name for p in self._checkpoints.iterdir() if _FILE.fullmatch(p.name)), reverse=True)
        if not names:
            return None
        log_key, own_key = self.log_verifier(), self.verifier()
        if log_key is None or own_key is None:
            raise WitnessError(f"witness {self.root}: holds checkpoints but its log.vkey or witness.vkey is missing")
        for name in names:
            path = self._checkpoints / name
            note = path.read_text(encoding="utf-8")
            if _torn(note, own_key.name):
                continue  # a write cut short by a kill: the checkpoint before it is the latest
            try:
                own_key.verify(note)
                checkpoint = verify_checkpoint(note, log_key)
            except IntegrityError as exc:
                raise WitnessError(f"witness file {path}: {exc.diagnostics()}") from None
            if checkpoint.size != int(path.name):
                raise WitnessError(f"witness file {path}: holds a checkpoint of size {checkpoint.size}")
            return Witnessed(checkpoint, note, path)
        return None

    # -- accepting ----------------------------------------------------------------
    def add(self, signed_note: str, log_vkey: str, prove: Callable[[int, int], Sequence[bytes]]) -> Path | None:
        """Check and cosign ``signed_note`` (the log's checkpoint). ``prove(m, n)`` gives the log's
        consistency proof from size ``m`` to ``n``; it is asked for under the witness's lock,
        from the witness's latest size. Returns the file written, or None when the witness
        already holds this checkpoint or a later one it extends. WitnessError when refused."""
        self._setup(log_vkey)
        log_key = self.log_verifier()
        assert log_key is not None  # pinned by _setup
        try:
            new = verify_checkpoint(signed_note, log_key)
        except NoteError as exc:
            raise WitnessError(f"witness refuses the checkpoint: {exc.diagnostics()}") from None
        try:
            return self._add(new, signed_note, log_key, prove)
        except OSError as exc:
            raise StorageError(f"witness directory {self.root}: {exc.strerror or exc}") from None

    def _add(
        self, new: Checkpoint, signed_note: str, log_key: NoteVerifier, prove: Callable[[int, int], Sequence[bytes]]
    ) -> Path | None:
        with _Lock(self.root / ".lock"):
            latest = self.latest()
            if latest is not None:
                held = latest.checkpoint
                if new.size == held.size:
                    if new.root_hash != held.root_hash:
                        raise WitnessError(f"witness refuses another checkpoint of size {new.size} (a fork)")
                    return None
                old, young = (held, new) if held.size < new.size else (new, held)
                try:
                    proof = list(prove(old.size, young.size))
                    verify_consistency(old.size, young.size, proof, old.root_hash, young.root_hash)
                except IntegrityError as exc:
                    raise WitnessError(
                        f"witness refuses checkpoint {new.size}: it is not consistent with the witnessed "
                        f"checkpoint of {held.size} events ({exc.diagnostics()})"
                    ) from None
                if new.size < held.size:
                    return None  # an older checkpoint of the same history (a concurrent writer got here first)
            text = open_note(signed_note, log_key)
            line = self._cosigner().cosign(text, self.clock())
            return _create(self._checkpoints / f"{new.size:020d}", f"{signed_note}{line}\n")

    def _setup(self, log_vkey: str) -> None:
        """Create the directory (0700), the witness key and pin the log key, once."""
        try:
            self._checkpoints.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(self.root, 0o700)
            if not (self.root / "witness.key").exists():
                key = Ed25519PrivateKey.generate()
                seed = base64.b64encode(key.private_bytes_raw()).decode("ascii")
                name = f"qgov-witness/{secrets.token_hex(8)}"
                if _create(self.root / "witness.key", f"{name} {seed}\n") is not None:
                    _create(self.root / "witness.vkey", _cosigner_vkey(name, key.public_key()) + "\n")
            pinned = self.log_verifier()
            if pinned is None:
                _create(self.root / "log.vkey", log_vkey.strip() + "\n")
            elif pinned.vkey() != NoteVerifier.from_vkey(log_vkey).vkey():
                raise WitnessError(f"witness {self.root}: checkpoints come signed by another log key than it pinned")
        except OSError as exc:
            raise StorageError(f"witness directory {self.root}: {exc.strerror or exc}") from None

    def _cosigner(self) -> Cosigner:
        name, _, seed = (self.root / "witness.key").read_text(encoding="ascii").strip().partition(" ")
        return Cosigner(name, Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)))


class _Lock:
    """An exclusive ``flock`` on a file: one writer checks and adds at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)  # releases the lock


def _create(path: Path, text: str) -> Path | None:
    """Write a new 0600 file, never replacing one (None when it exists), synced to disk.

    ``O_EXCL`` and nothing else: a ``chattr +a`` directory allows creating files but not
    renaming or deleting them. A write cut short by a kill is recognised by :meth:`latest`.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    return path


def _torn(note: str, own_name: str) -> bool:
    """Whether a witness file ends before its cosignature line does (the cosignature is last)."""
    return not note.endswith("\n") or not note[:-1].rpartition("\n")[2].startswith(f"{_SIG_PREFIX}{own_name} ")


def _cosigned_message(checkpoint_text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()


def _cosigner_key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    raw = public_key.public_bytes_raw()
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1]) + raw).digest()[:4]


def _cosigner_vkey(name: str, public_key: Ed25519PublicKey) -> str:
    raw = bytes([ALG_COSIGNATURE_V1]) + public_key.public_bytes_raw()
    return f"{name}+{_cosigner_key_id(name, public_key).hex()}+{base64.b64encode(raw).decode('ascii')}"


__all__ = ["CosignatureVerifier", "Cosigner", "DirectoryWitness", "Witnessed", "WitnessError"]
