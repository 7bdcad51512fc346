"""HTTP routes of the vendor risk register and of recorded violations.

Thin, like the rest of the API: authenticate, call one service function of
:mod:`governance.compliance`, return its document; the services check the capability table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.app import App
from governance.identity import Principal


class VendorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    kind: str = Field(description="cloud_storage, quantum_processor or collaboration.")
    jurisdiction: str = Field(min_length=2, max_length=2)
    max_classification: str = Field(min_length=2, max_length=16)
    controlled: bool
    covers: list[str] = Field(default_factory=list, max_length=50)


class AssessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk_tier: str = Field(max_length=16, description="low, medium or high (checked by the service).")
    findings: str = Field(min_length=1, max_length=5000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ViolationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str = Field(min_length=1, max_length=256)
    what: str = Field(min_length=1, max_length=5000)
    sanction: str = Field(min_length=1, max_length=64)
    steps: list[str] = Field(min_length=1, max_length=20, description="'what to do@YYYY-MM-DD' each.")
    evidence: list[str] = Field(min_length=1, max_length=200, description="Event ids in the log.")


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=1)
    note: str = Field(min_length=1, max_length=2000)


def vendor_router() -> APIRouter:
    router = APIRouter(prefix=API, responses=ERRORS)

    def acting(request: Request, who: Principal) -> App:
        core: App = request.app.state.core
        return core.acting_for(who.name)

    @router.post("/vendors", tags=["compliance"], status_code=201)
    def add_vendor(body: VendorIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers, admins: put a vendor in the register (unassessed until assessed)."""
        from governance.vendors import register_vendor

        app = acting(request, who)
        return register_vendor(
            app, body.name, body.kind, body.jurisdiction, body.max_classification, body.controlled, body.covers
        )

    @router.get("/vendors", tags=["compliance"])
    def vendors(who: Who, request: Request) -> list[dict[str, Any]]:
        """Officers, auditors, admins: the register, with whether each vendor is cleared now."""
        from governance.vendors import list_vendors

        return list_vendors(acting(request, who))

    @router.get("/vendors/{name}", tags=["compliance"])
    def vendor(name: str, who: Who, request: Request) -> dict[str, Any]:
        from governance.vendors import show_vendor

        return show_vendor(acting(request, who), name)

    @router.post("/vendors/{name}/assessments", tags=["compliance"])
    def assess(name: str, body: AssessIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers, admins: record an assessment; the review falls due per the risk tier."""
        from governance.vendors import assess_vendor

        return assess_vendor(acting(request, who), name, body.risk_tier, body.findings)

    @router.post("/vendors/{name}/retire", tags=["compliance"])
    def retire(name: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        from governance.vendors import retire_vendor

        return retire_vendor(acting(request, who), name, body.reason)

    @router.post("/violations", tags=["compliance"], status_code=201)
    def record(body: ViolationIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: record a violation with evidence, a sanction and remediation steps."""
        from governance.operations import record_violation_doc

        app = acting(request, who)
        return record_violation_doc(app, body.person, body.what, body.sanction, body.steps, body.evidence)

    @router.get("/violations", tags=["compliance"])
    def violations(who: Who, request: Request, mine: bool = Query(default=False)) -> list[dict[str, Any]]:
        """One's own violations; officers, auditors and admins see all (unless mine)."""
        from governance.compliance.violations import list_violations

        return list_violations(acting(request, who), mine)

    @router.get("/violations/{violation_id}", tags=["compliance"])
    def violation(violation_id: str, who: Who, request: Request) -> dict[str, Any]:
        from governance.compliance.violations import show_violation

        return show_violation(acting(request, who), violation_id)

    @router.post("/violations/{violation_id}/remediation", tags=["compliance"])
    def remediate(violation_id: str, body: StepIn, who: Who, request: Request) -> dict[str, Any]:
        """The person or an officer: record a remediation step as done."""
        from governance.compliance.violations import complete_step

        return complete_step(acting(request, who), violation_id, body.step, body.note)

    return router


__all__ = ["vendor_router"]
