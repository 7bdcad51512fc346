"""Data manager pages: datasets and their artifacts, the quarantine with validation reports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.capabilities import allowed
from governance.web._base import render, session

router = APIRouter(include_in_schema=False)


@router.get("/ui/datasets")
def datasets(request: Request, notice: str = "") -> Response:
    from governance.catalog import list_datasets

    sess = session(request)
    rows = [{"dataset": d, "artifacts": n, "bytes": size} for d, n, size in list_datasets(sess.app)]
    can = allowed(sess.who.roles, "dataset.register")
    return render(request, "datasets.html.j2", sess, title="Datasets", notice=notice, rows=rows, can_register=can)


@router.get("/ui/datasets/{name}")
def dataset(name: str, request: Request, notice: str = "") -> Response:
    from governance.catalog import find_dataset, list_artifacts

    sess = session(request)
    found = find_dataset(sess.app, name)
    artifacts = list_artifacts(sess.app, name)
    from governance.web.manage import budget_of

    return render(
        request,
        "dataset.html.j2",
        sess,
        title=f"Dataset {name}",
        notice=notice,
        ds=found,
        artifacts=artifacts,
        run=None,
        budget=budget_of(sess, name),
        can_ingest=allowed(sess.who.roles, "dataset.ingest"),
    )


@router.get("/ui/quarantine")
def quarantine(request: Request) -> Response:
    from governance.catalog import list_quarantine

    sess = session(request)
    return render(request, "quarantine.html.j2", sess, title="Quarantine", notice="", rows=list_quarantine(sess.app))


__all__ = ["router"]
