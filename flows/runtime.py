"""How qgov runs Prefect: offline, quiet, and without the per-flow heartbeat cost.

Prefect reads its own environment variables at import time, so :func:`configure_prefect`
must run before ``prefect`` is imported. It only fills in values the operator has not
set: pointing ``PREFECT_API_URL`` at a Prefect server makes every flow run there (that
is how qgov scales out to work pools), otherwise Prefect starts a temporary local server
in-process (ephemeral mode) with its database under ``$QGOV_HOME/prefect``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qgov.private_files import make_private_dir

_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Prefect's warnings (e.g. its event worker flushing at exit) are about Prefect, not
    # about the user's data; failures reach the user through qgov's own errors.
    "PREFECT_LOGGING_LEVEL": "ERROR",
    # A failing task is reported to the user as one line by the CLI and recorded as a
    # failed state in Prefect; its traceback on the terminal would only confuse.
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "CRITICAL",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
    "GX_ANALYTICS_ENABLED": "False",
    "DVC_NO_ANALYTICS": "1",
}


def configure_prefect(home: Path) -> None:
    """Set Prefect's offline defaults (without overriding the operator's choices)."""
    if "PREFECT_HOME" not in os.environ:
        make_private_dir(home / "prefect")  # its database holds flow parameters: the owner's only
        os.environ["PREFECT_HOME"] = str(home / "prefect")
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)


@contextmanager
def flow_settings() -> Iterator[None]:
    """Disable the flow-run heartbeat for in-process runs.

    Measured here: it costs ~1.05 s per flow run (the engine joins its 1 s sleeping
    thread); without it an empty flow takes ~0.06 s. Heartbeats detect crashed runs on
    remote workers, which in-process runs do not have.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows import _server

    _server.install()  # a temporary server, if Prefect starts one, stops when this process does
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


__all__ = ["configure_prefect", "flow_settings"]
