"""Submit a flow to a work pool and follow its run: the scale-out path (docs/adr/0036).

:func:`submit` creates a run of a registered deployment (``flows.deployments``) and returns
its id at once (``run_deployment(..., timeout=0)``): a worker picks it up, reading the store's
settings from its own environment. The parameters are the flow's own — the store's home, a
principal and ids — never settings or secrets. :func:`run_status` reads a run back by its id
or a unique prefix of it; :func:`follow` polls it until it ends.

Errors are qgov's: an unreachable Prefect API or a missing deployment is one line
(:class:`~qgov.errors.OrchestrationError`, :class:`~qgov.errors.ConfigError`), an unknown
run :class:`~qgov.errors.NotFoundError`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qgov.errors import AmbiguousIdError, ConfigError, InputError, NotFoundError, OrchestrationError

MIN_PREFIX = 4
PREFIX_WINDOW = 200  # the most recent runs a prefix is looked up among


def deployment_name(flow_name: str, pool: str) -> str:
    """The deployment of ``flow_name`` in ``pool`` (``flows.deployments`` registers them)."""
    return f"{flow_name}/{pool}"


@dataclass(frozen=True)
class RunStatus:
    """A flow run as a person follows it: what runs, its state, how far its tasks are."""

    id: str
    flow: str
    deployment: str | None
    state: str  # Prefect's state name: Scheduled, Pending, Running, Completed, Failed, Crashed…
    state_type: str  # SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, CRASHED, CANCELLED…
    message: str | None
    started: datetime | None
    ended: datetime | None
    tasks_done: int
    tasks_total: int

    @property
    def final(self) -> bool:
        return self.state_type in {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}

    @property
    def ok(self) -> bool:
        return self.state_type == "COMPLETED"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "flow": self.flow,
            "deployment": self.deployment,
            "state": self.state,
            "state_type": self.state_type,
            "message": self.message,
            "started": self.started.isoformat() if self.started else None,
            "ended": self.ended.isoformat() if self.ended else None,
            "tasks_done": self.tasks_done,
            "tasks_total": self.tasks_total,
        }


def _require_api() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise ConfigError(
            "PREFECT_API_URL: not set; a work pool needs a Prefect server (source the stack's stack.env, "
            "or unset QGOV_WORK_POOL to run flows in this process)"
        )
    return str(url)


def _unreachable(url: str, exc: BaseException) -> OrchestrationError:
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    return OrchestrationError(f"Prefect server at {url} could not answer ({reason})")


def submit(flow_name: str, pool: str, parameters: dict[str, Any]) -> str:
    """Create a run of ``flow_name``'s deployment in ``pool``; its id, without waiting for it."""
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    url = _require_api()
    name = deployment_name(flow_name, pool)
    try:
        run = run_deployment(name, parameters=parameters, timeout=0, as_subflow=False)
    except ObjectNotFound:
        raise ConfigError(
            f"QGOV_WORK_POOL={pool}: no deployment {name} on {url} (register them: python -m flows.deployments {pool})"
        ) from None
    except (OSError, RuntimeError) as exc:
        raise _unreachable(url, exc) from None
    except Exception as exc:  # noqa: BLE001 - httpx errors of Prefect's client: one line for the user
        if type(exc).__module__.startswith("httpx"):
            raise _unreachable(url, exc) from None
        raise
    return str(run.id)


def _resolve(client: Any, ref: str) -> Any:
    from prefect.client.schemas.sorting import FlowRunSort
    from prefect.exceptions import ObjectNotFound

    ref = ref.strip().lower()
    try:
        return client.read_flow_run(uuid.UUID(ref))
    except ValueError:
        pass
    except ObjectNotFound:
        raise NotFoundError(f"run {ref}: no such flow run") from None
    if len(ref) < MIN_PREFIX or any(c not in "0123456789abcdef-" for c in ref):
        raise InputError(f"run {ref}: expected a flow run id or a unique prefix of at least {MIN_PREFIX} hex digits")
    runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=PREFIX_WINDOW)
    found = [r for r in runs if str(r.id).startswith(ref)]
    if not found:
        raise NotFoundError(f"run {ref}: no such flow run")
    if len(found) > 1:
        ids = sorted(str(r.id) for r in found)
        raise AmbiguousIdError(f"run {ref}: matches {len(ids)} runs ({', '.join(ids)})", ids)
    return found[0]


def run_status(ref: str) -> RunStatus:
    """The run with id (or unique id prefix) ``ref``, and how far its tasks are."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    url = _require_api()
    try:
        with get_client(sync_client=True) as client:
            run = _resolve(client, ref)
            flow = client.read_flow(run.flow_id)
            deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
            tasks = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])))
    except (NotFoundError, InputError):
        raise
    except Exception as exc:  # noqa: BLE001 - Prefect's client raises httpx errors: one line for the user
        raise _unreachable(url, exc) from None
    state = run.state
    return RunStatus(
        id=str(run.id),
        flow=flow.name,
        deployment=deployment,
        state=state.name if state else "Unknown",
        state_type=state.type.value if state else "UNKNOWN",
        message=(state.message or None) if state else None,
        started=run.start_time,
        ended=run.end_time,
        tasks_done=sum(1 for t in tasks if t.state and t.state.is_final()),
        tasks_total=len(tasks),
    )


def follow(ref: str, on_update: Callable[[RunStatus], None], poll: float = 1.0) -> RunStatus:
    """Poll the run until it ends; ``on_update`` sees every status read. Returns the last."""
    status = run_status(ref)
    on_update(status)
    while not status.final:
        time.sleep(poll)
        status = run_status(status.id)
        on_update(status)
    return status


__all__ = ["RunStatus", "deployment_name", "follow", "run_status", "submit"]
