"""HTTP routes of retention: legal holds, an artifact's retention, deletion and erasure.

Thin, like the rest of the API: authenticate (``Who``), call the one service function the
command line calls (:data:`governance.client_ops.OPERATIONS`), return its document. The
services check the capability table for the principal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.app import App
from governance.identity import Principal

Name = Annotated[str | None, Field(default=None, min_length=1, max_length=256)]


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    artifact: Name = None
    dataset: Name = None
    person: Name = None


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class DeletionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    before_retention_end: bool = False


def acting(request: Request, who: Principal) -> App:
    core: App = request.app.state.core
    return core.acting_for(who.name)


def retention_router() -> APIRouter:
    router = APIRouter(prefix=API, responses=ERRORS, tags=["retention"])

    @router.post("/holds", status_code=201)
    def place(body: HoldIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers, admins: hold an artifact, a dataset or what a person touched, and all upstream of it."""
        from governance.retention import place_hold

        return place_hold(acting(request, who), body.reason, body.artifact, body.dataset, body.person)

    @router.get("/holds")
    def holds(who: Who, request: Request, include_released: Annotated[bool, Query()] = False) -> list[dict[str, Any]]:
        """Legal holds in force (or all of them)."""
        from governance.retention import list_holds

        return list_holds(acting(request, who), include_released)

    @router.post("/holds/{hold_id}/release")
    def release(hold_id: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers, admins: release a legal hold, with the reason."""
        from governance.retention import release_hold

        return release_hold(acting(request, who), hold_id, body.reason)

    @router.get("/artifacts/{artifact}/retention")
    def retention(artifact: str, who: Who, request: Request) -> dict[str, Any]:
        """Keep-until date and end-of-retention action of an artifact, with the holds that keep it."""
        from governance.retention import retention_of

        return retention_of(acting(request, who), artifact)

    @router.get("/artifacts/{artifact}/deletion-plan")
    def deletion_plan(artifact: str, who: Who, request: Request) -> dict[str, Any]:
        """Data managers, admins: what deleting the artifact would remove, and what blocks it."""
        from governance.deletion import plan_deletion

        return plan_deletion(acting(request, who), artifact)

    @router.post("/artifacts/{artifact}/deletion")
    def delete(artifact: str, body: DeletionIn, who: Who, request: Request) -> dict[str, Any]:
        """Data managers, admins: crypto-shred the artifact; the answer is the signed certificate."""
        from governance.deletion import delete_artifact

        return delete_artifact(acting(request, who), artifact, body.reason, body.before_retention_end)

    @router.post("/people/{name}/erasure", tags=["people"])
    def erase(name: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Admins: erase a person's personal data; the log stays verifiable."""
        from governance.erasure import erase_person

        return erase_person(acting(request, who), name, body.reason)

    return router


__all__ = ["retention_router"]
