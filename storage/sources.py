"""Listing and opening the files of an ingest without being led out of the ingested folder.

A folder handed to ``qgov ingest`` may hold entries its owner did not put there: a symbolic
link to the store's own key file or to ``/etc/passwd``, a FIFO that blocks a reader forever,
a device. The rules, applied both when the folder is listed and again when each file is read:

- below the ingest root, no path component may be a symbolic link, unless the caller asked
  to follow links and the link resolves to a regular file inside the root (a link to a
  directory is never followed: its files are ingested at their own paths);
- only regular files are read: devices, FIFOs and sockets are refused without being opened
  (``lstat`` first) and the opened descriptor is checked again (``fstat``);
- nothing that is one of the store's own objects (its home directory, key files, database)
  is read, compared by device and inode so that another spelling or a hard link of the same
  file is caught too;
- names must be UTF-8 (they become artifact paths and event payloads).

Reads go through :meth:`SourceTree.open`, which walks from the root one component at a time
with ``O_NOFOLLOW`` relative to the parent's descriptor and checks the descriptor it returns:
a file swapped for a link between listing and reading is refused, never followed. POSIX only.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qgov.errors import InputError, RefusedFileError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def display_name(name: str) -> str:
    """A name as it can be shown and stored: undecodable bytes as ``\\xNN`` escapes."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str | None:
    """What a non-regular, non-directory file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


@dataclass(frozen=True)
class Skipped:
    """An entry of the folder that is not ingested, and why (one line)."""

    path: str
    reason: str


@dataclass(frozen=True)
class Listed:
    """A regular file found in the folder: its artifact path and size at listing time."""

    rel: str
    size: int


@dataclass(frozen=True)
class SourceTree:
    """The ingest root and the rules for reading below it (see the module docstring)."""

    root: Path  # resolved: the folder the user named (a link the user named is followed)
    protected: frozenset[tuple[int, int]] = frozenset()  # (st_dev, st_ino) of the store's own objects
    follow_symlinks: bool = False

    @classmethod
    def protecting(cls, root: Path, paths: Iterable[Path], follow_symlinks: bool = False) -> SourceTree:
        """A tree over ``root`` that never reads any of ``paths`` (those that exist)."""
        ids = set()
        for path in paths:
            try:
                st = os.stat(path)
            except OSError:
                continue
            ids.add((st.st_dev, st.st_ino))
        return cls(root, frozenset(ids), follow_symlinks)

    def is_protected(self, st: os.stat_result) -> bool:
        return (st.st_dev, st.st_ino) in self.protected

    # -- listing -------------------------------------------------------------------------
    def walk(self, skip: Iterable[str] = ()) -> Iterator[Listed | Skipped]:
        """Every regular file below the root (sorted, hidden names left out), and every
        entry that is refused with its reason. ``skip`` are name suffixes left out silently."""
        suffixes = tuple(skip)
        yield from self._walk(self.root, "", suffixes)

    def _walk(self, directory: Path, prefix: str, suffixes: tuple[str, ...]) -> Iterator[Listed | Skipped]:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(display_name(prefix.rstrip("/") or "."), f"cannot be listed ({exc.strerror})")
            return
        subdirs: list[tuple[Path, str]] = []
        for entry in entries:
            if entry.name.startswith(".") or (suffixes and entry.name.endswith(suffixes)):
                continue
            rel = prefix + entry.name
            if display_name(entry.name) != entry.name:
                yield Skipped(display_name(rel), "file name is not valid UTF-8; rename it to ingest it")
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Skipped(rel, f"cannot be read ({exc.strerror})")
                continue
            if self.is_protected(st):
                yield Skipped(rel, "part of this qgov store (QGOV_HOME, key or database); never ingested")
            elif stat.S_ISDIR(st.st_mode):
                subdirs.append((Path(entry.path), rel + "/"))
            elif stat.S_ISLNK(st.st_mode):
                yield self._listed_link(rel)
            elif (kind := _kind(st.st_mode)) is not None:
                yield Skipped(rel, f"{kind}; only regular files are ingested")
            else:
                yield Listed(rel, st.st_size)
        for path, rel in subdirs:
            yield from self._walk(path, rel, suffixes)

    def _listed_link(self, rel: str) -> Listed | Skipped:
        if not self.follow_symlinks:
            return Skipped(rel, "a symbolic link; not followed (--follow-symlinks follows links inside the folder)")
        try:
            real = self._resolve_inside(rel)
            st = os.stat(self.root / real)
        except RefusedFileError as exc:
            return Skipped(rel, exc.message)
        except OSError as exc:
            return Skipped(rel, f"a symbolic link that cannot be followed ({exc.strerror})")
        if stat.S_ISDIR(st.st_mode):
            return Skipped(rel, "a symbolic link to a directory; its files are ingested at their own paths")
        if self.is_protected(st):
            return Skipped(rel, "a link into this qgov store (QGOV_HOME, key or database); never ingested")
        if (kind := _kind(st.st_mode)) is not None:
            return Skipped(rel, f"a symbolic link to {kind}; only regular files are ingested")
        return Listed(rel, st.st_size)

    def _resolve_inside(self, rel: str) -> str:
        """The link-free path, relative to the root, that ``rel`` resolves to; refused outside."""
        real = os.path.realpath(self.root / rel)
        root = str(self.root)
        if os.path.commonpath([root, real]) != root:
            raise RefusedFileError(f"{rel}: a symbolic link that leads outside the ingested folder; not followed")
        return os.path.relpath(real, root)

    # -- reading -------------------------------------------------------------------------
    def open(self, rel: str) -> io.BufferedReader:
        """Open ``rel`` (relative to the root) for reading, under the rules of this module.

        Raises :class:`RefusedFileError` for a link, a special file or a store file, and
        :class:`InputError` for a file that is missing or unreadable.
        """
        target = self._resolve_inside(rel) if self.follow_symlinks else rel
        parts = Path(target).parts
        if not parts or ".." in parts or Path(target).is_absolute():
            raise RefusedFileError(f"{rel}: not a path inside the ingested folder")
        try:
            fd = self._open_file(rel, parts)
        except OSError as exc:
            raise _open_error(rel, exc) from None
        try:
            st = os.fstat(fd)
            if (kind := _kind(st.st_mode)) is not None:  # swapped between lstat and open
                raise RefusedFileError(f"{rel}: {kind}; only regular files are ingested")
            if self.is_protected(st):
                raise RefusedFileError(f"{rel}: part of this qgov store (QGOV_HOME, key or database); never ingested")
            os.set_blocking(fd, True)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def _open_file(self, rel: str, parts: tuple[str, ...]) -> int:
        """The descriptor of root/parts, opened one component at a time without following links."""
        directory = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                child = os.open(part, _DIR_FLAGS, dir_fd=directory)
                os.close(directory)
                directory = child
                if self.is_protected(os.fstat(directory)):
                    raise RefusedFileError(f"{rel}: inside this qgov store (QGOV_HOME); never ingested")
            st = os.stat(parts[-1], dir_fd=directory, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise RefusedFileError(f"{rel}: a symbolic link; not followed")
            if (kind := _kind(st.st_mode)) is not None:  # refuse a device or FIFO before opening it
                raise RefusedFileError(f"{rel}: {kind}; only regular files are ingested")
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=directory)
        finally:
            os.close(directory)


def reopener(held: io.BufferedReader) -> Callable[[], io.BufferedReader]:
    """Fresh readers of the file ``held`` is open on, each from its first byte, without
    walking the path again: every reader sees the same file (one check, one inode).
    Readers share one file offset, so use them one at a time."""

    def reopen() -> io.BufferedReader:
        fd = os.dup(held.fileno())
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    return reopen


def _open_error(rel: str, exc: OSError) -> InputError:
    import errno

    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a link (EMLINK on FreeBSD)
        return RefusedFileError(f"{rel}: a symbolic link on its path; not followed")
    if exc.errno == errno.ENOTDIR:
        return RefusedFileError(f"{rel}: a component of its path is no longer a directory; not followed")
    if exc.errno == errno.ENOENT:
        return InputError(f"{rel}: no such file (removed while the ingest ran)")
    if exc.errno == errno.EACCES:
        return InputError(f"{rel}: not readable (permission denied)")
    return InputError(f"{rel}: cannot be read ({exc.strerror})")


__all__ = ["Listed", "Skipped", "SourceTree", "display_name", "reopener"]
