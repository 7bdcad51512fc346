"""The grant-expiry sweep as a Prefect flow (run it on a schedule in a deployment)."""

from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_at
from governance.requests import sweep_expired


@task(name="expire-grants", cache_policy=NO_CACHE, persist_result=False)
def expire_task(home: str, principal: str) -> list[str]:
    return sweep_expired(app_at(home, principal))


@flow(name="qgov-grant-expiry", persist_result=False, validate_parameters=False)
def expiry_sweep_flow(home: str, principal: str) -> list[str]:
    return expire_task(home, principal)


__all__ = ["expiry_sweep_flow"]
