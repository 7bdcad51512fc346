"""Private files: everything under ``QGOV_HOME`` is the owner's alone (directories 0700, files 0600).

The store holds names, citizenships and affiliations, wrapped data keys and the signing key;
another local account must not read any of it. Modes are right *from creation*: a file
created 0644 and tightened afterwards is readable in between, and SQLite creates ``-wal``
and ``-shm`` with whatever mode the database file has. So creation happens under a umask
that clears the group and other bits (:func:`private_umask`), and a store found wider than
that is refused at start-up (:func:`check_private`) rather than silently repaired: widened
modes mean someone changed them, and the owner should know.

The umask is per process: the command line sets it once at start (everything a ``qgov``
process creates — database, WAL, blobs, Prefect's database and server, temp files — is
private); library callers get it around the store's own creation steps.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qgov.errors import ConfigError

PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600

_lock = threading.Lock()


def set_private_umask() -> None:
    """For a whole process (the command line): nothing it creates is readable by others."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


@contextmanager
def private_umask() -> Iterator[None]:
    """Create files and directories inside this block with no group or other bits."""
    with _lock:
        previous = os.umask(PRIVATE_UMASK)
        os.umask(previous | PRIVATE_UMASK)
        try:
            yield
        finally:
            os.umask(previous)


def make_private_dir(path: Path) -> None:
    """``mkdir -p`` whose every new directory (parents too) is created 0700."""
    with private_umask():
        path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)


def check_private(path: Path, what: str) -> None:
    """Refuse a store path that group or others may use (absent paths are fine: they will be
    created private)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        expected = DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE
        raise ConfigError(
            f"{what} {path} is open to group or others (mode {stat.S_IMODE(mode):o}); "
            f"expected {expected:o}: run 'chmod {expected:o} {path}'"
        )


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "PRIVATE_UMASK",
    "check_private",
    "make_private_dir",
    "private_umask",
    "set_private_umask",
]
