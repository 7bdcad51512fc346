"""Signed notes (C2SP signed-note) with Ed25519 keys, and log checkpoints (C2SP tlog-checkpoint).

A signed note is a UTF-8 text ending in a newline, a blank line, then one or more lines
``— <key name> <base64(4-byte key ID || signature)>``. The key ID is
``SHA-256(name || 0x0A || 0x01 || public key)[:4]`` and the signature is Ed25519 (RFC 8032)
over the text bytes. Key strings use the format of Go's ``golang.org/x/mod/sumdb/note``:

- verifier key: ``<name>+<8 hex key ID>+<base64(0x01 || 32-byte public key)>``
- private key: ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>``

Opening a note follows the spec's "Signatures" section: signatures by other keys are
ignored, a bad signature by the known key rejects the note, and so does having none.
Stricter than Go in one way: base64 must be canonical, so each note has one spelling.

A checkpoint is the note text ``<origin>\\n<tree size>\\n<base64 root hash>\\n`` followed by
optional non-empty extension lines; the size is decimal with no leading zeroes.

A note or checkpoint that does not verify or parse raises :class:`NoteError` (an
``IntegrityError``); a malformed key string raises ``ConfigError`` that never quotes a private key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lineage.merkle import HASH_SIZE
from qgov.errors import ConfigError, IntegrityError

ALG_ED25519 = 0x01
# Go's sumdb/note limit; the spec asks verifiers to cap the count and accept at least 16.
MAX_SIGNATURES = 100
_SIG_PREFIX = "— "
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(IntegrityError):
    """A signed note or checkpoint is malformed, unsigned by the known key, or its signature is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's commitment to its Merkle tree at one size (C2SP tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line("checkpoint origin", self.origin)
        for extension in self.extensions:
            _check_line("checkpoint extension line", extension)
        if not 0 <= self.size < 1 << 64:
            raise NoteError(f"checkpoint tree size {self.size}: expected 0 <= size < 2^64")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError(f"checkpoint root hash has {len(self.root_hash)} bytes, expected {HASH_SIZE}")

    def to_text(self) -> str:
        root = base64.b64encode(self.root_hash).decode("ascii")
        return "".join(f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions))

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        if not text.endswith("\n"):
            raise NoteError("checkpoint text does not end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"checkpoint has {len(lines)} lines, expected at least 3 (origin, tree size, root hash)")
        for number, line in enumerate(lines, 1):
            _check_line(f"checkpoint line {number}", line)
        origin, size, root = lines[:3]
        if not _DECIMAL.fullmatch(size) or int(size) >= 1 << 64:
            raise NoteError(
                f"checkpoint line 2 (tree size) is {size!r}, expected a decimal below 2^64, no sign or leading zeroes"
            )
        root_hash = _b64decode(root, "checkpoint line 3 (root hash)")
        if len(root_hash) != HASH_SIZE:
            raise NoteError(f"checkpoint line 3 (root hash) has {len(root_hash)} bytes, expected {HASH_SIZE}")
        return cls(origin, int(size), root_hash, tuple(lines[3:]))


@dataclass(frozen=True)
class NoteVerifier:
    """A known Ed25519 note key: the name and key ID it signs under, and its public key."""

    name: str
    key_hash: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.split("+", 2)
        if len(parts) != 3:
            raise ConfigError(f"verifier key {vkey!r}: expected <name>+<8 hex>+<base64 key>")
        name, key_hash, raw = _parse_key(parts, "verifier key")
        return cls(name, key_hash, Ed25519PublicKey.from_public_bytes(raw))

    def vkey(self) -> str:
        return _vkey(self.name, self.public_key)


class NoteSigner:
    """Signs notes with an Ed25519 key given as a Go ``note`` private key string."""

    def __init__(self, private_key: str) -> None:
        parts = private_key.split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise ConfigError("private note key: expected PRIVATE+KEY+<name>+<8 hex>+<base64 seed>")
        self.name, self.key_hash, seed = _parse_key(parts[2:], "private note key", private=True)
        self._key = Ed25519PrivateKey.from_private_bytes(seed)

    def __repr__(self) -> str:
        return f"NoteSigner({self.name}+{self.key_hash:08x})"

    def verifier_key(self) -> str:
        return _vkey(self.name, self._key.public_key())

    def derive_secret(self, label: str) -> bytes:
        """A 32-byte secret for ``label``, derived from this private key (HMAC-SHA256 keyed by
        the seed). Only holders of the private key can compute it; a different label gives an
        unrelated secret, so the signing key itself is not exposed by its uses."""
        return hmac.new(self._key.private_bytes_raw(), f"qgov/derived/{label}".encode(), hashlib.sha256).digest()

    def sign(self, text: str) -> str:
        """The signed note: ``text``, a blank line and this key's signature line."""
        _check_encoding(text)
        if not text.endswith("\n"):
            raise NoteError("note text does not end in a newline")
        body = self.key_hash.to_bytes(4, "big") + self._key.sign(text.encode("utf-8"))
        return f"{text}\n{_SIG_PREFIX}{self.name} {base64.b64encode(body).decode('ascii')}\n"


def generate_signing_key(name: str) -> str:
    """A new random Ed25519 key as a private key string (Go's ``note.GenerateKey`` format)."""
    if not _is_valid_name(name):
        raise ConfigError(f"key name {name!r}: expected non-empty, without spaces or '+'")
    key = Ed25519PrivateKey.generate()
    seed = base64.b64encode(bytes([ALG_ED25519]) + key.private_bytes_raw()).decode("ascii")
    return f"PRIVATE+KEY+{name}+{_key_hash(name, key.public_key()):08x}+{seed}"


def open_note(signed: str, verifier: NoteVerifier) -> str:
    """Return the text of ``signed`` once ``verifier``'s key has verified it; otherwise raise :class:`NoteError`."""
    _check_encoding(signed)
    split = signed.rfind("\n\n")
    if split < 0:
        raise NoteError("signed note has no blank line between text and signatures")
    text, sig_block = signed[: split + 1], signed[split + 2 :]
    if not sig_block.endswith("\n"):
        raise NoteError("signed note does not end in a signature line and a newline")
    sig_lines = sig_block[:-1].split("\n")
    seen: list[str] = []
    if len(sig_lines) > MAX_SIGNATURES:
        raise NoteError(f"signed note has {len(sig_lines)} signatures, expected at most {MAX_SIGNATURES}")
    verified = False
    for number, line in enumerate(sig_lines, 1):
        name, key_hash, signature = _parse_signature_line(line, number)
        seen.append(f"{name}+{key_hash:08x}")
        # The spec: ignore signatures by unknown keys, even ones sharing the name or the ID.
        if (name, key_hash) != (verifier.name, verifier.key_hash) or verified:
            continue
        try:
            verifier.public_key.verify(signature, text.encode("utf-8"))
        except InvalidSignature:
            raise NoteError(f"invalid signature for key {name}+{key_hash:08x}") from None
        verified = True
    if not verified:
        raise NoteError(f"no signature by key {verifier.name}+{verifier.key_hash:08x}; found {', '.join(seen)}")
    return text


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    return signer.sign(checkpoint.to_text())


def verify_checkpoint(signed: str, verifier: NoteVerifier) -> Checkpoint:
    return Checkpoint.parse(open_note(signed, verifier))


def _parse_signature_line(line: str, number: int) -> tuple[str, int, bytes]:
    where = f"signature line {number}"
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"{where} does not start with '{_SIG_PREFIX}'")
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not _is_valid_name(name):
        raise NoteError(f"{where}: key name {name!r} is empty or contains a space or '+'")
    raw = _b64decode(b64, where)
    if len(raw) < 5:
        raise NoteError(f"{where}: signature has {len(raw)} bytes, expected a 4-byte key ID and a signature")
    return name, int.from_bytes(raw[:4], "big"), raw[4:]


def _parse_key(parts: list[str], where: str, *, private: bool = False) -> tuple[str, int, bytes]:
    """Check ``[name, hex key ID, base64(0x01 || key)]``; return name, key ID and the 32 key bytes."""
    name, hash_hex, b64 = parts

    def fault(what: str, value: str) -> ConfigError:
        # A mangled private key string can put key material in any part: quote nothing from it.
        return ConfigError(f"{where}: {what}" if private else f"{where}: {what} ({value!r})")

    if not _is_valid_name(name):
        raise fault("key name is empty or contains a space or '+'", name)
    if not re.fullmatch(r"[0-9a-fA-F]{8}", hash_hex):
        raise fault("key ID is not 8 hex digits", hash_hex)
    try:
        raw = _b64decode(b64, "key")
    except NoteError:
        raise fault("key is not canonical base64", b64) from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise fault(f"expected 0x01 (Ed25519) and 32 key bytes, got {len(raw)} bytes", b64)
    if private:
        public = Ed25519PrivateKey.from_private_bytes(raw[1:]).public_key()
    else:
        public = Ed25519PublicKey.from_public_bytes(raw[1:])
    key_hash, expected = int(hash_hex, 16), _key_hash(name, public)
    if key_hash != expected:
        raise fault(f"key ID {key_hash:08x} does not match the key, expected {expected:08x}", hash_hex)
    return name, key_hash, raw[1:]


def _key_hash(name: str, public_key: Ed25519PublicKey) -> int:
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key.public_bytes_raw())
    return int.from_bytes(digest.digest()[:4], "big")


def _vkey(name: str, public_key: Ed25519PublicKey) -> str:
    key = base64.b64encode(bytes([ALG_ED25519]) + public_key.public_bytes_raw()).decode("ascii")
    return f"{name}+{_key_hash(name, public_key):08x}+{key}"


def _is_valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _check_encoding(s: str) -> None:
    """Signed-note text must be valid UTF-8 with no control characters but newline."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("note is not valid UTF-8 (it contains a lone surrogate)") from None
    match = _CONTROL.search(s)
    if match:
        raise NoteError(f"note contains control character {match.group()!r} at offset {match.start()}")


def _check_line(what: str, line: str) -> None:
    if not line or "\n" in line or _CONTROL.search(line):
        raise NoteError(f"{what} is {line!r}, expected a non-empty line without control characters")


def _b64decode(s: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(s, validate=True)
    except ValueError:  # binascii.Error, or non-ASCII input
        raise NoteError(f"{where} is not valid base64: {s!r}") from None
    if base64.b64encode(raw).decode("ascii") != s:
        raise NoteError(f"{where} is not canonical base64: {s!r}")
    return raw


__all__ = [
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "generate_signing_key",
    "open_note",
    "sign_checkpoint",
    "verify_checkpoint",
]
