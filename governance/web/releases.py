"""A statistic instead of the data: a differentially private release, previewed first.

The form posts to ``governance.releases.request_release`` as ``qgov release`` does; the
preview button is ``qgov release --preview``: the accuracy from public parameters only,
with nothing read, spent or recorded."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import Session, checked_form, render, session
from qgov.errors import InputError

router = APIRouter(include_in_schema=False)
ACCURACY_KEYS = ("plus_minus", "per_category_plus_minus", "sum_plus_minus", "count_plus_minus", "rank_plus_minus")


def _form(values: dict[str, str]) -> dict[str, Any]:
    from governance.dp import STATS

    stat = values.get("stat", "mean")
    if stat not in STATS:
        raise InputError(f"stat: expected one of {', '.join(STATS)}, got {stat!r}")
    form: dict[str, Any] = {
        "dataset": values.get("dataset", "").strip(),
        "stat": stat,
        "column": values.get("column", "").strip(),
        "epsilon": values.get("epsilon", "").strip() or "0.3",
        "purpose": values.get("purpose", "").strip(),
        "quantile": values.get("quantile", "").strip(),
        "size": values.get("size", "").strip(),
    }
    if not form["dataset"]:
        raise InputError("dataset: choose a dataset with a privacy profile")
    if not form["column"]:
        raise InputError("column: name a column declared in the dataset's privacy profile")
    for key, kind, expected in (
        ("quantile", float, "a number between 0 and 1"),
        ("size", int, "a whole number of rows"),
    ):
        if form[key]:
            try:
                form[key] = kind(form[key])
            except ValueError:
                raise InputError(f"{key}: expected {expected}, got {form[key]!r}") from None
        else:
            form[key] = None
    return form


def _page(request: Request, sess: Session, form: dict[str, Any], answer: Any = None) -> Response:
    from governance.catalog import list_datasets

    names = [d.name for d, _n, _b in list_datasets(sess.app)]
    figures = (
        [(k.replace("_", " "), answer["accuracy"][k]) for k in ACCURACY_KEYS if k in answer.get("accuracy", {})]
        if answer
        else []
    )
    return render(
        request,
        "release.html.j2",
        sess,
        title="Ask for a statistic",
        notice="",
        names=names,
        form=form,
        answer=answer,
        figures=figures,
    )


@router.get("/ui/release")
def release_form(request: Request, dataset: str = "") -> Response:
    sess = session(request)
    blank = {"dataset": dataset, "stat": "mean", "column": "", "epsilon": "0.3", "purpose": "", "quantile": None}
    return _page(request, sess, blank | {"size": None})


@router.post("/ui/release")
async def release(request: Request) -> Response:
    from governance.releases import request_release

    sess = session(request)
    values = await checked_form(request, sess)
    form = _form(values)
    preview = values.get("action") == "preview"
    if form["size"] is not None and not preview:
        raise InputError("size: an assumed row count is only for the preview")
    answer = request_release(
        sess.app,
        form["dataset"],
        form["stat"],
        form["column"],
        form["epsilon"],
        quantile=form["quantile"],
        purpose=form["purpose"],
        preview=preview,
        size=form["size"],
    )
    return _page(request, sess, form, answer)


__all__ = ["router"]
