"""Auditor pages: event search, checkpoints and verification, the lineage graph, downloads."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import checked_form, render, session
from qgov.errors import InputError

router = APIRouter(include_in_schema=False)


def _moment(text: str, field: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{field}: expected a date and time like 2026-12-01T09:00, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/ui/events")
def events(
    request: Request, type: str = "", actor: str = "", subject: str = "", since: str = "", until: str = ""
) -> Response:  # noqa: A002 - the query parameter's name
    from governance.event_search import event_types, search_events

    sess = session(request)
    found = search_events(
        sess.app, type.strip(), actor.strip(), subject.strip(), _moment(since, "since"), _moment(until, "until")
    )
    form = {"type": type, "actor": actor, "subject": subject, "since": since, "until": until}
    return render(
        request, "events.html.j2", sess, title="Events", notice="", events=found, types=event_types(sess.app), form=form
    )


@router.get("/ui/checkpoints")
def checkpoints(request: Request) -> Response:
    from governance.event_search import list_checkpoints

    sess = session(request)
    return render(
        request,
        "checkpoints.html.j2",
        sess,
        title="Checkpoints",
        notice="",
        rows=list_checkpoints(sess.app),
        verdict=None,
    )


@router.post("/ui/checkpoints/verify")
async def verify(request: Request) -> Response:
    from governance.audit import verify_log
    from governance.event_search import list_checkpoints

    sess = session(request)
    await checked_form(request, sess)
    report = verify_log(sess.app)
    problems = [
        p
        for p in (
            report.chain.problem,
            report.checkpoints.problem,
            report.unsigned_problem,
            *(c.problem for c in (report.witness, report.since) if c is not None),
            *(d.line() for d in report.tables),
        )
        if p
    ]
    verdict = {
        "ok": report.ok,
        "events": report.chain.events_checked,
        "head": report.chain.head_hash,
        "checkpoints": report.checkpoints.checkpoints_checked,
        "latest": report.checkpoints.latest_size,
        "problems": problems,
    }
    rows = list_checkpoints(sess.app)
    return render(request, "checkpoints.html.j2", sess, title="Checkpoints", notice="", rows=rows, verdict=verdict)


def _trace(sess_app: object, node: str, direction: str, as_of: str) -> dict:  # type: ignore[type-arg]
    from governance.disclosure import Disclosure
    from governance.provenance import trace_lineage

    if direction not in ("upstream", "downstream"):
        raise InputError(f"direction: expected upstream or downstream, got {direction!r}")
    doc = trace_lineage(sess_app, node.strip(), direction, None, _moment(as_of, "as_of"))  # type: ignore[arg-type]
    return Disclosure(sess_app).redact(doc)  # type: ignore[arg-type, no-any-return]


@router.get("/ui/lineage")
def lineage(
    request: Request, node: str = "", direction: str = "upstream", as_of: str = "", agents: str = "", zoom: int = 100
) -> Response:
    from governance.catalog import list_artifacts
    from governance.web.graph import graph_view

    sess = session(request)
    form = {"node": node, "direction": direction, "as_of": as_of, "agents": agents, "zoom": zoom}
    if not node.strip():
        recent = list_artifacts(sess.app)[-25:]
        return render(request, "lineage.html.j2", sess, title="Lineage", notice="", form=form, view=None, recent=recent)
    view = graph_view(_trace(sess.app, node, direction, as_of), agents == "show", zoom, f"Lineage graph of {node}")
    return render(request, "lineage.html.j2", sess, title="Lineage", notice="", form=form, view=view, recent=[])


@router.get("/ui/lineage/export")
def export(
    request: Request, node: str, format: str = "prov-json", direction: str = "upstream", as_of: str = ""
) -> Response:  # noqa: A002
    from lineage.export import openlineage_json, prov_json

    sess = session(request)
    doc = _trace(sess.app, node, direction, as_of)
    if format == "prov-json":
        body, kind, name = prov_json(doc) + "\n", "application/json", "prov.json"
    elif format == "openlineage":
        body = openlineage_json(doc, producer="https://qgov.dev/qgov", namespace=f"qgov://{sess.app.signer.name}")
        kind, name = "application/x-ndjson", "openlineage.ndjson"
    else:
        raise InputError(f"format: expected prov-json or openlineage, got {format!r}")
    return Response(body, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/ui/report")
def report(request: Request, node: str) -> Response:
    """The audit report of one output (``qgov audit report``), as a download."""
    from governance.audit_report import build_report
    from governance.disclosure import Disclosure
    from governance.report import render_report

    sess = session(request)
    html = render_report(Disclosure(sess.app).redact(build_report(sess.app, node.strip())))
    return Response(
        html, media_type="text/html", headers={"Content-Disposition": 'attachment; filename="audit-report.html"'}
    )


__all__ = ["router"]
