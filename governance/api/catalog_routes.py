"""API routes for people, datasets, artifacts, lineage, classification, releases and the
audit log: the rest of the command line's operations, for `qgov.Client` and QGOV_URL.

Each route authenticates (``Who``), calls one service function as the principal and returns
the document the command line prints with ``--json``. Lists are paginated (``limit``,
``offset``; ``items`` with ``total``, or ``next_offset`` for the event log, whose filtered
length is not counted in advance). Errors are the app's problem documents.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from governance.api.app import _ERRORS, API, Who
from governance.app import App
from qgov.canonical import parse_iso

router = APIRouter(prefix=API, responses=_ERRORS)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def _acting(request: Request, who: Any) -> App:
    core: App = request.app.state.core
    return core.acting_for(who.name)


def _page(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
    return {"items": items[offset : offset + limit], "total": len(items), "limit": limit, "offset": offset}


def _when(value: str | None, name: str) -> datetime | None:
    return parse_iso(value, name) if value is not None else None


# -- people -----------------------------------------------------------------------------
@router.get("/people", tags=["people"])
def list_people(request: Request, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Registered people with their facts and roles (admins, officers, auditors)."""
    from governance.people import list_people as service

    return service(_acting(request, who), limit, offset)


@router.get("/people/{name}", tags=["people"])
def show_person(name: str, request: Request, who: Who) -> dict[str, Any]:
    """A person's facts, roles and request/grant summary (one's own, or with person.read)."""
    from governance.people import show_person as service

    return service(_acting(request, who), name)


@router.put("/people/{name}/roles/{role}", tags=["people"])
def grant_role(name: str, role: str, request: Request, who: Who) -> dict[str, Any]:
    """Admins: give a registered person a role."""
    from governance.catalog import grant_role as service

    service(_acting(request, who), name, role)
    return {"person": name, "role": role, "granted": True}


@router.delete("/people/{name}/roles/{role}", tags=["people"])
def revoke_role(name: str, role: str, request: Request, who: Who) -> dict[str, Any]:
    """Admins: take a role away (never the last admin's)."""
    from governance.people import revoke_role as service

    return {"person": name, "role": role, "revoked": service(_acting(request, who), name, role)}


@router.get("/access/mine", tags=["access"])
def my_access(request: Request, who: Who) -> dict[str, Any]:
    """The caller's requests (status, rule, time waited) and grants (what each is worth now)."""
    from governance.grant_status import my_access as service

    return service(_acting(request, who))


# -- datasets and artifacts ------------------------------------------------------------
class DatasetChangesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_type: str | None = None
    params: dict[str, float | int | str | None] = Field(default_factory=dict)
    owner: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=10000)
    expectations: list[dict[str, Any]] | None = None
    research: dict[str, bool | None] = Field(default_factory=dict)


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] = Field(description="The dataset's fields (DESIGN.md DATASET); owner defaults to you.")
    privacy: dict[str, Any] | None = Field(default=None, description="Its privacy profile, if any.")
    source: str = Field(default="dataset", max_length=512, description="Names the spec in error messages.")
    privacy_source: str = Field(default="privacy profile", max_length=512)


@router.post("/datasets", tags=["catalog"], status_code=201)
def register_dataset(body: RegisterIn, request: Request, who: Who) -> dict[str, Any]:
    """Data managers, admins: register a dataset (and its privacy profile); it is classified at once."""
    from governance.catalog_views import register_doc

    return register_doc(_acting(request, who), body.spec, body.privacy, body.source, body.privacy_source)


@router.get("/datasets", tags=["catalog"])
def list_datasets(request: Request, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    from governance.catalog_views import datasets_doc

    return _page(datasets_doc(_acting(request, who)), limit, offset)


@router.get("/datasets/{name}", tags=["catalog"])
def show_dataset(name: str, request: Request, who: Who) -> dict[str, Any]:
    from governance.catalog_views import dataset_doc

    return dataset_doc(_acting(request, who), name)


@router.patch("/datasets/{name}", tags=["catalog"])
def update_dataset(name: str, body: DatasetChangesIn, request: Request, who: Who) -> dict[str, Any]:
    """Correct a dataset: subject and parameters (null removes one), owner, description,
    expectations, research context. Each change is an event; the data is reclassified."""
    from governance.dataset_edit import DatasetChanges
    from governance.dataset_edit import update_dataset as service

    return service(_acting(request, who), name, DatasetChanges(**body.model_dump())).to_json()


@router.get("/artifacts", tags=["catalog"])
def list_artifacts(
    request: Request, who: Who, dataset: str | None = None, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    from governance.catalog_views import artifacts_doc

    return _page(artifacts_doc(_acting(request, who), dataset), limit, offset)


@router.get("/artifacts/{artifact}", tags=["catalog"])
def show_artifact(artifact: str, request: Request, who: Who) -> dict[str, Any]:
    """One artifact: classification and its history, format, source and provenance events."""
    from governance.catalog_views import artifact_doc

    return artifact_doc(_acting(request, who), artifact)


@router.post("/classifications", tags=["catalog"])
def classify(body: dict[str, Any], request: Request, who: Who, jurisdiction: str = "US-EAR") -> dict[str, Any]:
    """What-if: classify an ITEM document against the policy in force; nothing is recorded."""
    from governance.catalog_views import classify_doc

    return classify_doc(_acting(request, who), body, jurisdiction)


@router.get("/lineage/{node_id}", tags=["lineage"])
def trace(
    node_id: str,
    request: Request,
    who: Who,
    direction: Annotated[str, Query(pattern="^(upstream|downstream)$")] = "upstream",
    depth: Annotated[int | None, Query(ge=1, le=1000)] = None,
    as_of: str | None = None,
) -> dict[str, Any]:
    """The ``qgov.trace/v1`` document of a node, upstream or downstream, at a point in time."""
    from governance.operations import trace_doc

    return trace_doc(_acting(request, who), node_id, direction, depth, _when(as_of, "--as-of"))


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    stat: str
    column: str
    epsilon: str
    purpose: str = Field(default="", max_length=2000)
    delta: str = "0"
    mechanism: str | None = None
    quantile: float | None = None
    artifact: str | None = None
    preview: bool = False
    size: int | None = Field(default=None, ge=1)


@router.post("/releases", tags=["privacy"])
def release(body: ReleaseIn, request: Request, who: Who) -> dict[str, Any]:
    """A differentially private statistic instead of the raw data (policy, screening, budget)."""
    from governance.releases import request_release

    b = body
    return request_release(
        _acting(request, who),
        b.dataset,
        b.stat,
        b.column,
        b.epsilon,
        b.delta,
        b.mechanism,
        b.quantile,
        b.purpose,
        b.artifact,
        preview=b.preview,
        size=b.size,
    )


# -- audit --------------------------------------------------------------------------------
@router.post("/audit/verify", tags=["audit"])
def verify(request: Request, who: Who) -> dict[str, Any]:
    """Recompute the hash chain and every signed checkpoint (``ok`` false names the problem)."""
    from governance.audit import verification_document, verify_log

    return verification_document(verify_log(_acting(request, who)))


@router.get("/events", tags=["audit"])
def events(
    request: Request,
    who: Who,
    type: Annotated[list[str] | None, Query()] = None,  # noqa: A002 - the query parameter's public name
    actor: str | None = None,
    subject: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Provenance events, oldest first, by type, actor, subject and time (``until`` exclusive)."""
    from governance.audit import EventFilter
    from governance.catalog_views import events_doc

    where = EventFilter(tuple(type or ()), actor, _when(since, "since"), _when(until, "until"))
    found = events_doc(_acting(request, who), subject, where, offset + limit + 1)
    items = found[offset : offset + limit]
    more = len(found) > offset + limit
    return {"items": items, "limit": limit, "offset": offset, "next_offset": offset + limit if more else None}


@router.get("/checkpoints", tags=["audit"])
def checkpoints(request: Request, who: Who, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Signed checkpoints, newest first, with their sizes and times."""
    from governance.audit import list_checkpoints

    return list_checkpoints(_acting(request, who), limit, offset)


__all__ = ["router"]
