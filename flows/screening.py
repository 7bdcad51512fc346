"""Screening-list refresh as a Prefect flow: load a list version, then re-screen everyone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_at
from governance.screening import load_list, refresh


@task(name="load-screening-list", cache_policy=NO_CACHE, persist_result=False)
def load_task(home: str, principal: str, path: str, fmt: str | None = None) -> dict[str, Any]:
    return load_list(app_at(home, principal), Path(path), fmt)


@task(name="re-screen-people", cache_policy=NO_CACHE, persist_result=False)
def rescreen_task(home: str, principal: str) -> list[dict[str, Any]]:
    return refresh(app_at(home, principal))


@flow(name="qgov-screening-refresh", persist_result=False, validate_parameters=False)
def screening_refresh_flow(home: str, principal: str, path: str, fmt: str | None = None) -> dict[str, Any]:
    loaded = load_task(home, principal, path, fmt)
    return {"list": loaded, "new_hits": rescreen_task(home, principal)}


__all__ = ["screening_refresh_flow"]
