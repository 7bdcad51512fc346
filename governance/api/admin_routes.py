"""HTTP routes of grant revocation, checkpoints and the published policy versions.

Thin, like the rest of the API: each route calls the function the command line calls
(:mod:`governance.operations`) and returns its document; the services check the capability
table for the principal.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.api.retention_routes import acting


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def admin_router() -> APIRouter:
    router = APIRouter(prefix=API, responses=ERRORS)

    @router.post("/grants/{grant_id}/revocation", tags=["access"])
    def revoke(grant_id: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: revoke a grant; fetching under it stops at once."""
        from governance.operations import revoke_grant

        return revoke_grant(acting(request, who), grant_id, body.reason)

    @router.post("/checkpoints", tags=["audit"])
    def checkpoint(who: Who, request: Request) -> dict[str, Any]:
        """Auditors, officers, admins: sign a checkpoint of the log as it stands now."""
        from governance.operations import checkpoint_doc

        return checkpoint_doc(acting(request, who))

    @router.get("/policies", tags=["policy"])
    def policies(who: Who, request: Request) -> dict[str, Any]:
        """The published policy versions, newest (in force) first."""
        from governance.operations import policies_doc

        return policies_doc(acting(request, who))

    return router


__all__ = ["admin_router"]
