"""Progress from inside flows to whoever is watching (a rich bar in the CLI).

Prefect shows task states in its UI; a person at a terminal also wants a bar. Tasks
call :func:`advance`; the CLI installs a sink with :func:`watching`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_sink: Callable[[str, int, int, int, int], None] | None = None


@contextmanager
def watching(sink: Callable[[str, int, int, int, int], None]) -> Iterator[None]:
    """Install ``sink(stage, done_files, total_files, done_bytes, total_bytes)`` for a block."""
    global _sink
    with _lock:
        previous, _sink = _sink, sink
    try:
        yield
    finally:
        with _lock:
            _sink = previous


def advance(stage: str, done: int, total: int, done_bytes: int = 0, total_bytes: int = 0) -> None:
    sink = _sink
    if sink is not None:
        sink(stage, done, total, done_bytes, total_bytes)


__all__ = ["advance", "watching"]
