"""Retention and legal holds: how long each artifact is kept, and what may not be deleted.

``retention_of`` applies the bundle's schedules (``policies.retention``) to an artifact: its
class (controlled, not controlled, unknown), its creation, and the grants it was released
under (export records: five years after a grant ends, 15 CFR 762.6).

A legal hold is placed on an artifact, a dataset or a person. It covers its target **and
everything upstream of it in the lineage**: the evidence an output rests on cannot be deleted
while the output is held. Coverage is computed when asked (a downstream trace in the database),
so a derivation recorded after the hold is covered too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_artifact, get_dataset
from governance.classification import JURISDICTION
from governance.db import transaction
from governance.ids import resolve
from lineage import EventLog, NewEvent, schema
from lineage.trace import trace
from policies.retention import RetentionPolicy, retention
from qgov.canonical import as_utc, iso_utc
from qgov.chunks import chunked
from qgov.errors import InputError, NotFoundError, PolicyError

HOLD_ROLES = {"export_control_officer", "admin"}
_CHUNK = 2000


def _policy(app: App) -> RetentionPolicy:
    policy = app.policies.get(JURISDICTION).require_access().retention
    if policy is None:
        raise PolicyError(f"jurisdiction {JURISDICTION}: its bundle has no retention section")
    return policy


def downstream_artifacts(conn: Connection, artifact_id: str) -> list[str]:
    """The artifact and every artifact derived from it, as the lineage stands now."""
    try:
        found = trace(conn, artifact_id, "downstream")
    except NotFoundError:  # an artifact with no lineage node has nothing derived from it
        return [artifact_id]
    return sorted({n.id for n in found.nodes if n.type == "artifact"} | {artifact_id})


def holds_covering(conn: Connection, artifact_id: str) -> list[dict[str, Any]]:
    """Holds in force on the artifact, on anything derived from it, on their datasets, or on a
    person who recorded, ingested, derived, requested or fetched any of them."""
    ids = downstream_artifacts(conn, artifact_id)
    datasets: set[str] = set()
    refs: set[str] = set()
    for chunk in chunked(ids, _CHUNK):
        datasets |= {
            r.dataset_id for r in conn.execute(select(t.artifacts.c.dataset_id).where(t.artifacts.c.id.in_(chunk)))
        }
        refs |= {
            r.actor_ref
            for r in conn.execute(
                select(schema.events.c.actor_ref)
                .join(schema.event_subjects, schema.event_subjects.c.seq == schema.events.c.seq)
                .where(schema.event_subjects.c.subject_id.in_(chunk))
                .distinct()
            )
        }
    names = set(EventLog(conn).actor_names(sorted(refs)).values()) - {"[erased]"}
    h = t.legal_holds
    rows = conn.execute(
        select(h)
        .where(
            h.c.released_at.is_(None),
            or_(
                (h.c.scope == "artifact") & h.c.target.in_(ids),
                (h.c.scope == "dataset") & h.c.target.in_(sorted(datasets)),
                (h.c.scope == "person") & h.c.target.in_(sorted(names)),
            ),
        )
        .order_by(h.c.placed_at)
    ).all()
    return [_hold_json(r, artifact_id) for r in rows]


def _hold_json(row: Any, held_artifact: str | None = None) -> dict[str, Any]:
    doc = {
        "hold": row.id,
        "scope": row.scope,
        "target": row.target,
        "reason": row.reason,
        "placed_by": row.placed_by,
        "placed_at": iso_utc(row.placed_at),
    }
    if row.released_at is not None:
        doc |= {"released_at": iso_utc(row.released_at), "released_by": row.released_by}
    if held_artifact is not None and row.scope == "artifact" and row.target != held_artifact:
        doc["via"] = "a held output derived from this artifact"
    return doc


def _upstream_alive(conn: Connection, target: str, scope: str) -> list[str]:
    """Artifacts a new hold covers now (its target and everything upstream), not yet deleted."""
    if scope == "person":
        return []
    roots = (
        [target]
        if scope == "artifact"
        else [r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.dataset_id == target))]
    )
    found: set[str] = set(roots)
    for root in roots:
        try:
            found |= {n.id for n in trace(conn, root, "upstream").nodes if n.type == "artifact"}
        except NotFoundError:
            continue
    alive = conn.execute(
        select(t.artifacts.c.id).where(t.artifacts.c.id.in_(sorted(found)), t.artifacts.c.deleted_at.is_(None))
    )
    return sorted(r.id for r in alive)


def retention_of(app: App, artifact: str, at: datetime | None = None) -> dict[str, Any]:
    """Retention date and action for one artifact, and the holds that keep it regardless."""
    at = at or datetime.now(UTC)
    policy = _policy(app)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        art = get_artifact(conn, artifact)
        # only the grants whose access.granted event names this artifact (indexed), not every grant
        s, e = schema.event_subjects, schema.events
        about = select(s.c.seq).where(s.c.subject_id == art.id)
        granted = (
            select(s.c.subject_id).join(e, e.c.seq == s.c.seq).where(e.c.type == "access.granted", s.c.seq.in_(about))
        )
        grants = conn.execute(
            select(t.grants.c.expires_at, t.grants.c.revoked_at, t.grants.c.artifacts).where(t.grants.c.id.in_(granted))
        ).all()
        ends = [
            as_utc(min(g.expires_at, g.revoked_at) if g.revoked_at else g.expires_at)
            for g in grants
            if art.id in (g.artifacts or [])
        ]
        holds = holds_covering(conn, art.id)
    decision = retention(policy, as_utc(art.created_at), art.controlled, ends)
    return {
        "artifact": art.id,
        "path": art.path,
        "dataset": art.dataset,
        "classification": art.classification,
        "created_at": iso_utc(art.created_at),
        **decision.to_json(),
        "due": decision.keep_until <= at and not holds,
        "holds": holds,
    }


def place_hold(
    app: App, reason: str, artifact: str | None = None, dataset: str | None = None, person: str | None = None
) -> dict[str, Any]:
    """An officer or admin places a legal hold on exactly one of an artifact, a dataset or a person."""
    given = [(k, v) for k, v in (("artifact", artifact), ("dataset", dataset), ("person", person)) if v]
    if len(given) != 1:
        raise InputError("hold: name exactly one of --artifact ID, --dataset NAME or --person NAME")
    if not reason.strip():
        raise InputError("--reason: a legal hold needs a reason (it is part of the record)")
    scope, value = given[0]
    hold_id = str(uuid.uuid4())
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()  # a hold and a deletion of the same lineage are serialised on the log's head
        now = datetime.now(UTC)  # read under the lock, so times follow the log's order
        authorize(conn, app.user, "hold.manage")
        if scope == "artifact":
            target = get_artifact(conn, value).id
            subject = target
        elif scope == "dataset":
            target = get_dataset(conn, value).id
            subject = target
        else:
            if conn.execute(select(t.people.c.name).where(t.people.c.name == value)).first() is None:
                raise NotFoundError(f"--person {value}: not a registered person")
            target, subject = value, log.actor_ref(value)  # the name stays out of the hashed event
        covered = _upstream_alive(conn, target, scope)
        conn.execute(
            insert(t.legal_holds).values(
                id=hold_id, scope=scope, target=target, reason=reason, placed_by=app.user, placed_at=now
            )
        )
        log.append(
            NewEvent(
                "hold.placed",
                app.user,
                [hold_id, subject],
                # what the hold covers as it is placed: never an artifact already deleted
                {"hold": hold_id, "scope": scope, "target": subject, "reason": reason, "covers": covered},
                now,
            )
        )
        row = conn.execute(select(t.legal_holds).where(t.legal_holds.c.id == hold_id)).one()
    return _hold_json(row) | {"covers": covered}


def release_hold(app: App, hold_id: str, reason: str) -> dict[str, Any]:
    if not reason.strip():
        raise InputError("--reason: releasing a legal hold needs a reason (it is part of the record)")
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        now = datetime.now(UTC)  # read under the lock, so times follow the log's order
        authorize(conn, app.user, "hold.manage")
        hold_id = resolve(conn, "hold", hold_id)
        row = conn.execute(select(t.legal_holds).where(t.legal_holds.c.id == hold_id)).first()
        if row is None:
            raise NotFoundError(f"no legal hold {hold_id!r}")
        if row.released_at is not None:
            raise InputError(f"legal hold {hold_id} was already released on {iso_utc(row.released_at)}")
        conn.execute(
            update(t.legal_holds)
            .where(t.legal_holds.c.id == hold_id)
            .values(released_at=now, released_by=app.user, release_reason=reason)
        )
        log.append(NewEvent("hold.released", app.user, [hold_id], {"hold": hold_id, "reason": reason}, now))
        row = conn.execute(select(t.legal_holds).where(t.legal_holds.c.id == hold_id)).one()
    return _hold_json(row)


def list_holds(app: App, include_released: bool = False) -> list[dict[str, Any]]:
    h = t.legal_holds
    query = select(h).order_by(h.c.placed_at)
    if not include_released:
        query = query.where(h.c.released_at.is_(None))
    with app.engine.connect() as conn:
        authorize(conn, app.user, "audit.read")
        return [_hold_json(r) for r in conn.execute(query)]


__all__ = [
    "downstream_artifacts",
    "holds_covering",
    "list_holds",
    "place_hold",
    "release_hold",
    "retention_of",
]
