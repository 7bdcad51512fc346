"""Where ciphertext lives: one narrow interface, a local directory and any fsspec URL.

A write is *staged* first and *published* later, in batches. Nothing is ever visible
under an object's final name until it is complete and durable:

* local directory — staged into ``tmp/`` and fsynced; publishing renames each file
  into place and fsyncs the directories it touched (one fsync per directory per
  batch instead of per file: that is what makes 10,000 small files cheap);
* fsspec (``s3://…``, ``memory://…``) — an object-store PUT is atomic, so a staged
  write goes to a private ``tmp/`` key and publishing copies it into place.
"""

from __future__ import annotations

import ctypes
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import fsspec

from qgov.errors import ConfigError, StorageError
from qgov.private_files import make_private_dir

_TMP = "tmp"


@dataclass(frozen=True)
class Staged:
    """A write waiting to be published under ``key``; ``stream`` is open while staging."""

    key: str
    token: str
    stream: IO[bytes] = field(repr=False, compare=False)


class Backend(ABC):
    """Byte storage addressed by slash-separated keys."""

    url: str

    @abstractmethod
    @contextmanager
    def stage(self, key: str) -> Iterator[Staged]:
        """Yield a slot whose ``stream`` takes the bytes; on clean exit they are staged."""

    @abstractmethod
    def publish(self, staged: Sequence[Staged]) -> None:
        """Make staged writes visible under their keys, durably, replacing what is there."""

    @abstractmethod
    def discard(self, staged: Sequence[Staged]) -> None: ...

    @abstractmethod
    def open_read(self, key: str) -> IO[bytes]: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def clean_stale_staging(self) -> int:
        """Remove staged writes left by a killed process; returns how many."""


class LocalBackend(Backend):
    """A directory on a POSIX filesystem, written with temp + fsync + rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = root.as_uri()
        self._tmp = root / _TMP
        try:
            make_private_dir(self._tmp)
        except OSError as exc:
            raise ConfigError(f"storage directory {root}: cannot be created ({exc.strerror})") from None

    def _path(self, key: str) -> Path:
        return self.root / key

    @contextmanager
    def stage(self, key: str) -> Iterator[Staged]:
        # The owner's PID is in the name so that cleaning up after a killed run never
        # removes the staged files of another ingest that is still running.
        token = f"{os.getpid()}-{uuid.uuid4().hex}.part"
        tmp = self._tmp / token
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as raw:
                yield Staged(key, token, raw)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def publish(self, staged: Sequence[Staged]) -> None:
        if not staged:
            return
        try:
            if len(staged) > _SYNCFS_THRESHOLD and _syncfs(self._tmp):
                # Many files: one syncfs makes all staged bytes durable, one more after the
                # renames makes the directory entries durable (measured here: ~0.3 ms per
                # fsync, so 10,000 fsyncs would cost more than the rest of the ingest).
                touched = self._rename_all(staged)
                if not _syncfs(self.root):
                    for directory in touched:
                        _fsync_dir(directory)
                return
            for item in staged:
                fd = os.open(self._tmp / item.token, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for directory in self._rename_all(staged) | {self._tmp}:
                _fsync_dir(directory)
        except OSError as exc:
            raise StorageError(f"storage {self.url}: publishing failed ({exc})") from None

    def _rename_all(self, staged: Sequence[Staged]) -> set[Path]:
        touched: set[Path] = set()
        for item in staged:
            final = self._path(item.key)
            if final.parent not in touched:
                make_private_dir(final.parent)
                touched.add(final.parent)
            os.replace(self._tmp / item.token, final)
        return touched

    def discard(self, staged: Sequence[Staged]) -> None:
        for item in staged:
            (self._tmp / item.token).unlink(missing_ok=True)

    def open_read(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115 - caller closes
        except FileNotFoundError:
            raise StorageError(f"object {Path(key).name}: ciphertext missing from {self.url}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def clean_stale_staging(self) -> int:
        count = 0
        for leftover in self._tmp.glob("*.part"):
            owner = leftover.name.split("-", 1)[0]
            if owner.isdigit() and _alive(int(owner)):
                continue
            leftover.unlink(missing_ok=True)
            count += 1
        return count


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_SYNCFS_THRESHOLD = 16
_libc: ctypes.CDLL | None = None
_libc_probed = False


def _syncfs(path: Path) -> bool:
    """Linux syncfs(2) on the filesystem holding ``path``; False where unavailable."""
    global _libc, _libc_probed
    if not _libc_probed:
        _libc_probed = True
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.syncfs  # noqa: B018 - probe that the symbol exists
        except (OSError, AttributeError):
            _libc = None
    if _libc is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), f"syncfs({path}) failed")
    finally:
        os.close(fd)
    return True


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FsspecBackend(Backend):
    """Any fsspec filesystem: S3-compatible object stores at scale, memory:// in tests."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.url = url.rstrip("/")
        try:
            self.fs, self.base = fsspec.core.url_to_fs(self.url, **storage_options)
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"QGOV_STORAGE_URL {url!r}: unsupported ({exc})") from None

    def _full(self, key: str) -> str:
        return f"{self.base}/{key}"

    @contextmanager
    def stage(self, key: str) -> Iterator[Staged]:
        token = f"{uuid.uuid4().hex}.part"
        path = self._full(f"{_TMP}/{token}")
        try:
            with self.fs.open(path, "wb") as out:
                yield Staged(key, token, out)
        except OSError as exc:
            self._quiet_rm(path)
            raise StorageError(f"storage {self.url}: writing {key.rsplit('/', 1)[-1]} failed ({exc})") from None
        except BaseException:
            self._quiet_rm(path)
            raise

    def publish(self, staged: Sequence[Staged]) -> None:
        try:
            for item in staged:
                self.fs.mv(self._full(f"{_TMP}/{item.token}"), self._full(item.key))
        except OSError as exc:
            raise StorageError(f"storage {self.url}: publishing failed ({exc})") from None

    def discard(self, staged: Sequence[Staged]) -> None:
        for item in staged:
            self._quiet_rm(self._full(f"{_TMP}/{item.token}"))

    def _quiet_rm(self, path: str) -> None:
        with suppress(FileNotFoundError, OSError):
            self.fs.rm(path)

    def open_read(self, key: str) -> IO[bytes]:
        try:
            return self.fs.open(self._full(key), "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise StorageError(f"object {key.rsplit('/', 1)[-1]}: ciphertext missing from {self.url}") from None

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._full(key)))

    def delete(self, key: str) -> None:
        self._quiet_rm(self._full(key))

    def clean_stale_staging(self, older_than_s: float = 3600.0) -> int:
        """Remove staged objects older than an hour (an object store has no PIDs to ask)."""
        try:
            self.fs.invalidate_cache()
            leftovers = self.fs.glob(self._full(f"{_TMP}/*.part"))
        except FileNotFoundError:
            return 0
        removed = 0
        now = time.time()
        for path in leftovers:
            try:
                modified = self.fs.modified(path).timestamp()
            except (OSError, NotImplementedError, AttributeError):
                modified = 0.0
            if now - modified >= older_than_s:
                self._quiet_rm(path)
                removed += 1
        return removed


def open_backend(url: str, **storage_options: Any) -> Backend:
    """A backend for a storage URL: a plain path or ``file://`` is local, the rest fsspec."""
    if "://" not in url:
        return LocalBackend(Path(url).expanduser().resolve())
    if url.startswith("file://"):
        return LocalBackend(Path(url[len("file://") :]).expanduser().resolve())
    return FsspecBackend(url, **storage_options)


__all__ = ["Backend", "FsspecBackend", "LocalBackend", "Staged", "open_backend"]
