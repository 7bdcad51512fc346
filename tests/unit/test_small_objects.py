"""Objects whose ciphertext fits one 4 KiB segment are written with 4 KiB segments (ADR 0038).

Same AES-256-GCM-HKDF streaming AEAD and the same single-segment layout as before; only the
segment size carried in the data key differs, so reading, verifying and tamper detection
are unchanged. These tests read the segment size back out of the unwrapped data key.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
import tink
from tink import secret_key_access
from tink.proto import aes_gcm_hkdf_streaming_pb2, tink_pb2

from qgov.errors import IntegrityError
from storage import BlobStore, LocalBackend, TinkKeyset, digest_file, object_key
from storage.keys import SMALL_OBJECT_MAX_BYTES, data_key_template_name, unwrap_data_key

HEADER, TAG = 40, 16


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(LocalBackend(tmp_path / "store"), TinkKeyset.create(tmp_path / "kek.json"))


def _put(store: BlobStore, tmp_path: Path, size: int) -> tuple[str, bytes, bytes]:
    data = random.Random(size).randbytes(size)
    source = tmp_path / f"plain-{size}.bin"
    source.write_bytes(data)
    oid, _, stamp = digest_file(source)
    pending = store.encrypt_file(source, oid, stamp)
    store.publish([pending])
    return oid, pending.wrapped_key.ciphertext, data


def _segment_size(store: BlobStore, oid: str, wrapped: bytes) -> int:
    handle = unwrap_data_key(store.kek, wrapped, oid)
    keyset = tink_pb2.Keyset.FromString(tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey.FromString(keyset.key[0].key_data.value)
    return int(key.params.ciphertext_segment_size)


@pytest.mark.parametrize(
    ("size", "segment"),
    [(0, 4096), (1024, 4096), (SMALL_OBJECT_MAX_BYTES, 4096), (SMALL_OBJECT_MAX_BYTES + 1, 1 << 20), (70_000, 1 << 20)],
    ids=["empty", "1KiB", "largest-small", "one-byte-more", "70KB"],
)
def test_segment_size_follows_the_object_size_and_content_round_trips(
    size: int, segment: int, store: BlobStore, tmp_path: Path
) -> None:
    oid, wrapped, data = _put(store, tmp_path, size)
    assert _segment_size(store, oid, wrapped) == segment
    assert data_key_template_name(size) == ("AES256_GCM_HKDF_4KB" if segment == 4096 else "AES256_GCM_HKDF_1MB")
    ciphertext = store.backend.root / object_key(oid)  # type: ignore[attr-defined]  # LocalBackend
    assert ciphertext.stat().st_size == size + HEADER + TAG  # one segment either way
    out = tmp_path / "out.bin"
    assert store.fetch_to_path(oid, wrapped, out) == size
    assert hashlib.sha256(out.read_bytes()).hexdigest() == oid


@pytest.mark.parametrize(
    "damage",
    [lambda b: b[:-1], lambda b: b[:HEADER] + bytes([b[HEADER] ^ 1]) + b[HEADER + 1 :], lambda b: b + b"\0"],
    ids=["truncated", "bit-flipped", "extended"],
)
def test_tampering_with_a_small_object_is_detected(damage, store: BlobStore, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    oid, wrapped, _ = _put(store, tmp_path, 1024)
    path = store.backend.root / object_key(oid)  # type: ignore[attr-defined]
    path.chmod(0o600)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(IntegrityError, match=f"object {oid}: "):
        store.verify(oid, wrapped)
