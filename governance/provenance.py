"""Provenance service: traces with names and classifications as they stood, retractions.

A trace comes from ``lineage.trace`` (a recursive query in the database); this module adds
what the lineage core must not know: people's names (kept erasable outside the graph) and
each artifact's effective classification *at the trace's time*, read from the
``artifact.classified`` events of the hash-chained log rather than from the catalog's
current state, so a trace as of last March shows last March's answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_dataset
from governance.classification import Change, Classifier
from governance.db import snapshot, transaction
from governance.ids import resolve, resolve_all
from lineage import EventLog, NewEvent, schema
from lineage.trace import Direction, trace
from qgov.canonical import iso_utc
from qgov.chunks import chunked
from qgov.errors import InputError, NotFoundError

_CHUNK = 5000
_UNCONTROLLED = {"EAR99", "NOT_SUBJECT"}


def trace_lineage(
    app: App, node_id: str, direction: Direction = "upstream", depth: int | None = None, as_of: datetime | None = None
) -> dict[str, Any]:
    """The ``qgov.trace/v1`` document for ``node_id`` (see ``lineage.trace``)."""
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "catalog.read")
        found = trace(conn, resolve(conn, "node", node_id), direction, depth, as_of)
        doc = found.to_json()
        people = [n["id"] for n in doc["nodes"] if n["type"] == "person"]
        names = EventLog(conn).actor_names(people)
        artifacts = [n["id"] for n in doc["nodes"] if n["type"] == "artifact"]
        classes = classifications_at(conn, artifacts, found.as_of)
    for node in doc["nodes"]:
        if node["type"] == "person":
            node["name"] = names.get(node["id"], "[unknown]")
        if node["id"] in classes:
            node["classification"] = classes[node["id"]]
    return doc


def classifications_at(conn: Connection, artifact_ids: Sequence[str], at: datetime) -> dict[str, dict[str, Any]]:
    """Each artifact's effective classification as the log recorded it at ``at``."""
    e, s = schema.events, schema.event_subjects
    out: dict[str, dict[str, Any]] = {}
    ids = sorted(set(artifact_ids))
    for chunk in chunked(ids, _CHUNK):
        query = (
            select(s.c.subject_id, e.c.payload, e.c.occurred_at)
            .join(e, e.c.seq == s.c.seq)
            .where(
                s.c.subject_id.in_(chunk),
                e.c.type == "artifact.classified",
                e.c.occurred_at <= at,
            )
            .order_by(s.c.seq)
        )
        for row in conn.execute(query):
            p = row.payload
            klass = p.get("classification")
            out[row.subject_id] = {
                "classification": klass,
                "controlled": None if klass in (None, "INCOMPLETE") else klass not in _UNCONTROLLED,
                "basis": p.get("basis"),
                "rules": list(p.get("rules", [])),
                "policy_version": p.get("policy_version"),
                "decision_id": p.get("decision_id"),
                "decided_at": iso_utc(row.occurred_at),
            }
    return {k: {f: v for f, v in c.items() if v is not None} for k, c in out.items()}


def dataset_for_record(app: App, used: Sequence[str], dataset: str | None) -> str:
    """Check a derivation's inputs before anything is ingested; the dataset its outputs go to."""
    if not used:
        raise InputError("--used: a derivation needs at least one input artifact")
    with app.engine.connect() as conn:
        used = resolve_all(conn, "artifact", list(used))
        rows = conn.execute(
            select(t.artifacts.c.id, t.datasets.c.name)
            .join(t.datasets, t.datasets.c.id == t.artifacts.c.dataset_id)
            .where(t.artifacts.c.id.in_(list(used)))
        ).all()
        found = {r.id: r.name for r in rows}
        for artifact in used:
            if artifact not in found:
                raise NotFoundError(f"--used {artifact}: no such artifact")
        if dataset is not None:
            get_dataset(conn, dataset)
            return dataset
    return found[used[0]]


def retract(app: App, activity_id: str, reason: str) -> list[Change]:
    """An officer withdraws a recorded derivation: its edges stop being true from now on.

    The edges are not deleted: a trace as of an earlier time still shows them. The outputs
    are reclassified without the inputs they no longer derive from.
    """
    if not reason.strip():
        raise InputError("--reason: a retraction needs a reason (it is part of the record)")
    edges = schema.edges
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        authorize(conn, app.user, "lineage.retract")
        activity_id = resolve(conn, "node", activity_id)
        node = conn.execute(select(schema.nodes).where(schema.nodes.c.id == activity_id)).first()
        if node is None or node.kind != "activity" or node.type not in {"derivation", "dvc_stage"}:
            raise NotFoundError(f"no recorded derivation or DVC stage {activity_id!r}")
        named = schema.edges_by_id()
        live = conn.execute(
            select(named.c.id, named.c.child_id, named.c.relation).where(
                (named.c.child_id == activity_id) | (named.c.parent_id == activity_id), named.c.valid_to.is_(None)
            )
        ).all()
        if not live:
            raise InputError(f"activity {activity_id} was already retracted")
        outputs = sorted({r.child_id for r in live if r.relation == "wasGeneratedBy"})
        stored = log.append(
            NewEvent(
                "lineage.retracted",
                app.user,
                subjects=[activity_id, *outputs],
                payload={"activity": activity_id, "name": node.name, "reason": reason, "edges": len(live)},
            )
        )
        conn.execute(update(edges).where(edges.c.id.in_([r.id for r in live])).values(valid_to=stored.body.occurred_at))
        return Classifier(app, conn).refresh(outputs, f"derivation {node.name} retracted")


__all__ = ["classifications_at", "dataset_for_record", "retract", "trace_lineage"]
