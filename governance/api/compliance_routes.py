"""HTTP routes of compliance operations: anomaly scans and alerts, incidents.

Thin, like the rest of the API: authenticate (:func:`governance.api.app.principal`), call one
service function of :mod:`governance.compliance`, return its document. The services check
the capability table for the principal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import API, ERRORS, Who
from governance.app import App
from governance.identity import Principal


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: datetime | None = Field(default=None, description="Start (default: the end of the last scan).")
    until: datetime | None = Field(default=None, description="End (default now).")


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    alert: str | None = Field(default=None, max_length=36)
    person: str | None = Field(default=None, max_length=256)
    # checked by the service, so that the message is the command line's
    severity: str | None = Field(default=None, max_length=16, description="low, medium, high or critical.")


class ContainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    hold: bool = False
    suspend_grants: bool = False
    revoke: list[str] = Field(default_factory=list, max_length=100)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remediation: str = Field(min_length=1, max_length=5000)


class RemindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = None


def compliance_router() -> APIRouter:
    """The routes, each authenticated by the API's ``Who`` dependency."""
    router = APIRouter(prefix=API, responses=ERRORS)

    def acting(request: Request, who: Principal) -> App:
        core: App = request.app.state.core
        return core.acting_for(who.name)

    @router.post("/anomaly/scans", tags=["compliance"])
    def scan(body: ScanIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers, admins: scan the log for anomalies; new alerts are stored and logged."""
        from governance.compliance.anomaly import scan as service

        return service(acting(request, who), body.since, body.until)

    @router.get("/anomaly/alerts", tags=["compliance"])
    def alerts(
        who: Who, request: Request, status: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[dict[str, Any]]:
        """Alerts, newest first, each with its evidence events and the role that should look."""
        from governance.compliance.anomaly import list_alerts

        return list_alerts(acting(request, who), status)

    @router.get("/anomaly/alerts/{alert_id}", tags=["compliance"])
    def alert(alert_id: str, who: Who, request: Request) -> dict[str, Any]:
        from governance.compliance.anomaly import show_alert

        return show_alert(acting(request, who), alert_id)

    @router.post("/anomaly/alerts/{alert_id}/dismiss", tags=["compliance"])
    def dismiss(alert_id: str, body: ReasonIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: close an alert as legitimate activity, with the reason."""
        from governance.compliance.anomaly import dismiss_alert

        return dismiss_alert(acting(request, who), alert_id, body.reason)

    @router.post("/incidents", tags=["compliance"], status_code=201)
    def open_incident(body: IncidentIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: open an incident from an alert or by hand; its deadlines start now."""
        from governance.compliance.incidents import open_incident as service

        return service(acting(request, who), body.title, body.severity, body.alert, body.person)

    @router.get("/incidents", tags=["compliance"])
    def incidents(
        who: Who, request: Request, status: Annotated[str | None, Query(max_length=64)] = None
    ) -> list[dict[str, Any]]:
        from governance.compliance.incidents import list_incidents

        return list_incidents(acting(request, who), status)

    @router.get("/incident-readiness", tags=["compliance"])
    def incident_readiness(who: Who, request: Request) -> dict[str, Any]:
        """Median and worst hours to detect, contain and close."""
        from governance.compliance.incidents import readiness

        return readiness(acting(request, who))

    @router.post("/incident-reminders", tags=["compliance"])
    def reminders(body: RemindIn, who: Who, request: Request) -> list[dict[str, Any]]:
        """Officers, admins: record reminders for deadlines coming due or overdue."""
        from governance.compliance.incidents import remind

        return remind(acting(request, who), body.at)

    @router.get("/incidents/{incident_id}", tags=["compliance"])
    def incident(incident_id: str, who: Who, request: Request) -> dict[str, Any]:
        """An incident with its deadlines, containment and timeline from the log."""
        from governance.compliance.incidents import show_incident

        return show_incident(acting(request, who), incident_id)

    @router.post("/incidents/{incident_id}/contain", tags=["compliance"])
    def contain(incident_id: str, body: ContainIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: hold the evidence, suspend the person's grants, revoke named grants."""
        from governance.operations import contain_doc

        app = acting(request, who)
        return contain_doc(app, incident_id, body.reason, body.suspend_grants, body.revoke, body.hold)

    @router.post("/incidents/{incident_id}/deadlines/{deadline}", tags=["compliance"])
    def deadline(incident_id: str, deadline: str, body: NoteIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: record that a deadline was met, and how."""
        from governance.compliance.incidents import meet_deadline

        return meet_deadline(acting(request, who), incident_id, deadline, body.note)

    @router.post("/incidents/{incident_id}/close", tags=["compliance"])
    def close(incident_id: str, body: CloseIn, who: Who, request: Request) -> dict[str, Any]:
        """Officers: close a contained incident whose deadlines are met; the report is stored."""
        from governance.compliance.incidents import close as service

        return service(acting(request, who), incident_id, body.remediation)

    return router


__all__ = ["compliance_router"]
