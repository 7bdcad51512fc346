"""BlobStore on a real S3-compatible server (moto in server mode, over HTTP, via s3fs).

The server runs as a subprocess in its own process group for the whole module and is
stopped by its PID afterwards. Each test works under its own key prefix.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

from qgov.errors import IntegrityError, StorageError  # noqa: E402
from storage import open_backend  # noqa: E402
from storage.backends import FsspecBackend  # noqa: E402
from storage.blobs import BlobStore, PendingObject, digest_file, object_key  # noqa: E402
from storage.keys import TinkKeyset  # noqa: E402

BUCKET = "qgov-test"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
SEGMENT = 1 << 20
STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP status means the server is up
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)  # the server is its own process group leader
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **CREDENTIALS},
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers_http(url):
            if proc.poll() is not None:
                pytest.fail(f"moto server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                pytest.fail(f"moto server did not answer on {url}:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def s3_client(moto_url: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture(scope="module")
def kek(tmp_path_factory: pytest.TempPathFactory) -> TinkKeyset:
    return TinkKeyset.create(tmp_path_factory.mktemp("keys") / "kek.json")


@pytest.fixture
def prefix() -> str:
    return f"run-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def backend(moto_url: str, s3_client: Any, prefix: str, monkeypatch: pytest.MonkeyPatch) -> FsspecBackend:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    backend = open_backend(
        f"s3://{BUCKET}/{prefix}",
        client_kwargs={"endpoint_url": moto_url, "region_name": "us-east-1"},
        key="testing",
        secret="testing",
    )
    assert isinstance(backend, FsspecBackend)
    return backend


@pytest.fixture
def store(backend: FsspecBackend, kek: TinkKeyset) -> BlobStore:
    return BlobStore(backend, kek)


@dataclass
class Stored:
    object_id: str
    wrapped: bytes
    key: str  # the S3 key of the ciphertext
    plaintext: bytes
    pending: PendingObject


@pytest.fixture
def stage(store: BlobStore, tmp_path: Path) -> Callable[[bytes], PendingObject]:
    counter = iter(range(1_000_000))

    def _stage(data: bytes) -> PendingObject:
        source = tmp_path / f"plain-{next(counter)}.bin"
        source.write_bytes(data)
        oid, _, stamp = digest_file(source)
        assert oid == hashlib.sha256(data).hexdigest()
        return store.encrypt_file(source, oid, stamp)

    return _stage


@pytest.fixture
def put(store: BlobStore, stage: Callable[[bytes], PendingObject], prefix: str) -> Callable[[bytes], Stored]:
    def _put(data: bytes) -> Stored:
        pending = stage(data)
        store.publish([pending])
        key = f"{prefix}/{object_key(pending.object_id)}"
        return Stored(pending.object_id, pending.wrapped_key.ciphertext, key, data, pending)

    return _put


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(f"{seed}:{size}").randbytes(size)


def keys_under(client: Any, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.mark.parametrize("size", [5 * SEGMENT // 2 + 7, 0], ids=["multi-segment-2.5MiB", "empty"])
def test_round_trip(
    size: int, put: Callable[[bytes], Stored], store: BlobStore, s3_client: Any, tmp_path: Path
) -> None:
    obj = put(payload(size))

    head = s3_client.head_object(Bucket=BUCKET, Key=obj.key)
    assert head["ContentLength"] == obj.pending.ciphertext_size
    assert store.exists(obj.object_id)
    assert store.verify(obj.object_id, obj.wrapped) == obj.object_id

    destination = tmp_path / "out" / "plain.bin"
    destination.parent.mkdir()
    assert store.fetch_to_path(obj.object_id, obj.wrapped, destination) == size
    assert destination.read_bytes() == obj.plaintext


def _flip_middle_byte(data: bytes) -> bytes:
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(_flip_middle_byte, id="bitflip"),
        pytest.param(lambda d: d[:SEGMENT], id="truncate-at-segment-boundary"),
        pytest.param(lambda d: d + b"\x00", id="trailing-byte"),
    ],
)
def test_tampered_object_is_rejected(
    mutate: Callable[[bytes], bytes],
    put: Callable[[bytes], Stored],
    store: BlobStore,
    backend: FsspecBackend,
    s3_client: Any,
    tmp_path: Path,
) -> None:
    obj = put(payload(5 * SEGMENT // 2 + 7, seed=1))
    original = s3_client.get_object(Bucket=BUCKET, Key=obj.key)["Body"].read()
    s3_client.put_object(Bucket=BUCKET, Key=obj.key, Body=mutate(original))
    backend.fs.invalidate_cache()

    pattern = rf"object {obj.object_id}: ciphertext failed authentication"
    with pytest.raises(IntegrityError, match=pattern):
        store.verify(obj.object_id, obj.wrapped)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(IntegrityError, match=pattern):
        store.fetch_to_path(obj.object_id, obj.wrapped, out_dir / "plain.bin")
    assert os.listdir(out_dir) == []


def test_staged_writes_are_invisible_until_published(
    stage: Callable[[bytes], PendingObject],
    store: BlobStore,
    backend: FsspecBackend,
    s3_client: Any,
    prefix: str,
    tmp_path: Path,
) -> None:
    pending = [stage(payload(1000 + i, seed=i)) for i in range(2)]
    final_keys = sorted(f"{prefix}/{object_key(p.object_id)}" for p in pending)
    staged_keys = sorted(f"{prefix}/tmp/{p.staged.token}" for p in pending)

    assert keys_under(s3_client, prefix) == staged_keys
    backend.fs.invalidate_cache()
    assert not any(store.exists(p.object_id) for p in pending)

    store.publish(pending)
    backend.fs.invalidate_cache()
    assert keys_under(s3_client, prefix) == final_keys
    assert all(store.exists(p.object_id) for p in pending)
    for p in pending:
        destination = tmp_path / f"{p.object_id}.bin"
        store.fetch_to_path(p.object_id, p.wrapped_key.ciphertext, destination)
        assert hashlib.sha256(destination.read_bytes()).hexdigest() == p.object_id


def test_clean_stale_staging_removes_leftovers(
    stage: Callable[[bytes], PendingObject],
    put: Callable[[bytes], Stored],
    store: BlobStore,
    backend: FsspecBackend,
    s3_client: Any,
    prefix: str,
) -> None:
    kept = put(payload(500, seed=9))
    leftovers = [stage(payload(700 + i, seed=i)) for i in range(3)]
    assert len(keys_under(s3_client, f"{prefix}/tmp/")) == 3

    backend.fs.invalidate_cache()
    assert backend.clean_stale_staging() == 0  # younger than an hour: may be a live upload
    assert backend.clean_stale_staging(older_than_s=0) == 3
    assert keys_under(s3_client, f"{prefix}/tmp/") == []
    backend.fs.invalidate_cache()
    assert backend.clean_stale_staging(older_than_s=0) == 0
    assert not any(store.exists(p.object_id) for p in leftovers)
    assert store.exists(kept.object_id)
    assert keys_under(s3_client, prefix) == [kept.key]


def test_discard_removes_staged_write(
    stage: Callable[[bytes], PendingObject], store: BlobStore, s3_client: Any, prefix: str
) -> None:
    pending = stage(payload(300))
    store.discard([pending])
    assert keys_under(s3_client, prefix) == []


def test_delete_removes_the_object(
    put: Callable[[bytes], Stored], store: BlobStore, backend: FsspecBackend, s3_client: Any, tmp_path: Path
) -> None:
    obj = put(payload(2000))
    assert store.exists(obj.object_id)

    store.delete(obj.object_id)
    backend.fs.invalidate_cache()
    assert not store.exists(obj.object_id)
    with pytest.raises(s3_client.exceptions.ClientError, match="404"):
        s3_client.head_object(Bucket=BUCKET, Key=obj.key)
    with pytest.raises(StorageError, match=rf"object {obj.object_id}: ciphertext missing"):
        store.fetch_to_path(obj.object_id, obj.wrapped, tmp_path / "plain.bin")
    assert not (tmp_path / "plain.bin").exists()
    store.delete(obj.object_id)  # deleting a missing object is not an error
