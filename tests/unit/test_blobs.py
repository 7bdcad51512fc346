"""Behaviour of BlobStore (encrypted, content-addressed objects) on a local directory.

Ciphertext layout of Tink's AES256_GCM_HKDF_1MB streaming AEAD, which the tamper
cases below rely on: a 40-byte header (1 length byte, 32-byte salt, 7-byte nonce
prefix), then segments of exactly 1 MiB of ciphertext each, every one ending in a
16-byte GCM tag; the first segment shares its MiB with the header, so segment
boundaries sit at file offsets 1048576, 2097152, ... and the last segment is shorter.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import tink
from tink import secret_key_access

from qgov.errors import ConfigError, InputError, IntegrityError, StorageError
from storage.backends import LocalBackend
from storage.blobs import BlobStore, FileStamp, PendingObject, digest_file, object_key
from storage.keys import TinkKeyset, new_data_key, rewrap_data_key, unwrap_data_key, wrap_data_key

SEGMENT = 1 << 20  # ciphertext bytes per segment
HEADER = 40
TAG = 16
FIRST_SEGMENT_PLAINTEXT = SEGMENT - HEADER - TAG  # 1048520
SEGMENT_PLAINTEXT = SEGMENT - TAG  # 1048560
TAMPER_SIZE = 5 * SEGMENT // 2 + 7  # ~2.5 MiB: segments [0,1M), [1M,2M), [2M,end)

AUTH_FAILED = "ciphertext failed authentication"
KEY_MISMATCH = "data key does not unwrap"


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(f"{seed}:{size}").randbytes(size)


def expected_ciphertext_size(plaintext_size: int) -> int:
    if plaintext_size <= FIRST_SEGMENT_PLAINTEXT:
        segments = 1
    else:
        rest = plaintext_size - FIRST_SEGMENT_PLAINTEXT
        segments = 1 + -(-rest // SEGMENT_PLAINTEXT)
    return plaintext_size + HEADER + TAG * segments


@dataclass
class Stored:
    object_id: str
    wrapped: bytes
    path: Path  # the ciphertext file
    plaintext: bytes
    pending: PendingObject


@pytest.fixture
def kek(tmp_path: Path) -> TinkKeyset:
    return TinkKeyset.create(tmp_path / "kek.json")


@pytest.fixture
def backend(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "store")


@pytest.fixture
def store(backend: LocalBackend, kek: TinkKeyset) -> BlobStore:
    return BlobStore(backend, kek)


@pytest.fixture
def put(store: BlobStore, backend: LocalBackend, tmp_path: Path) -> Callable[[bytes], Stored]:
    """Ingest bytes the way callers do: digest, encrypt into staging, publish."""
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    counter = iter(range(1_000_000))

    def _put(data: bytes) -> Stored:
        source = source_dir / f"plain-{next(counter)}.bin"
        source.write_bytes(data)
        oid, size, stamp = digest_file(source)
        assert oid == hashlib.sha256(data).hexdigest()
        assert size == len(data)
        pending = store.encrypt_file(source, oid, stamp)
        store.publish([pending])
        return Stored(oid, pending.wrapped_key.ciphertext, backend.root / object_key(oid), data, pending)

    return _put


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def staging_files(backend: LocalBackend) -> list[str]:
    return sorted(os.listdir(backend.root / "tmp"))


# -- round trips --------------------------------------------------------------------

ROUND_TRIP_SIZES = [
    0,
    1,
    FIRST_SEGMENT_PLAINTEXT,  # ciphertext is exactly one full segment
    FIRST_SEGMENT_PLAINTEXT + 1,  # one byte spills into a second segment
    2 * SEGMENT,
    3 * SEGMENT + 5,
]
ROUND_TRIP_IDS = ["empty", "one-byte", "fills-first-segment", "first-segment-plus-one", "2MiB", "3MiB-plus-5"]


@pytest.mark.parametrize("size", ROUND_TRIP_SIZES, ids=ROUND_TRIP_IDS)
def test_round_trip(
    size: int, put: Callable[[bytes], Stored], store: BlobStore, backend: LocalBackend, out_dir: Path
) -> None:
    obj = put(payload(size))

    assert obj.path == backend.root / "objects" / obj.object_id[:2] / obj.object_id
    assert obj.path.stat().st_size == obj.pending.ciphertext_size == expected_ciphertext_size(size)
    assert stat.S_IMODE(obj.path.stat().st_mode) == 0o600
    assert obj.pending.size == size
    assert obj.pending.wrapped_key.kek_key_id == store.kek.primary_key_id
    assert store.exists(obj.object_id)
    assert store.verify(obj.object_id, obj.wrapped) == obj.object_id

    destination = out_dir / "plain.bin"
    assert store.fetch_to_path(obj.object_id, obj.wrapped, destination) == size
    assert destination.read_bytes() == obj.plaintext
    assert stat.S_IMODE(destination.stat().st_mode) == 0o600
    assert os.listdir(out_dir) == ["plain.bin"]


def test_fetch_replaces_an_existing_destination(
    put: Callable[[bytes], Stored], store: BlobStore, out_dir: Path
) -> None:
    obj = put(payload(1000))
    destination = out_dir / "plain.bin"
    destination.write_bytes(b"old content")
    store.fetch_to_path(obj.object_id, obj.wrapped, destination)
    assert destination.read_bytes() == obj.plaintext


def test_decrypt_into_streams_chunks(put: Callable[[bytes], Stored], store: BlobStore) -> None:
    obj = put(payload(3 * SEGMENT + 5))
    chunks: list[bytes] = []
    assert store.decrypt_into(obj.object_id, obj.wrapped, chunks.append) == len(obj.plaintext)
    assert b"".join(chunks) == obj.plaintext
    assert max(len(c) for c in chunks) <= SEGMENT


# -- tampering ------------------------------------------------------------------------


@dataclass
class TamperContext:
    target: Stored  # the ~2.5 MiB multi-segment object
    other: Stored  # a second, unrelated object
    store: BlobStore
    tmp_path: Path


# A case mutates storage (or picks keys) and returns what to read: (store, object id, wrapped key).
Tamper = Callable[[TamperContext], tuple[BlobStore, str, bytes]]


def rewrite(mutate: Callable[[bytes], bytes]) -> Tamper:
    def _apply(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
        path = ctx.target.path
        before = path.read_bytes()
        after = mutate(before)
        assert after != before
        path.write_bytes(after)
        return ctx.store, ctx.target.object_id, ctx.target.wrapped

    return _apply


def flip_bit(offset: int) -> Callable[[bytes], bytes]:
    def _flip(data: bytes) -> bytes:
        changed = bytearray(data)
        changed[offset] ^= 0x01
        return bytes(changed)

    return _flip


def flip_last_byte(data: bytes) -> bytes:
    return flip_bit(len(data) - 1)(data)


def segments(data: bytes) -> list[bytes]:
    """The file cut at segment boundaries (segment 0 includes the header)."""
    return [data[i : i + SEGMENT] for i in range(0, len(data), SEGMENT)]


def last_segment_start(data: bytes) -> int:
    return (len(data) - 1) // SEGMENT * SEGMENT


def swap_segments_0_1(data: bytes) -> bytes:
    s = segments(data)
    return s[1] + s[0] + b"".join(s[2:])


def duplicate_segment_1(data: bytes) -> bytes:
    s = segments(data)
    return s[0] + s[1] + s[1] + b"".join(s[2:])


def remove_middle_segment(data: bytes) -> bytes:
    s = segments(data)
    assert len(s) == 3
    return s[0] + s[2]


def moved_from_other_object(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
    # The target's ciphertext copied onto the other object's name, read with that object's key.
    shutil.copyfile(ctx.target.path, ctx.other.path)
    return ctx.store, ctx.other.object_id, ctx.other.wrapped


def moved_with_its_key(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
    # Both the ciphertext and its wrapped key moved onto the other object.
    shutil.copyfile(ctx.target.path, ctx.other.path)
    return ctx.store, ctx.other.object_id, ctx.target.wrapped


def key_of_other_object(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
    return ctx.store, ctx.target.object_id, ctx.other.wrapped


def wrong_kek(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
    other_kek = TinkKeyset.create(ctx.tmp_path / "other-kek.json")
    return BlobStore(ctx.store.backend, other_kek), ctx.target.object_id, ctx.target.wrapped


def altered_wrapped_key(ctx: TamperContext) -> tuple[BlobStore, str, bytes]:
    return ctx.store, ctx.target.object_id, flip_bit(len(ctx.target.wrapped) // 2)(ctx.target.wrapped)


TAMPER_CASES = [
    pytest.param(rewrite(lambda d: d[:SEGMENT]), AUTH_FAILED, id="truncate-at-boundary-1MiB"),
    pytest.param(rewrite(lambda d: d[: 2 * SEGMENT]), AUTH_FAILED, id="truncate-at-boundary-2MiB"),
    pytest.param(rewrite(lambda d: d[: SEGMENT - 1]), AUTH_FAILED, id="truncate-at-boundary-1MiB-minus-1"),
    pytest.param(rewrite(lambda d: d[: SEGMENT + 1]), AUTH_FAILED, id="truncate-at-boundary-1MiB-plus-1"),
    pytest.param(rewrite(lambda d: d[: 2 * SEGMENT - 1]), AUTH_FAILED, id="truncate-at-boundary-2MiB-minus-1"),
    pytest.param(rewrite(lambda d: d[: 2 * SEGMENT + 1]), AUTH_FAILED, id="truncate-at-boundary-2MiB-plus-1"),
    pytest.param(rewrite(lambda d: d[:HEADER]), AUTH_FAILED, id="truncate-to-header"),
    pytest.param(rewrite(lambda d: d[: HEADER - 1]), AUTH_FAILED, id="truncate-inside-header"),
    pytest.param(rewrite(lambda d: b""), AUTH_FAILED, id="truncate-to-empty"),
    pytest.param(rewrite(lambda d: d[: last_segment_start(d)]), AUTH_FAILED, id="remove-final-segment"),
    # The file ends exactly at a segment boundary: the final segment has zero bytes.
    pytest.param(rewrite(lambda d: d[: last_segment_start(d)] + b""), AUTH_FAILED, id="empty-final-segment-zero-bytes"),
    # A final segment of just a tag's worth of bytes (zero plaintext), reusing the real last tag.
    pytest.param(
        rewrite(lambda d: d[: last_segment_start(d)] + d[-TAG:]), AUTH_FAILED, id="empty-final-segment-tag-only"
    ),
    pytest.param(rewrite(swap_segments_0_1), AUTH_FAILED, id="swap-segments-0-1"),
    pytest.param(rewrite(duplicate_segment_1), AUTH_FAILED, id="duplicate-segment-1"),
    pytest.param(rewrite(remove_middle_segment), AUTH_FAILED, id="remove-middle-segment"),
    pytest.param(rewrite(lambda d: d + b"\x00"), AUTH_FAILED, id="trailing-garbage-1-byte"),
    pytest.param(rewrite(lambda d: d + b"\xa5" * 100), AUTH_FAILED, id="trailing-garbage-100-bytes"),
    pytest.param(rewrite(lambda d: d + d[-TAG:]), AUTH_FAILED, id="trailing-copy-of-last-tag"),
    pytest.param(rewrite(flip_bit(0)), AUTH_FAILED, id="bitflip-header-length-byte"),
    pytest.param(rewrite(flip_bit(5)), AUTH_FAILED, id="bitflip-header-salt-byte-5"),
    pytest.param(rewrite(flip_bit(HEADER - 1)), AUTH_FAILED, id="bitflip-header-nonce-prefix"),
    pytest.param(rewrite(flip_bit(HEADER)), AUTH_FAILED, id="bitflip-first-body-byte"),
    pytest.param(rewrite(flip_bit(SEGMENT + SEGMENT // 2)), AUTH_FAILED, id="bitflip-body-middle-of-segment-1"),
    pytest.param(rewrite(flip_bit(SEGMENT - 1)), AUTH_FAILED, id="bitflip-tag-segment-0-last-byte"),
    pytest.param(rewrite(flip_last_byte), AUTH_FAILED, id="bitflip-tag-last-byte-of-file"),
    pytest.param(moved_from_other_object, AUTH_FAILED, id="blob-moved-under-another-object-id"),
    pytest.param(moved_with_its_key, KEY_MISMATCH, id="blob-and-key-moved-under-another-object-id"),
    pytest.param(key_of_other_object, KEY_MISMATCH, id="wrapped-key-of-another-object"),
    pytest.param(altered_wrapped_key, KEY_MISMATCH, id="wrapped-key-altered"),
    pytest.param(wrong_kek, KEY_MISMATCH, id="wrong-key-encryption-key"),
]


@pytest.fixture(scope="module")
def tamper_plaintext() -> bytes:
    return payload(TAMPER_SIZE, seed=1)


@pytest.fixture
def tamper_ctx(
    put: Callable[[bytes], Stored], store: BlobStore, tmp_path: Path, tamper_plaintext: bytes
) -> TamperContext:
    target = put(tamper_plaintext)
    assert target.path.stat().st_size > 2 * SEGMENT  # three segments
    other = put(payload(5000, seed=2))
    return TamperContext(target, other, store, tmp_path)


@pytest.mark.parametrize(("tamper", "reason"), TAMPER_CASES)
def test_tampering_is_detected_by_verify_and_fetch(
    tamper: Tamper, reason: str, tamper_ctx: TamperContext, out_dir: Path
) -> None:
    store, oid, wrapped = tamper(tamper_ctx)
    pattern = rf"object {oid}: .*{reason}"

    with pytest.raises(IntegrityError, match=pattern):
        store.verify(oid, wrapped)
    with pytest.raises(IntegrityError, match=pattern):
        store.fetch_to_path(oid, wrapped, out_dir / "plain.bin")
    assert os.listdir(out_dir) == []  # neither the output nor a *.part temp file


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(rewrite(lambda d: d[: 2 * SEGMENT]), id="truncate-at-boundary"),
        pytest.param(rewrite(flip_last_byte), id="bitflip-last-tag"),
        pytest.param(key_of_other_object, id="wrapped-key-of-another-object"),
    ],
)
def test_failed_fetch_leaves_existing_destination_alone(
    tamper: Tamper, tamper_ctx: TamperContext, out_dir: Path
) -> None:
    destination = out_dir / "plain.bin"
    destination.write_bytes(b"previous content")
    store, oid, wrapped = tamper(tamper_ctx)

    with pytest.raises(IntegrityError, match=oid):
        store.fetch_to_path(oid, wrapped, destination)
    assert destination.read_bytes() == b"previous content"
    assert os.listdir(out_dir) == ["plain.bin"]


@pytest.mark.parametrize(
    ("plaintext_size", "mutate"),
    [
        # Ciphertext exactly four full segments: segments 1 and 2 are full and not last.
        pytest.param(
            4 * SEGMENT - HEADER - 4 * TAG, lambda s: [s[0], s[2], s[1], s[3]], id="swap-full-middle-segments"
        ),
        # Ciphertext exactly three full segments: swap a middle segment with the (full) last one.
        pytest.param(3 * SEGMENT - HEADER - 3 * TAG, lambda s: [s[0], s[2], s[1]], id="swap-middle-with-last"),
        pytest.param(3 * SEGMENT - HEADER - 3 * TAG, lambda s: [s[0], s[1], s[1], s[2]], id="repeat-middle-segment"),
    ],
)
def test_reordering_aligned_segments_is_detected(
    plaintext_size: int,
    mutate: Callable[[list[bytes]], list[bytes]],
    put: Callable[[bytes], Stored],
    store: BlobStore,
    out_dir: Path,
) -> None:
    """Reordering whole segments while the header stays put: only the nonces can tell."""
    obj = put(payload(plaintext_size, seed=3))
    data = obj.path.read_bytes()
    assert len(data) % SEGMENT == 0
    obj.path.write_bytes(b"".join(mutate(segments(data))))

    with pytest.raises(IntegrityError, match=rf"object {obj.object_id}: .*{AUTH_FAILED}"):
        store.verify(obj.object_id, obj.wrapped)
    with pytest.raises(IntegrityError, match=obj.object_id):
        store.fetch_to_path(obj.object_id, obj.wrapped, out_dir / "plain.bin")
    assert os.listdir(out_dir) == []


def test_object_changed_after_verify_leaves_no_temp_file(
    tamper_ctx: TamperContext, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fetch_to_path verifies, then decrypts again: tampering in between must still leave nothing."""
    store, target = tamper_ctx.store, tamper_ctx.target
    real_verify = store.verify

    def verify_then_tamper(object_id: str, wrapped_key: bytes) -> str:
        result = real_verify(object_id, wrapped_key)
        target.path.write_bytes(flip_last_byte(target.path.read_bytes()))
        return result

    monkeypatch.setattr(store, "verify", verify_then_tamper)
    destination = out_dir / "plain.bin"
    destination.write_bytes(b"previous content")
    with pytest.raises(IntegrityError, match=target.object_id):
        store.fetch_to_path(target.object_id, target.wrapped, destination)
    assert os.listdir(out_dir) == ["plain.bin"]
    assert destination.read_bytes() == b"previous content"


def test_failing_before_write_hook_leaves_nothing(
    put: Callable[[bytes], Stored], store: BlobStore, out_dir: Path
) -> None:
    obj = put(payload(3000))
    seen: list[list[str]] = []

    def refuse() -> None:
        seen.append(os.listdir(out_dir))
        raise RuntimeError("access log unavailable")

    with pytest.raises(RuntimeError, match="access log unavailable"):
        store.fetch_to_path(obj.object_id, obj.wrapped, out_dir / "plain.bin", before_write=refuse)
    assert seen == [[]]  # the hook runs before any output file, even a temp file, exists
    assert os.listdir(out_dir) == []


def test_missing_ciphertext_is_a_storage_error(put: Callable[[bytes], Stored], store: BlobStore, out_dir: Path) -> None:
    obj = put(payload(10))
    store.delete(obj.object_id)
    assert not store.exists(obj.object_id)
    with pytest.raises(StorageError, match=rf"object {obj.object_id}: ciphertext missing"):
        store.fetch_to_path(obj.object_id, obj.wrapped, out_dir / "plain.bin")
    assert os.listdir(out_dir) == []
    store.delete(obj.object_id)  # deleting twice is fine


# -- input files ----------------------------------------------------------------------


def test_digest_file_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "data.bin"
    with pytest.raises(InputError, match=rf"{re.escape(str(missing))}: no such file"):
        digest_file(missing)


def test_digest_file_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=rf"{re.escape(str(tmp_path))}: is a directory"):
        digest_file(tmp_path)


def test_digest_file_matches_sha256(tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    data = payload(SEGMENT + 3)
    source.write_bytes(data)
    oid, size, stamp = digest_file(source)
    assert (oid, size, stamp.size) == (hashlib.sha256(data).hexdigest(), len(data), len(data))


def _change_size(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(b"appended after hashing")


def _change_content_same_size(path: Path) -> None:
    st = path.stat()
    path.write_bytes(b"Y" * st.st_size)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _replace_file_same_size_and_mtime(path: Path) -> None:
    # Atomic replacement keeping size and mtime: only the inode tells.
    st = path.stat()
    replacement = path.with_name("replacement")
    replacement.write_bytes(b"Z" * st.st_size)
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(replacement, path)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_change_size, id="appended"),
        pytest.param(_change_content_same_size, id="rewritten-same-size-new-mtime"),
        pytest.param(_replace_file_same_size_and_mtime, id="replaced-same-size-same-mtime"),
    ],
)
def test_encrypt_file_notices_a_file_changed_after_hashing(
    change: Callable[[Path], None], tmp_path: Path, store: BlobStore, backend: LocalBackend
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"X" * 4096)
    oid, _, stamp = digest_file(source)
    change(source)

    with pytest.raises(InputError, match=rf"{re.escape(str(source))}: changed"):
        store.encrypt_file(source, oid, stamp)
    assert staging_files(backend) == []
    assert not store.exists(oid)


def test_encrypt_file_missing_source(tmp_path: Path, store: BlobStore, backend: LocalBackend) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"data")
    oid, _, stamp = digest_file(source)
    source.unlink()
    with pytest.raises(InputError, match=rf"{re.escape(str(source))}: no such file"):
        store.encrypt_file(source, oid, stamp)
    assert staging_files(backend) == []


def test_encrypt_file_rejects_content_that_no_longer_matches_its_id(
    tmp_path: Path, store: BlobStore, backend: LocalBackend
) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"X" * 4096)
    oid, _, stamp = digest_file(source)
    with open(source, "r+b") as handle:  # same inode, same size
        handle.write(b"Y")
    os.utime(source, ns=(stamp.mtime_ns, stamp.mtime_ns))  # mtime put back (or a coarse clock)
    assert FileStamp.of(source) == stamp  # only the content tells

    with pytest.raises(InputError, match="changed while it was being ingested"):
        store.encrypt_file(source, oid, stamp)
    assert staging_files(backend) == []


# -- confidentiality and staging ------------------------------------------------------


def test_plaintext_does_not_appear_in_ciphertext(
    put: Callable[[bytes], Stored], backend: LocalBackend, tmp_path: Path
) -> None:
    marker = b"QGOV-PLAINTEXT-MARKER-0123456789"
    obj = put(marker * 40_000)  # ~1.3 MiB, two segments
    stored = obj.path.read_bytes()
    assert marker not in stored
    assert marker[:8] not in stored
    for path in (backend.root).rglob("*"):  # nothing else in the store holds it either
        if path.is_file():
            assert marker not in path.read_bytes()
    assert obj.plaintext not in obj.wrapped


def test_staged_write_is_invisible_until_published_and_cleaned_up(
    tmp_path: Path, store: BlobStore, backend: LocalBackend
) -> None:
    source = tmp_path / "data.bin"
    marker = b"STAGED-MARKER-" * 1000
    source.write_bytes(marker)
    oid, _, stamp = digest_file(source)

    pending = store.encrypt_file(source, oid, stamp)
    assert not store.exists(oid)
    assert not (backend.root / object_key(oid)).exists()
    staged = staging_files(backend)
    assert staged == [pending.staged.token]
    staged_bytes = (backend.root / "tmp" / staged[0]).read_bytes()
    assert len(staged_bytes) == pending.ciphertext_size
    assert b"STAGED-MARKER-" not in staged_bytes
    assert stat.S_IMODE((backend.root / "tmp" / staged[0]).stat().st_mode) == 0o600

    # A live owner's staged write is left alone (it may be another ingest in progress) ...
    assert backend.clean_stale_staging() == 0
    assert staging_files(backend) == [pending.staged.token]
    # ... a dead owner's is garbage.
    finished = subprocess.Popen(["true"])
    finished.wait()
    orphan = f"{finished.pid}-{pending.staged.token.split('-', 1)[1]}"
    (backend.root / "tmp" / pending.staged.token).rename(backend.root / "tmp" / orphan)
    assert backend.clean_stale_staging() == 1
    assert staging_files(backend) == []
    assert not store.exists(oid)
    assert backend.clean_stale_staging() == 0
    with pytest.raises(StorageError, match="publishing failed"):
        store.publish([pending])
    assert not store.exists(oid)


def test_publish_makes_staged_writes_visible_and_discard_drops_them(
    tmp_path: Path, store: BlobStore, backend: LocalBackend
) -> None:
    pendings = []
    for i in range(3):
        source = tmp_path / f"data-{i}.bin"
        source.write_bytes(payload(100 + i, seed=i))
        oid, _, stamp = digest_file(source)
        pendings.append(store.encrypt_file(source, oid, stamp))
    assert len(staging_files(backend)) == 3

    store.discard(pendings[2:])
    store.publish(pendings[:2])
    assert staging_files(backend) == []
    assert [store.exists(p.object_id) for p in pendings] == [True, True, False]


# -- key-encryption keys --------------------------------------------------------------


def test_key_file_is_created_0600_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "home" / "kek.json"
    created = TinkKeyset.create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kek.json"]  # no temp file left

    loaded = TinkKeyset.load(path)
    assert loaded.path == path
    assert loaded.primary_key_id == created.primary_key_id
    wrapped = wrap_data_key(created, new_data_key(), "ab" * 32)
    unwrap_data_key(loaded, wrapped.ciphertext, "ab" * 32)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660], ids=oct)
def test_key_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "kek.json"
    TinkKeyset.create(path)
    path.chmod(mode)
    with pytest.raises(ConfigError, match=rf"key file {re.escape(str(path))} .*mode {mode:o}.*expected 600"):
        TinkKeyset.load(path)


def test_missing_key_file(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    with pytest.raises(ConfigError, match=rf"key file {re.escape(str(path))} does not exist"):
        TinkKeyset.load(path)


def test_rotation_rewraps_and_retires_the_old_key(
    tmp_path: Path, put: Callable[[bytes], Stored], store: BlobStore, kek: TinkKeyset, out_dir: Path
) -> None:
    obj = put(payload(SEGMENT + 10))
    old_id = kek.primary_key_id
    assert obj.pending.wrapped_key.kek_key_id == old_id

    new_id = kek.begin_rotation()
    assert new_id != old_id
    assert kek.primary_key_id == new_id
    assert sorted(kek.key_ids) == sorted([old_id, new_id])
    store.verify(obj.object_id, obj.wrapped)  # mid-rotation, the old wrapping still opens

    rewrapped = rewrap_data_key(kek, obj.wrapped, obj.object_id)
    assert rewrapped.kek_key_id == new_id
    assert rewrapped.ciphertext != obj.wrapped

    assert kek.finish_rotation() == [old_id]
    assert kek.file_keys() == (new_id, [new_id])
    reloaded = TinkKeyset.load(kek.path)  # type: ignore[arg-type]
    assert reloaded.key_ids == [new_id]
    assert stat.S_IMODE(kek.path.stat().st_mode) == 0o600  # type: ignore[union-attr]

    for k in (kek, reloaded):
        fetched = BlobStore(store.backend, k)
        destination = out_dir / f"plain-{id(k)}.bin"
        fetched.fetch_to_path(obj.object_id, rewrapped.ciphertext, destination)
        assert destination.read_bytes() == obj.plaintext
    # The old key is gone from the file: a process that loads it cannot open the old wrapping ...
    with pytest.raises(IntegrityError, match=rf"object {obj.object_id}: .*{KEY_MISMATCH}"):
        unwrap_data_key(reloaded, obj.wrapped, obj.object_id)
    with pytest.raises(IntegrityError, match=obj.object_id):
        BlobStore(store.backend, reloaded).verify(obj.object_id, obj.wrapped)
    # ... while one that held it keeps it in memory (a data key it wrapped a moment ago still
    # opens, to be re-wrapped before it is stored: ADR 0015), and refreshing does not drop it.
    kek.refresh()
    assert kek.primary_key_id == new_id and sorted(kek.key_ids) == sorted([old_id, new_id])
    unwrap_data_key(kek, obj.wrapped, obj.object_id)


def test_refresh_merges_the_key_file_and_makes_its_primary_current(tmp_path: Path, kek: TinkKeyset) -> None:
    other = TinkKeyset.load(kek.path)  # type: ignore[arg-type]  # another process, loaded earlier
    old_id = other.primary_key_id
    new_id = kek.begin_rotation()
    assert other.key_ids == [old_id]  # it does not see the rotation by itself
    other.refresh()
    assert other.primary_key_id == new_id and sorted(other.key_ids) == sorted([old_id, new_id])
    assert wrap_data_key(other, new_data_key(), "ab" * 32).kek_key_id == new_id
    TinkKeyset.from_json(kek.path.read_text(encoding="utf-8"), "QGOV_KEK").refresh()  # type: ignore[union-attr]  # no file: no-op


def test_key_from_json_text_works_but_cannot_be_rotated(kek: TinkKeyset) -> None:
    text = kek.path.read_text(encoding="utf-8")  # type: ignore[union-attr]
    env_kek = TinkKeyset.from_json(text, "QGOV_KEK")
    assert env_kek.path is None
    wrapped = wrap_data_key(kek, new_data_key(), "cd" * 32)
    unwrap_data_key(env_kek, wrapped.ciphertext, "cd" * 32)

    with pytest.raises(ConfigError, match="QGOV_KEK: .*cannot be rotated"):
        env_kek.begin_rotation()
    with pytest.raises(ConfigError, match="QGOV_KEK: .*cannot be rotated"):
        env_kek.finish_rotation()
    assert env_kek.key_ids == kek.key_ids


def _streaming_keyset_json() -> str:
    return str(tink.json_proto_keyset_format.serialize(new_data_key(), secret_key_access.TOKEN))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{", id="truncated-json"),
        pytest.param("not json at all", id="not-json"),
        pytest.param("[]", id="json-array"),
        pytest.param("{}", id="empty-object"),
        pytest.param(json.dumps({"primaryKeyId": "x", "key": 5}), id="wrong-shapes"),
        pytest.param(_streaming_keyset_json(), id="keyset-of-the-wrong-type"),
    ],
)
def test_malformed_key_json_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="QGOV_KEK: expected a Tink AEAD keyset"):
        TinkKeyset.from_json(text, "QGOV_KEK")


def test_malformed_key_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "kek.json"
    path.write_text("{ not a keyset", encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=rf"key file {re.escape(str(path))}: expected a Tink AEAD keyset"):
        TinkKeyset.load(path)
