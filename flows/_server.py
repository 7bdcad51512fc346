"""Prefect's temporary server, owned by the qgov process that starts it.

Without ``PREFECT_API_URL`` Prefect starts a local API server in a child process on first use
(``SubprocessASGIServer``) and stops it at interpreter exit. Two things go wrong with that as
it ships, and this module changes exactly those two steps of it:

- a parent killed with SIGKILL runs no exit handler, so its server stayed running (~190 MB
  each). Here the child holds the read end of a pipe whose write end only the parent has; the
  kernel closes it when the parent dies however it dies, and the child then stops itself
  (SIGTERM to itself, a hard exit 10 s later). A pipe rather than ``PR_SET_PDEATHSIG``: that
  signal fires when the *thread* that started the child exits, and Prefect may start its
  server from a worker thread.
- the server's own output went to the user's terminal, so a start that failed once and
  succeeded on a retry printed ``Application startup failed`` next to a successful result;
  and a server that never comes up was reported as a traceback. Here the output goes to
  ``$PREFECT_HOME/server.log`` (0600), and a server that exits :data:`MAX_STARTS` times is an
  :class:`~qgov.errors.OrchestrationError`: one line naming the log, exit code 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from qgov.errors import OrchestrationError
from qgov.private_files import FILE_MODE

MAX_STARTS = 3

# Runs in the child: watch the pipe, then hand over to uvicorn's own command line.
_BOOT = """\
import os, signal, sys, threading, time
fd = int(sys.argv.pop(1))
def watch():
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)
threading.Thread(target=watch, name="qgov-parent-watch", daemon=True).start()
os.umask(0o077)
from uvicorn.main import main
sys.argv[0] = "uvicorn"
main()
"""

_installed = False


def install() -> None:
    """Make Prefect's temporary server one that dies with this process (idempotent)."""
    global _installed
    if _installed:
        return
    from prefect.server.api.server import SubprocessASGIServer

    original_start = SubprocessASGIServer.start

    def start(self: Any, timeout: int | None = None) -> None:
        try:
            original_start(self, timeout)
        except OrchestrationError:
            raise
        except Exception as exc:  # noqa: BLE001 - Prefect's own timeout or HTTP error: one line for the user
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise OrchestrationError(f"Prefect's local server could not start ({reason}); see {server_log()}") from None

    # type: ignore[method-assign] on both: these are the two steps this module changes
    SubprocessASGIServer._run_uvicorn_command = _run_uvicorn_command  # type: ignore[method-assign]
    SubprocessASGIServer.start = start  # type: ignore[method-assign]
    _installed = True


def server_log() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home) / "server.log"


def _run_uvicorn_command(self: Any) -> Any:
    """Prefect's own command (``prefect.server.api.server``), started under the pipe watch."""
    import subprocess

    import prefect
    from prefect.settings import get_current_settings

    retry = self.server_process is not None and self.server_process.poll() is not None
    starts = getattr(self, "_qgov_starts", 0) + 1 if retry else 1
    self._qgov_starts = starts
    log = server_log()
    if starts > MAX_STARTS:
        code = self.server_process.returncode
        raise OrchestrationError(
            f"Prefect's local server could not start (exited with code {code} {MAX_STARTS} times); see {log}"
        )
    read_end, write_end = os.pipe()  # both non-inheritable; only read_end is passed on
    log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _BOOT,
                str(read_end),
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            pass_fds=(read_end,),
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
        os.close(log_fd)
    # The write end lives as long as this process (or until the next start replaces it).
    previous = getattr(self, "_qgov_watch_fd", None)
    if previous is not None:
        os.close(previous)
    self._qgov_watch_fd = write_end
    return process


__all__ = ["MAX_STARTS", "install", "server_log"]
