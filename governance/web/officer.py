"""Officer pages: the review queue with each request's full context; approve, deny, ask, clear a match."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import back, checked_form, render, session
from qgov.errors import InputError

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/ui/queue")
def queue(request: Request, page: int = 1, notice: str = "") -> Response:
    from governance.review_context import queue_context

    if page < 1:
        raise InputError(f"page: expected 1 or more, got {page}")
    sess = session(request)
    doc = queue_context(sess.app, PAGE, (page - 1) * PAGE)
    pages = max(1, -(-doc["total"] // PAGE))
    return render(request, "queue.html.j2", sess, title="Review queue", notice=notice, doc=doc, page=page, pages=pages)


@router.post("/ui/queue/{request_id}/approve")
async def approve(request_id: str, request: Request) -> Response:
    from governance.requests import approve as service

    sess = session(request)
    form = await checked_form(request, sess)
    grant = service(sess.app, request_id, form.get("licence", "").strip() or None)
    return back("/ui/queue", f"Request {request_id} approved: grant {grant}.")


@router.post("/ui/queue/{request_id}/deny")
async def deny(request_id: str, request: Request) -> Response:
    from governance.requests import deny as service

    sess = session(request)
    form = await checked_form(request, sess)
    service(sess.app, request_id, form.get("reason", ""))
    return back("/ui/queue", f"Request {request_id} denied.")


@router.post("/ui/queue/{request_id}/ask")
async def ask(request_id: str, request: Request) -> Response:
    from governance.info_requests import ask as service

    sess = session(request)
    form = await checked_form(request, sess)
    service(sess.app, request_id, form.get("question", ""))
    return back("/ui/queue", f"Request {request_id} waits for the requester's answer.")


@router.post("/ui/queue/{request_id}/clear")
async def clear(request_id: str, request: Request) -> Response:
    from governance.screening_clearance import clear_match

    sess = session(request)
    form = await checked_form(request, sess)
    done = clear_match(sess.app, request_id, [form.get("entry", "")], form.get("reason", ""))
    again = f"; grant(s) reinstated: {', '.join(done['reinstated_grants'])}" if done["reinstated_grants"] else ""
    return back("/ui/queue", f"Match {form.get('entry')} cleared for this list version{again}.")


__all__ = ["router"]
