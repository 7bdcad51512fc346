"""Researcher pages: my requests and grants, a request form with a decision preview, downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from governance.web._base import back, checked_form, render, session
from qgov.errors import AccessDenied, InputError

router = APIRouter(include_in_schema=False)


@router.get("/ui/my")
def my_requests(request: Request, notice: str = "") -> Response:
    from governance.compliance.violations import list_violations
    from governance.notifications import my_notifications
    from governance.self_service import my_requests as service

    sess = session(request)
    doc, news, violations = service(sess.app), my_notifications(sess.app), list_violations(sess.app, mine=True)
    return render(
        request, "my.html.j2", sess, title="My requests", notice=notice, doc=doc, news=news, violations=violations
    )


@router.post("/ui/my/{request_id}/answer")
async def answer(request_id: str, request: Request) -> Response:
    from governance.info_requests import answer as service

    sess = session(request)
    form = await checked_form(request, sess)
    service(sess.app, request_id, form.get("text", ""))
    return back("/ui/my", f"Answer sent: request {request_id} is back in the review queue.")


def _request_form(values: dict[str, str]) -> dict[str, Any]:
    days = values.get("days", "30").strip() or "30"
    if not days.isdigit() or not 1 <= int(days) <= 3650:
        raise InputError(f"days: expected a whole number from 1 to 3650, got {days!r}")
    destination = values.get("destination", "US").strip().upper()
    if len(destination) != 2 or not destination.isalpha():
        raise InputError(f"destination: expected a two-letter country code, got {destination!r}")
    purpose = values.get("purpose", "").strip()
    if not purpose:
        raise InputError("purpose: say what the data is for (the officer reads it)")
    artifact = values.get("artifact", "").strip()
    if not artifact:
        raise InputError("artifact: choose an artifact")
    return {"artifact": artifact, "purpose": purpose, "destination": destination, "days": int(days)}


def _page(request: Request, sess: Any, form: dict[str, Any], preview: Any = None, notice: str = "") -> Response:
    from governance.catalog import list_artifacts

    artifacts = [
        {
            "id": a.id,
            "dataset": a.dataset,
            "path": a.path,
            "classification": a.effective_classification().get("classification"),
        }
        for a in list_artifacts(sess.app)
    ]
    return render(
        request,
        "request.html.j2",
        sess,
        title="Ask for data",
        notice=notice,
        artifacts=artifacts,
        form=form,
        preview=preview,
    )


@router.get("/ui/request")
def request_form(request: Request, artifact: str = "", notice: str = "") -> Response:
    sess = session(request)
    return _page(request, sess, {"artifact": artifact, "purpose": "", "destination": "US", "days": 30}, notice=notice)


@router.post("/ui/request")
async def submit_request(request: Request) -> Response:
    from governance.requests import request_access
    from governance.self_service import preview_request

    sess = session(request)
    form = _request_form(await checked_form(request, sess))
    if (await request.form()).get("action") == "preview":
        preview = preview_request(sess.app, [form["artifact"]], form["purpose"], form["destination"])
        return _page(request, sess, form, preview)
    done = request_access(sess.app, [form["artifact"]], form["purpose"], form["days"], form["destination"])
    words = {
        "granted": "granted at once",
        "queued": "queued for an officer's review",
        "denied": "refused by the policy",
    }
    return back("/ui/my", f"Request {done['request']} {words[done['status']]}.")


@router.get("/ui/fetch/{artifact_id}")
def fetch(artifact_id: str, request: Request) -> Response:
    """The verified plaintext under a valid grant (the access is logged before a byte leaves);
    otherwise a page saying why not: pending, suspended, revoked, expired or never asked."""
    from governance.api.app import _b64, _guarded
    from governance.content import open_content
    from governance.self_service import why_not_fetchable

    sess = session(request)
    try:
        opened = open_content(sess.app, artifact_id, channel="web")
    except AccessDenied as exc:
        why = why_not_fetchable(sess.app, artifact_id)
        raise AccessDenied(f"you may not download {artifact_id}: {why or exc.diagnostics()}") from None
    art = opened.artifact
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in art.path.rsplit("/", 1)[-1]) or "artifact"
    return StreamingResponse(
        _guarded(opened.chunks),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(art.size),
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Repr-Digest": f"sha-256=:{_b64(art.sha256)}:",
            "Cache-Control": "no-store",
        },
    )


__all__ = ["router"]
