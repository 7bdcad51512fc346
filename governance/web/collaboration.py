"""The collaboration check page: people × artifacts → what-if outcomes, as a table or CSV."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import Session, checked_form, render, session

router = APIRouter(include_in_schema=False)


def _page(request: Request, sess: Session, people: str, chosen: list[str], doc: Any = None) -> Response:
    from governance.catalog import list_artifacts

    artifacts = [{"id": a.id, "name": f"{a.dataset}/{a.path}"} for a in list_artifacts(sess.app)]
    return render(
        request,
        "collaboration.html.j2",
        sess,
        title="Collaboration check",
        notice="",
        people=people,
        chosen=chosen,
        artifacts=artifacts,
        doc=doc,
    )


@router.get("/ui/collaboration")
def collaboration_form(request: Request) -> Response:
    return _page(request, session(request), "", [])


@router.post("/ui/collaboration")
async def collaboration(request: Request) -> Response:
    from governance.collaboration import collaboration_matrix, matrix_csv, parse_people

    sess = session(request)
    values = await checked_form(request, sess)
    chosen = [str(a) for a in (await request.form()).getlist("artifacts")]
    doc = collaboration_matrix(sess.app, parse_people(values.get("people", "")), chosen)
    if values.get("action") == "csv":
        return Response(
            matrix_csv(doc),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="collaboration-check.csv"',
                "Cache-Control": "no-store",
            },
        )
    return _page(request, sess, values.get("people", ""), chosen, doc)


__all__ = ["router"]
