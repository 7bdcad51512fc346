"""An officer asks the requester for information; the requester answers; the request returns
to the queue.

``ask`` moves a queued request to ``info_requested`` (the requester sees the question in
``qgov access mine``, on the "My requests" page and in their notifications, and is e-mailed
that there is one — without its words); ``answer`` moves it back to ``queued`` with the answer
beside the question for the officer. Both are events. The review SLA does not run while the
request waits for the requester: :func:`review_waited_hours` leaves that time out, so an
officer's question never makes a request look overdue, nor turns a slow answer into an
officer's breach.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.db import transaction
from governance.ids import resolve
from governance.mailer import notifies
from lineage import EventLog, NewEvent
from qgov.canonical import as_utc
from qgov.errors import AccessDenied, InputError, NotFoundError

MAX_TEXT = 4000
WAITING = "info_requested"


def review_waited_hours(row: Any, at: datetime) -> float:
    """Hours a request has waited for (or took to get) a decision, without the time it spent
    waiting for its requester's answer."""
    end = as_utc(row.decided_at) if row.decided_at is not None else at
    paused = float(getattr(row, "review_paused_seconds", 0) or 0)
    if row.status == WAITING and row.info_requested_at is not None:
        paused += max(0.0, (at - as_utc(row.info_requested_at)).total_seconds())
    return round(max(0.0, (end - as_utc(row.created_at)).total_seconds() - paused) / 3600, 1)


def _text(text: str, field: str) -> str:
    text = text.strip()
    if not text:
        raise InputError(f"{field}: expected some text, got nothing")
    if len(text) > MAX_TEXT:
        raise InputError(f"{field}: expected at most {MAX_TEXT} characters, got {len(text)}")
    return text


def _row(conn: Any, request_id: str) -> Any:
    row = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
    if row is None:
        raise NotFoundError(f"request {request_id!r} does not exist")
    return row


@notifies
def ask(app: App, request_id: str, question: str, at: datetime | None = None) -> dict[str, Any]:
    """An officer asks the requester of a queued request (not their own) a question."""
    question = _text(question, "--question")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.decide")
        request_id = resolve(conn, "request", request_id)
        row = _row(conn, request_id)
        if row.requester == app.user:
            raise AccessDenied(f"user {app.user!r} may not review their own request {request_id}")
        done = conn.execute(
            update(t.access_requests)
            .where(t.access_requests.c.id == request_id, t.access_requests.c.status == "queued")
            .values(status=WAITING, info_question=question, info_answer=None, info_requested_at=at)
        )
        if done.rowcount != 1:
            raise InputError(f"request {request_id} is {row.status}: only a queued request can be asked about")
        EventLog(conn).append(
            NewEvent(
                "access.info_requested",
                app.user,
                [request_id],
                {"request": request_id, "question": question},
                at,
            )
        )
    return {"request": request_id, "status": WAITING, "question": question}


def answer(app: App, request_id: str, text: str, at: datetime | None = None) -> dict[str, Any]:
    """The requester answers the officer's question; the request returns to the queue."""
    text = _text(text, "--text")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.request")
        request_id = resolve(conn, "request", request_id)
        row = _row(conn, request_id)
        if row.requester != app.user:
            raise AccessDenied(f"user {app.user!r} may not answer for request {request_id}: only its requester may")
        if row.status != WAITING:
            raise InputError(f"request {request_id} is {row.status}: no officer's question is waiting for an answer")
        paused = float(row.review_paused_seconds or 0) + max(0.0, (at - as_utc(row.info_requested_at)).total_seconds())
        done = conn.execute(
            update(t.access_requests)
            .where(t.access_requests.c.id == request_id, t.access_requests.c.status == WAITING)
            .values(status="queued", info_answer=text, info_requested_at=None, review_paused_seconds=paused)
        )
        if done.rowcount != 1:
            raise InputError(f"request {request_id} changed while answering; read it again")
        EventLog(conn).append(
            NewEvent("access.info_provided", app.user, [request_id], {"request": request_id, "answer": text}, at)
        )
    return {"request": request_id, "status": "queued", "question": row.info_question, "answer": text}


__all__ = ["WAITING", "answer", "ask", "review_waited_hours"]
