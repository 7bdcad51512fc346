"""`qgov serve` as a child process on a free loopback port: for the demo, benchmarks and tests.

The child runs in a session of its own and is stopped by its process group (SIGTERM, then
SIGKILL after 20 s), so nothing it started outlives the caller; ``exit_code`` records how it
ended (0 after a clean SIGTERM).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx

from qgov.errors import StorageError


@dataclass
class Served:
    base: str
    pid: int
    exit_code: int | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], start_timeout: float = 60) -> Iterator[Served]:
    port = free_port()
    qgov = str(Path(sys.executable).parent / "qgov")
    proc = subprocess.Popen(
        [qgov, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    served = Served(f"http://127.0.0.1:{port}", proc.pid)
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            with suppress(httpx.TransportError):
                if httpx.get(f"{served.base}/api/v1/healthz", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None:
                detail = proc.stderr.read().decode(errors="replace").strip()[-500:]  # type: ignore[union-attr]
                raise StorageError(f"qgov serve on {served.base} exited at start: {detail or proc.returncode}")
            if time.monotonic() > deadline:
                raise StorageError(f"qgov serve on {served.base} did not answer within {start_timeout:.0f} s")
            time.sleep(0.2)
        yield served
    finally:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        served.exit_code = proc.returncode
        if proc.stderr is not None:
            proc.stderr.close()


__all__ = ["Served", "free_port", "serving"]
