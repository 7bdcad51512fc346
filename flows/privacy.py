"""The release flow: run every approved DP release in the queue, one task each.

Each task reserves, computes and commits one release (``governance.releases.run_release``); a
failing release is settled (refunded, or charged if it failed after reading the data: ADR 0020)
and reported without stopping the others.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_at
from governance.releases import queued, run_release
from qgov.errors import QgovError


@task(name="run-release", cache_policy=NO_CACHE, persist_result=False)
def release_task(home: str, principal: str, release_id: str) -> dict[str, Any]:
    try:
        return run_release(app_at(home, principal), release_id)
    except QgovError as exc:  # refunded already; the batch goes on
        return {"release_id": release_id, "status": "failed", "error": exc.diagnostics()}


@flow(name="qgov-releases", persist_result=False, validate_parameters=False)
def release_queue_flow(home: str, principal: str) -> list[dict[str, Any]]:
    return [release_task(home, principal, release_id) for release_id in queued(app_at(home, principal))]


__all__ = ["release_queue_flow"]
