"""Key-encryption keys: the small interface a KMS can implement later.

A data key (one Tink streaming-AEAD keyset per stored object) is never stored in
the clear: it is serialised encrypted under a key-encryption key (KEK) with the
object id as associated data, so a wrapped key copied onto another object's row
does not unwrap. The KEK is anything with Tink's ``Aead`` shape
(``encrypt(plaintext, associated_data)`` / ``decrypt(ciphertext, associated_data)``);
Tink's own KMS integrations (AWS, GCP, Vault via HashiCorp's transit) have that shape.

The embedded default keeps a Tink AES256-GCM keyset as JSON in a 0600 file under
``QGOV_HOME`` (or takes the same JSON from the environment, read once by the
settings). Rotation adds a new primary key; every data key is then re-wrapped and
the old keys are dropped, so a crash half-way leaves every data key readable.

A process keeps every key it has ever loaded: ``refresh`` merges the key file into the
keys in memory (the file's primary becomes the primary), so a data key this process
wrapped or read a moment ago still opens after another process retired its key.
Rotation edits the key file itself, never the merged set in memory.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tink
from tink import aead, secret_key_access, streaming_aead

from qgov.errors import ConfigError, IntegrityError
from qgov.private_files import make_private_dir

aead.register()
streaming_aead.register()

_DATA_KEY_AD = b"qgov/data-key/v1:"
DATA_KEY_TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
# An object whose ciphertext fits one 4 KiB segment (header 40 B, tag 16 B) is written with
# 4 KiB segments: the same single-segment layout and the same AES-256-GCM-HKDF, but Tink
# sets up a 4 KiB segment buffer instead of 1 MiB. Measured 0.30 -> 0.09 ms per 1 KiB
# object, the largest per-file cost of ingesting many small files (ADR 0038). The segment
# size travels inside the wrapped data key, so readers need not know which was used.
SMALL_DATA_KEY_TEMPLATE = streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_4KB
SMALL_OBJECT_MAX_BYTES = 4096 - 40 - 16


def data_key_template_name(size: int) -> str:
    """The Tink template of the data key that encrypts an object of ``size`` bytes."""
    return "AES256_GCM_HKDF_4KB" if 0 <= size <= SMALL_OBJECT_MAX_BYTES else "AES256_GCM_HKDF_1MB"


class KeyEncryptionKey(Protocol):
    """What qgov needs from a KEK: wrap and unwrap data keys, and say which key wrapped."""

    @property
    def primary_key_id(self) -> int: ...

    def aead(self) -> aead.Aead: ...


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the KEK whose key id is ``kek_key_id``."""

    ciphertext: bytes
    kek_key_id: int


def new_data_key(size: int | None = None) -> tink.KeysetHandle:
    """A fresh data key for an object of ``size`` bytes (None: unknown, 1 MiB segments)."""
    small = size is not None and data_key_template_name(size) == "AES256_GCM_HKDF_4KB"
    return tink.new_keyset_handle(SMALL_DATA_KEY_TEMPLATE if small else DATA_KEY_TEMPLATE)


def wrap_data_key(kek: KeyEncryptionKey, handle: tink.KeysetHandle, object_id: str) -> WrappedKey:
    while True:
        # The id is read before and after: a refresh in another thread between the two
        # would otherwise label a key wrapped under one KEK with the id of another.
        key_id = kek.primary_key_id
        blob = tink.proto_keyset_format.serialize_encrypted(handle, kek.aead(), _DATA_KEY_AD + object_id.encode())
        if kek.primary_key_id == key_id:
            return WrappedKey(blob, key_id)


def unwrap_data_key(kek: KeyEncryptionKey, wrapped: bytes, object_id: str) -> tink.KeysetHandle:
    try:
        return tink.proto_keyset_format.parse_encrypted(wrapped, kek.aead(), _DATA_KEY_AD + object_id.encode())
    except tink.TinkError:
        raise IntegrityError(
            f"object {object_id}: its data key does not unwrap under the key-encryption key "
            "(wrong key file, or the wrapped key was altered or belongs to another object)"
        ) from None


def rewrap_data_key(kek: KeyEncryptionKey, wrapped: bytes, object_id: str) -> WrappedKey:
    """Re-encrypt a data key under the KEK's current primary key; the data is untouched."""
    return wrap_data_key(kek, unwrap_data_key(kek, wrapped, object_id), object_id)


class TinkKeyset:
    """A KEK held as a Tink AES256-GCM keyset (JSON), in a file or given as text."""

    def __init__(self, handle: tink.KeysetHandle, source: str, path: Path | None) -> None:
        # One attribute, replaced whole, so a reader never sees a handle with another's primitive.
        self._state = (handle, handle.primitive(aead.Aead))
        self.source = source
        self.path = path

    @property
    def _handle(self) -> tink.KeysetHandle:
        return self._state[0]

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str, source: str) -> TinkKeyset:
        try:
            handle = tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
            handle.primitive(aead.Aead)
        except (tink.TinkError, ValueError, TypeError):
            raise ConfigError(
                f"{source}: expected a Tink AEAD keyset in JSON form (as written by 'qgov init')"
            ) from None
        return cls(handle, source, None)

    @classmethod
    def load(cls, path: Path) -> TinkKeyset:
        keyset = cls.from_json(cls._read(path), f"key file {path}")
        keyset.path = path
        return keyset

    @staticmethod
    def _read(path: Path) -> str:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(f"key file {path} does not exist; run 'qgov init' or set QGOV_KEK") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"key file {path} is readable by group or others (mode {stat.S_IMODE(mode):o}); "
                "expected 600: run 'chmod 600' on it"
            )
        return path.read_text(encoding="utf-8")

    @classmethod
    def create(cls, path: Path) -> TinkKeyset:
        handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
        keyset = cls(handle, f"key file {path}", path)
        keyset._save()
        return keyset

    # -- KeyEncryptionKey ---------------------------------------------------------
    @property
    def primary_key_id(self) -> int:
        return int(self._handle.keyset_info().primary_key_id)

    def aead(self) -> aead.Aead:
        return self._state[1]

    @property
    def key_ids(self) -> list[int]:
        return [int(k.key_id) for k in self._handle.keyset_info().key_info]

    def file_keys(self) -> tuple[int, list[int]]:
        """The key file's own (primary id, key ids), which may differ from the keys in memory."""
        self._require_file()
        current = json.loads(self._file_json())
        return int(current["primaryKeyId"]), [int(k["keyId"]) for k in current["key"]]

    def refresh(self) -> None:
        """Merge the key file into the keys in memory; its primary becomes the primary.

        Keys already in memory stay (see the module docstring); a key given in the
        environment has no file and is left as it is.
        """
        if self.path is None:
            return
        merged = json.loads(self._file_json())
        on_file = {int(k["keyId"]) for k in merged["key"]}
        merged["key"].extend(k for k in json.loads(self._to_json())["key"] if int(k["keyId"]) not in on_file)
        self._set(json.dumps(merged))

    # -- rotation (callers serialise these: see governance.keys) --------------------
    def begin_rotation(self) -> int:
        """Add a fresh primary key to the key file (old keys stay, so every wrapped key still opens).

        Tink's Python API has no keyset manager, so the keysets are merged in their
        documented JSON form: the new key is appended and made primary.
        """
        self._require_file()
        current = json.loads(self._file_json())
        taken = {int(k["keyId"]) for k in current["key"]} | set(self.key_ids)
        while True:
            fresh = json.loads(self._to_json(tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)))
            new_id = int(fresh["primaryKeyId"])
            if new_id not in taken:
                break
        current["key"].extend(fresh["key"])
        current["primaryKeyId"] = new_id
        self._write(json.dumps(current))
        self.refresh()
        return new_id

    def finish_rotation(self) -> list[int]:
        """Drop every key but the primary from the key file; call only once nothing is wrapped under them."""
        self._require_file()
        current = json.loads(self._file_json())
        primary = int(current["primaryKeyId"])
        dropped = [int(k["keyId"]) for k in current["key"] if int(k["keyId"]) != primary]
        if dropped:
            current["key"] = [k for k in current["key"] if int(k["keyId"]) == primary]
            self._write(json.dumps(current))
        return dropped

    def _require_file(self) -> None:
        if self.path is None:
            raise ConfigError(
                f"{self.source}: a key given in the environment cannot be rotated by qgov; "
                "rotate it where it is kept, or use a key file"
            )

    def _to_json(self, handle: tink.KeysetHandle | None = None) -> str:
        return str(tink.json_proto_keyset_format.serialize(handle or self._handle, secret_key_access.TOKEN))

    def _file_json(self) -> str:
        assert self.path is not None
        return self._read(self.path)

    def _set(self, text: str) -> None:
        handle = tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
        self._state = (handle, handle.primitive(aead.Aead))

    def _save(self) -> None:
        self._write(self._to_json())

    def _write(self, text: str) -> None:
        assert self.path is not None
        make_private_dir(self.path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".kek-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


__all__ = [
    "DATA_KEY_TEMPLATE",
    "SMALL_DATA_KEY_TEMPLATE",
    "SMALL_OBJECT_MAX_BYTES",
    "data_key_template_name",
    "KeyEncryptionKey",
    "TinkKeyset",
    "WrappedKey",
    "new_data_key",
    "rewrap_data_key",
    "unwrap_data_key",
    "wrap_data_key",
]
