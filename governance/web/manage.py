"""Data manager forms: register a dataset, ingest uploaded files, edit research context and
the privacy profile. Each posts to the same service function as the command line."""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response

from governance.web._base import back, checked_form, checked_uploads, render, session
from qgov.errors import InputError

router = APIRouter(include_in_schema=False)
TRISTATE = {"yes": True, "no": False, "unknown": None}


def _subject(subject_type: str, params: str) -> dict[str, Any]:
    """``KEY=VALUE`` lines (or comma-separated) as the CLI's ``--param``s."""
    from governance.catalog import parse_subject

    items = [p.strip() for line in params.splitlines() for p in line.split(",") if p.strip()]
    return parse_subject(subject_type.strip() or "none", items, "parameters:")


def _research(form: dict[str, str]) -> dict[str, bool | None]:
    from governance.catalog import RESEARCH_FIELDS

    flags: dict[str, bool | None] = {}
    for key in RESEARCH_FIELDS:
        value = form.get(key, "unknown")
        if value not in TRISTATE:
            raise InputError(f"{key}: expected yes, no or unknown, got {value!r}")
        flags[key] = TRISTATE[value]
    return flags


def _yaml(text: str, field: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{field}: not valid YAML ({' '.join(str(exc).split())[:120]})") from None


@router.get("/ui/datasets/new")
def new_dataset(request: Request) -> Response:
    from policies.bundle import SUBJECT_TYPES

    sess = session(request)
    return render(request, "dataset_new.html.j2", sess, title="Register a dataset", notice="", types=SUBJECT_TYPES)


@router.post("/ui/datasets/new")
async def register(request: Request) -> Response:
    from governance.catalog import DatasetSpec, register_dataset
    from governance.privacy import Profile, privacy_policy, set_profile

    sess = session(request)
    form = await checked_form(request, sess)
    data: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "owner": form.get("owner", "").strip() or sess.who.name,
        "description": form.get("description", "").strip(),
        "subject": _subject(form.get("subject_type", "none"), form.get("parameters", "")),
        "research": _research(form),
    }
    if form.get("sponsor", "").strip():
        data["sponsor"] = form["sponsor"].strip()
    if not data["name"]:
        raise InputError("name: a dataset needs a name, e.g. transmon-calibration-2026-03")
    profile = _yaml(form.get("privacy", ""), "privacy profile") if form.get("privacy", "").strip() else None
    if profile is not None:
        Profile.parse(profile, privacy_policy(sess.app), "privacy profile")  # a bad profile registers nothing
    ds = register_dataset(sess.app, DatasetSpec.from_mapping(data, "dataset"))
    if profile is not None:
        set_profile(sess.app, ds.name, profile, "privacy profile")
    return back(f"/ui/datasets/{ds.name}", f"Dataset {ds.name} registered; owner {ds.owner}.")


@router.post("/ui/datasets/{name}/ingest")
async def ingest(name: str, request: Request) -> Response:
    from governance.catalog import find_dataset, list_artifacts
    from governance.ingest_upload import ingest_uploads

    sess = session(request)
    _form, files = await checked_uploads(request, sess, "files")
    if not files:
        raise InputError("files: choose at least one file to ingest")
    result = ingest_uploads(sess.app, name, [(f.filename, f.file) for f in files])
    for f in files:
        await f.close()  # the request's spooled copy goes now, not at the end of the response
    return render(
        request,
        "dataset.html.j2",
        sess,
        title=f"Dataset {name}",
        notice=result.summary() + ".",
        ds=find_dataset(sess.app, name),
        artifacts=list_artifacts(sess.app, name),
        run=result,
        budget=budget_of(sess, name),
        can_ingest=True,
    )


@router.post("/ui/datasets/{name}/research")
async def research(name: str, request: Request) -> Response:
    from governance.classification import set_research

    sess = session(request)
    changes = set_research(sess.app, name, _research(await checked_form(request, sess)))
    moved = f"; {len(changes)} classification(s) changed" if changes else "; no classification changed"
    return back(f"/ui/datasets/{name}", f"Research context of {name} saved{moved}.")


@router.post("/ui/datasets/{name}/privacy")
async def privacy(name: str, request: Request) -> Response:
    from governance.privacy import set_profile

    sess = session(request)
    form = await checked_form(request, sess)
    if not form.get("privacy", "").strip():
        raise InputError("privacy profile: paste the YAML profile (contributions, budget, columns)")
    set_profile(sess.app, name, _yaml(form["privacy"], "privacy profile"), "privacy profile", form.get("reason", ""))
    return back(f"/ui/datasets/{name}", f"Privacy profile of {name} saved.")


def budget_of(sess: Any, name: str) -> dict[str, Any] | None:
    from governance.privacy import budget_show
    from qgov.errors import QgovError

    try:
        return budget_show(sess.app, name)
    except QgovError:
        return None  # no profile declared yet


__all__ = ["router"]
