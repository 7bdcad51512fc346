"""The reclassification flow: re-evaluate every artifact under the current policy bundle."""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.session import app_at
from governance.classification import reclassify_all


@task(name="reclassify-artifacts", cache_policy=NO_CACHE, persist_result=False)
def reclassify_task(home: str, principal: str) -> list[dict[str, Any]]:
    return [c.to_json() for c in reclassify_all(app_at(home, principal))]


@flow(name="qgov-reclassify", persist_result=False, validate_parameters=False)
def reclassify_flow(home: str, principal: str) -> dict[str, Any]:
    app = app_at(home, principal)
    changes = reclassify_task(home, principal)
    bundle = app.policies.get("US-EAR")
    return {"policy_version": bundle.version, "changed": len(changes), "changes": changes}


__all__ = ["reclassify_flow"]
