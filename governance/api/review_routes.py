"""API routes for an officer's question and its answer, and for the decision e-mails.

``POST …/access-requests/{id}/ask`` (officers) moves a queued request to ``info_requested``;
``POST …/access-requests/{id}/answer`` (its requester) returns it to the queue. ``POST
…/notifications/send`` sends or retries pending decision e-mails now; ``GET
…/notifications/deliveries`` says what was sent and what failed (officers, admins).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import _ERRORS, API, Who
from governance.api.catalog_routes import _acting
from governance.info_requests import MAX_TEXT

router = APIRouter(prefix=API, responses=_ERRORS)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=MAX_TEXT)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)


@router.post("/access-requests/{request_id}/ask", tags=["access"])
def ask(request_id: str, body: AskIn, who: Who, request: Request) -> dict[str, Any]:
    """An officer asks the requester a question; the request waits (its SLA paused) for the answer."""
    from governance.info_requests import ask as service

    return service(_acting(request, who), request_id, body.question)


@router.post("/access-requests/{request_id}/answer", tags=["access"])
def answer(request_id: str, body: AnswerIn, who: Who, request: Request) -> dict[str, Any]:
    """The requester answers the officer's question; the request returns to the queue."""
    from governance.info_requests import answer as service

    return service(_acting(request, who), request_id, body.text)


@router.post("/notifications/send", tags=["notifications"])
def send(who: Who, request: Request) -> dict[str, int]:
    """Officers, admins: send or retry the pending decision e-mails now."""
    from governance.mailer import send_notifications

    return send_notifications(_acting(request, who))


@router.get("/notifications/deliveries", tags=["notifications"])
def deliveries(who: Who, request: Request) -> dict[str, Any]:
    """Officers, admins: decision e-mails by status, and the failed ones with the server's words."""
    from governance.mailer import delivery_status

    return delivery_status(_acting(request, who))


__all__ = ["router"]
