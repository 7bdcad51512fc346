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


def new_data_key() -> tink.KeysetHandle:
    return tink.new_keyset_handle(DATA_KEY_TEMPLATE)


def wrap_data_key(kek: KeyEncryptionKey, handle: tink.KeysetHandle, object_id: str) -> WrappedKey:
    blob = tink.proto_keyset_format.serialize_encrypted(handle, kek.aead(), _DATA_KEY_AD + object_id.encode())
    return WrappedKey(blob, kek.primary_key_id)


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
        self._handle = handle
        self._aead = handle.primitive(aead.Aead)
        self.source = source
        self.path = path

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
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise ConfigError(f"key file {path} does not exist; run 'qgov init' or set QGOV_KEK") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"key file {path} is readable by group or others (mode {stat.S_IMODE(mode):o}); "
                "expected 600: run 'chmod 600' on it"
            )
        keyset = cls.from_json(path.read_text(encoding="utf-8"), f"key file {path}")
        keyset.path = path
        return keyset

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
        return self._aead

    @property
    def key_ids(self) -> list[int]:
        return [int(k.key_id) for k in self._handle.keyset_info().key_info]

    # -- rotation -----------------------------------------------------------------
    def begin_rotation(self) -> int:
        """Add a fresh primary key (old keys stay, so every wrapped key still opens).

        Tink's Python API has no keyset manager, so the keysets are merged in their
        documented JSON form: the new key is appended and made primary.
        """
        self._require_file()
        current = json.loads(self._to_json())
        while True:
            fresh = json.loads(self._to_json(tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)))
            new_id = int(fresh["primaryKeyId"])
            if new_id not in self.key_ids:
                break
        current["key"].extend(fresh["key"])
        current["primaryKeyId"] = new_id
        self._replace(json.dumps(current))
        return new_id

    def finish_rotation(self) -> list[int]:
        """Destroy every key but the primary; call only once nothing is wrapped under them."""
        self._require_file()
        current = json.loads(self._to_json())
        primary = int(current["primaryKeyId"])
        dropped = [int(k["keyId"]) for k in current["key"] if int(k["keyId"]) != primary]
        current["key"] = [k for k in current["key"] if int(k["keyId"]) == primary]
        self._replace(json.dumps(current))
        return dropped

    def _require_file(self) -> None:
        if self.path is None:
            raise ConfigError(
                f"{self.source}: a key given in the environment cannot be rotated by qgov; "
                "rotate it where it is kept, or use a key file"
            )

    def _to_json(self, handle: tink.KeysetHandle | None = None) -> str:
        return str(tink.json_proto_keyset_format.serialize(handle or self._handle, secret_key_access.TOKEN))

    def _replace(self, text: str) -> None:
        handle = tink.json_proto_keyset_format.parse(text, secret_key_access.TOKEN)
        self._handle = handle
        self._aead = handle.primitive(aead.Aead)
        self._save()

    def _save(self) -> None:
        assert self.path is not None
        text = self._to_json()
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
    "KeyEncryptionKey",
    "TinkKeyset",
    "WrappedKey",
    "new_data_key",
    "rewrap_data_key",
    "unwrap_data_key",
    "wrap_data_key",
]
