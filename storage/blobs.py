"""Encrypted, content-addressed blobs.

Each object is addressed by the SHA-256 of its plaintext and encrypted under its own
data key with Tink's streaming AEAD (AES256_GCM_HKDF_1MB: 1 MiB segments — 4 KiB for an
object whose ciphertext fits one such segment, see ``storage.keys`` — a per-stream HKDF
key, the segment index and a last-segment flag in each nonce). The object id is
the associated data of the stream *and* of the wrapped data key, so a blob moved under
another object id, or a key moved onto another row, fails authentication.

Reading never hands out plaintext that has not been authenticated: :meth:`fetch_to_path`
verifies the whole object first, lets the caller record the access, then decrypts into a
new 0600 temp file beside the destination and renames it into place; any failure removes
the temp file, and the next fetch to that destination removes one a killed fetch left.
Memory stays flat with object size: everything streams in 1 MiB chunks.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import tink
from tink import streaming_aead

from qgov.errors import InputError, IntegrityError, StorageError
from storage.backends import Backend, Staged, _alive
from storage.keys import KeyEncryptionKey, WrappedKey, new_data_key, unwrap_data_key, wrap_data_key

CHUNK = 1 << 20
_STREAM_AD = b"qgov/object/v1:"


def object_key(object_id: str) -> str:
    """Backend key of an object: sharded by the first byte of its id (256 directories).

    One level, like git's object store: ~4,000 entries per directory at a million objects,
    and a batch of 10,000 small files touches at most 256 directories to create and sync.
    """
    return f"objects/{object_id[:2]}/{object_id}"


@dataclass(frozen=True)
class FileStamp:
    """What a file looked like when hashing began, to notice it changing underneath us."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)

    @classmethod
    def of_handle(cls, handle: IO[bytes]) -> FileStamp:
        """The stamp of the file actually open, not of whatever its path names now."""
        st = os.fstat(handle.fileno())
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


Opener = Callable[[], io.BufferedReader]
"""Opens the plaintext to read; the ingest passes one that refuses links and special files."""


def _opener(path: Path, open_source: Opener | None) -> Opener:
    return open_source if open_source is not None else lambda: open(path, "rb")


@dataclass(frozen=True)
class PendingObject:
    """An object encrypted into staging, not yet published."""

    object_id: str
    size: int
    wrapped_key: WrappedKey
    staged: Staged
    ciphertext_size: int


class _NonClosingSink(io.RawIOBase):
    """Tink closes the stream it writes to; the backend must close (and fsync) it itself."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self._target = target
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._target.write(data)
        self.count += len(data)
        return len(data)

    def close(self) -> None:
        pass


def _part_prefix(destination: Path) -> str:
    return f".{destination.name}.qgov-"


def remove_stale_parts(destination: Path) -> int:
    """Remove temp files that killed fetches to ``destination`` left beside it; returns how many.

    A temp file is named ``.NAME.qgov-PID-RANDOM.part``; one whose process still runs is
    another fetch in progress and is left alone.
    """
    parent = destination.parent if str(destination.parent) else Path(".")
    removed = 0
    for leftover in parent.glob(f"{glob.escape(_part_prefix(destination))}*.part"):
        owner = leftover.name.removeprefix(_part_prefix(destination)).split("-", 1)[0]
        if owner.isdigit() and int(owner) != os.getpid() and _alive(int(owner)):
            continue
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            removed += 1
    return removed


def digest_file(path: Path, open_source: Opener | None = None) -> tuple[str, int, FileStamp]:
    """SHA-256 and size of a file, streamed; raises InputError if it cannot be read.

    The stamp is taken from the open descriptor, so it describes the bytes hashed."""
    try:
        with _opener(path, open_source)() as handle:
            stamp = FileStamp.of_handle(handle)
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except PermissionError:
        raise InputError(f"{path}: not readable (permission denied)") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
    return digest, stamp.size, stamp


class BlobStore:
    """Envelope-encrypted objects in a backend; data keys are returned to the caller to keep."""

    def __init__(self, backend: Backend, kek: KeyEncryptionKey) -> None:
        self.backend = backend
        self.kek = kek

    # -- writing ------------------------------------------------------------------
    def encrypt_file(
        self, path: Path, object_id: str, stamp: FileStamp, open_source: Opener | None = None
    ) -> PendingObject:
        """Encrypt ``path`` into staging under ``object_id`` (its plaintext SHA-256).

        The plaintext is hashed again as it is encrypted (on a second core: hashlib
        releases the GIL) so that the content stored under an address is exactly the
        content that hashes to it, even if the file was rewritten in between.
        """
        handle = new_data_key(stamp.size)
        primitive = handle.primitive(streaming_aead.StreamingAead)
        digest = hashlib.sha256()
        # Hash on a second core only when there is enough to overlap: starting a thread
        # costs more than hashing a small file inline (10,000 small files are common).
        overlap = stamp.size > 4 * CHUNK
        with self.backend.stage(object_key(object_id)) as slot, ThreadPoolExecutor(1) as hasher:
            sink = _NonClosingSink(slot.stream)
            hashing: Future[None] | None = None
            try:
                with (
                    _opener(path, open_source)() as source,
                    primitive.new_encrypting_stream(sink, _STREAM_AD + object_id.encode()) as enc,
                ):
                    while True:
                        try:
                            chunk = source.read(CHUNK)
                        except OSError as exc:
                            raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
                        if not chunk:
                            break
                        if not overlap:
                            digest.update(chunk)
                        else:
                            if hashing is not None:
                                hashing.result()
                            hashing = hasher.submit(digest.update, chunk)
                        enc.write(chunk)
                    after = FileStamp.of_handle(source)  # the file read, even if its path was swapped
                if hashing is not None:
                    hashing.result()
            except FileNotFoundError:
                raise InputError(f"{path}: no such file") from None
            except tink.TinkError as exc:
                raise StorageError(
                    f"object {object_id}: writing ciphertext to {self.backend.url} failed ({exc})"
                ) from None
            if digest.hexdigest() != object_id or after != stamp:
                raise InputError(f"{path}: changed while it was being ingested; run again")
        return PendingObject(
            object_id=object_id,
            size=stamp.size,
            wrapped_key=wrap_data_key(self.kek, handle, object_id),
            staged=slot,
            ciphertext_size=sink.count,
        )

    def publish(self, pending: Sequence[PendingObject]) -> None:
        self.backend.publish([p.staged for p in pending])

    def discard(self, pending: Sequence[PendingObject]) -> None:
        self.backend.discard([p.staged for p in pending])

    # -- reading ------------------------------------------------------------------
    def _decrypting_stream(self, object_id: str, wrapped_key: bytes) -> IO[bytes]:
        handle = unwrap_data_key(self.kek, wrapped_key, object_id)
        primitive = handle.primitive(streaming_aead.StreamingAead)
        source = self.backend.open_read(object_key(object_id))
        try:
            stream: IO[bytes] = primitive.new_decrypting_stream(source, _STREAM_AD + object_id.encode())
            return stream
        except tink.TinkError:
            source.close()
            raise self._tampered(object_id) from None

    @staticmethod
    def _tampered(object_id: str) -> IntegrityError:
        return IntegrityError(
            f"object {object_id}: ciphertext failed authentication (truncated, reordered, "
            "altered, moved from another object, or encrypted under another key)"
        )

    def decrypt_into(self, object_id: str, wrapped_key: bytes, consume: Callable[[bytes], object]) -> int:
        """Stream authenticated plaintext chunks of an object to ``consume``; returns bytes seen.

        Each chunk is authenticated before it is passed on, but a later chunk may still
        fail: callers that must not release partial plaintext use :meth:`fetch_to_path`.
        """
        total = 0
        for chunk in self.iter_plaintext(object_id, wrapped_key):
            consume(chunk)
            total += len(chunk)
        return total

    def iter_plaintext(self, object_id: str, wrapped_key: bytes) -> Iterator[bytes]:
        """Authenticated plaintext chunks of an object, for streaming to a client that has
        already had the whole object verified (:meth:`verify`); a chunk that fails now (the
        ciphertext changed since) raises :class:`IntegrityError` and ends the stream short."""
        stream = self._decrypting_stream(object_id, wrapped_key)
        try:
            while True:
                try:
                    chunk = stream.read(CHUNK)
                except tink.TinkError:
                    raise self._tampered(object_id) from None
                if not chunk:
                    return
                yield chunk
        finally:
            with contextlib.suppress(tink.TinkError):
                stream.close()

    def verify(self, object_id: str, wrapped_key: bytes) -> str:
        """Authenticate an object end to end; returns the SHA-256 of its plaintext."""
        digest = hashlib.sha256()
        self.decrypt_into(object_id, wrapped_key, digest.update)
        if digest.hexdigest() != object_id:
            raise IntegrityError(
                f"object {object_id}: decrypted content hashes to {digest.hexdigest()}, expected {object_id}"
            )
        return object_id

    def fetch_to_path(
        self,
        object_id: str,
        wrapped_key: bytes,
        destination: Path,
        before_write: Callable[[], None] | None = None,
    ) -> int:
        """Write an object's plaintext to ``destination`` only once all of it is authentic.

        The order is the protocol (ADR 0004, ADR 0016):

        1. verify: decrypt the whole object, discarding the plaintext, and check its hash;
        2. ``before_write``: the caller re-checks its authority and records the access; if it
           raises, no plaintext byte has been written anywhere;
        3. decrypt again into a new 0600 temp file beside the destination (``O_EXCL``: never
           someone else's file), check the hash, fsync, rename into place.

        A process killed in step 3 leaves its temp file behind; the next fetch to the same
        destination removes every such leftover whose process is gone, before anything else.
        """
        destination = destination.expanduser()
        parent = destination.parent if str(destination.parent) else Path(".")
        if destination.is_dir():
            raise InputError(f"output {destination}: is a directory, expected a file path")
        if not parent.is_dir():
            raise InputError(f"output {destination}: directory {parent} does not exist")
        remove_stale_parts(destination)
        self.verify(object_id, wrapped_key)
        if before_write is not None:
            before_write()
        tmp = parent / f"{_part_prefix(destination)}{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            digest = hashlib.sha256()
            with os.fdopen(fd, "wb") as out:

                def _write(chunk: bytes) -> None:
                    digest.update(chunk)
                    out.write(chunk)

                size = self.decrypt_into(object_id, wrapped_key, _write)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != object_id:
                raise IntegrityError(f"object {object_id}: changed while being fetched")
            os.replace(tmp, destination)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"output {destination}: cannot be written ({exc.strerror})") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return size

    def exists(self, object_id: str) -> bool:
        return self.backend.exists(object_key(object_id))

    def delete(self, object_id: str) -> None:
        self.backend.delete(object_key(object_id))


__all__ = ["BlobStore", "FileStamp", "Opener", "PendingObject", "digest_file", "object_key", "remove_stale_parts"]
