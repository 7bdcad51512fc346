"""The retention sweep as a Prefect flow: finish removals, then act on what is due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_at
from governance.sweep import sweep


@task(name="retention-sweep", cache_policy=NO_CACHE, persist_result=False)
def sweep_task(home: str, principal: str, act: bool, at: datetime | None) -> dict[str, Any]:
    return sweep(app_at(home, principal), act, at)


@flow(name="qgov-retention-sweep", persist_result=False, validate_parameters=False)
def retention_sweep_flow(home: str, principal: str, act: bool = False, at: datetime | None = None) -> dict[str, Any]:
    return sweep_task(home, principal, act, at)


__all__ = ["retention_sweep_flow"]
