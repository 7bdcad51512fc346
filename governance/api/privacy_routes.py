"""HTTP routes of privacy budgets and the officer's review of DP releases.

Thin, like the rest of the API (``POST /releases`` itself is in :mod:`catalog_routes`): each
route calls the service function the command line calls and returns its document; the
services check the capability table for the principal. A privacy profile is uploaded as the
request body (the parsed YAML or JSON document), not as a path on the server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.api.retention_routes import acting


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Any = Field(description="The privacy profile: contributions, column bounds, budget.")
    source: str = Field(default="privacy profile", max_length=1000, description="The file name, for messages.")
    reason: str = Field(default="", max_length=2000)


class ReconcileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_id: str = Field(min_length=1, max_length=64)
    action: str = Field(pattern="^(refund|charge)$")
    reason: str = Field(min_length=1, max_length=2000)


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


class ClassificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    classification: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


def privacy_router() -> APIRouter:
    router = APIRouter(prefix=API, responses=ERRORS, tags=["privacy"])

    @router.get("/datasets/{dataset}/budget")
    def budget(dataset: str, who: Who, request: Request) -> dict[str, Any]:
        """The budget: total, spent, reserved, remaining (exact), and every release."""
        from governance.privacy import budget_show

        return budget_show(acting(request, who), dataset)

    @router.put("/datasets/{dataset}/budget")
    def set_budget(dataset: str, body: ProfileIn, who: Who, request: Request) -> dict[str, Any]:
        """Data managers: declare the privacy unit, the columns' bounds and the budget."""
        from governance.privacy import set_profile

        return set_profile(acting(request, who), dataset, body.data, body.source, body.reason)

    @router.post("/datasets/{dataset}/budget/reconciliations")
    def reconcile(dataset: str, body: ReconcileIn, who: Who, request: Request) -> dict[str, Any]:
        """Admins: settle a reservation left by a release whose process died."""
        from governance.releases import reconcile as service

        return service(acting(request, who), dataset, body.release_id, body.action, body.reason)

    @router.post("/releases/{release_id}/review")
    def review(release_id: str, body: ReviewIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: approve (it runs at once) or deny a release policy sent to review."""
        from governance.releases import decide_review

        return decide_review(acting(request, who), release_id, body.approve, body.reason)

    @router.post("/releases/{release_id}/classification")
    def classify(release_id: str, body: ClassificationIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: classify a released statistic before it is published."""
        from governance.releases import review_classification

        return review_classification(acting(request, who), release_id, body.classification, body.reason)

    return router


__all__ = ["privacy_router"]
