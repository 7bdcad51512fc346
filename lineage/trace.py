"""Lineage traces computed in the database: upstream or downstream, depth-limited, as of a time.

One recursive CTE walks ``lineage_edges`` through its covering indexes (``ix_lineage_edges_up``
for upstream, ``..._down`` for downstream) on SQLite and PostgreSQL alike; the graph is never
loaded into memory, only the rows of the answer are. ``UNION`` (not ``UNION ALL``) makes each
edge appear once however many paths reach it, so diamonds cost nothing extra and a cycle (which
writers refuse anyway) cannot loop.

Depth counts generations of entities: upstream, an entity's generating activity is at the
entity's depth and the entities it ``used`` one deeper; downstream, an activity that used an
entity is at that entity's depth and what it generated one deeper. ``--depth N`` stops at the
entities N generations away (it does not show how those were made). Agents sit at the depth
of the activity they are associated with.

"As of" a time ``T`` an edge exists when ``valid_from <= T`` and it had not stopped
(``valid_to`` unset or later than ``T``); nodes keep their rows after deletion, so a trace
as of a time before a deletion shows the artifact as it was then.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import BigInteger, Connection, DateTime, Integer, bindparam, select, text

from lineage import schema
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError, NotFoundError

TRACE_SCHEMA = "qgov.trace/v1"
Direction = Literal["upstream", "downstream"]
# Relations whose far end is an entity one generation further from the root.
_ONE_FURTHER = {"upstream": ("used", "wasDerivedFrom"), "downstream": ("wasGeneratedBy", "wasDerivedFrom")}
_VALID_AT = "e.valid_from <= :t AND (e.valid_to IS NULL OR e.valid_to > :t)"
_CHUNK = 5000


class TraceNode(NamedTuple):  # NamedTuples: built per row, ~5x cheaper than frozen dataclasses
    id: str
    kind: str
    type: str
    name: str
    created_at: datetime | None
    invalidated_at: datetime | None
    depth: int
    attributes: dict[str, Any] = {}  # never mutated: a NamedTuple default is shared

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "type": self.type,
            "name": self.name,
            "depth": self.depth,
            "attributes": self.attributes,
        }
        if self.created_at is not None:
            doc["created_at"] = iso_utc(self.created_at)
        if self.invalidated_at is not None:
            doc["invalidated_at"] = iso_utc(self.invalidated_at)
        return doc


class TraceEdge(NamedTuple):
    child: str
    parent: str
    relation: str
    activity: str
    valid_from: datetime
    valid_to: datetime | None
    event_seq: int

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "child": self.child,
            "parent": self.parent,
            "relation": self.relation,
            "activity": self.activity,
            "valid_from": iso_utc(self.valid_from),
            "event_seq": self.event_seq,
        }
        if self.valid_to is not None:
            doc["valid_to"] = iso_utc(self.valid_to)
        return doc


@dataclass(frozen=True)
class Trace:
    root: str
    direction: Direction
    depth: int | None
    as_of: datetime
    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": TRACE_SCHEMA,
            "root": self.root,
            "direction": self.direction,
            "depth": self.depth,
            "as_of": iso_utc(self.as_of),
            "nodes": [n.to_json() for n in self.nodes],
            "edges": [e.to_json() for e in self.edges],
        }


_NODE_COLUMNS = "n.kind, n.type, n.name, n.attributes, n.created_at, n.invalidated_at"


def _walk_sql(direction: Direction, limited: bool) -> str:
    """One statement: the walk, then each edge found with the node at its far end."""
    near, far = ("child_id", "parent_id") if direction == "upstream" else ("parent_id", "child_id")
    if not limited:
        return f"""
        WITH RECURSIVE r(id, node) AS (
            SELECT e.id, e.{far} FROM lineage_edges e WHERE e.{near} = :root AND {_VALID_AT}
            UNION
            SELECT e.id, e.{far} FROM r JOIN lineage_edges e ON e.{near} = r.node WHERE {_VALID_AT}
        )
        SELECT e.id, e.child_id, e.parent_id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq,
               {_NODE_COLUMNS}
        FROM r JOIN lineage_edges e ON e.id = r.id LEFT JOIN lineage_nodes n ON n.id = e.{far}
        """
    step = f"CASE WHEN e.relation IN ('{_ONE_FURTHER[direction][0]}', 'wasDerivedFrom') THEN 1 ELSE 0 END"
    return f"""
    WITH RECURSIVE r(id, node, d) AS (
        SELECT e.id, e.{far}, {step} FROM lineage_edges e WHERE e.{near} = :root AND {_VALID_AT}
        UNION
        SELECT e.id, e.{far}, r.d + {step} FROM r JOIN lineage_edges e ON e.{near} = r.node
        WHERE {_VALID_AT} AND r.d < :depth
    )
    SELECT e.id, e.child_id, e.parent_id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq,
           {_NODE_COLUMNS}
    FROM lineage_edges e LEFT JOIN lineage_nodes n ON n.id = e.{far}
    WHERE e.id IN (SELECT DISTINCT id FROM r)
    """


# Times and JSON come back raw (text on SQLite, values on PostgreSQL) and are converted by
# _time/_json: SQLAlchemy's per-row processors cost more than the recursive walk itself.
_STATEMENTS = {
    (direction, limited): text(_walk_sql(direction, limited))
    .bindparams(bindparam("t", type_=DateTime(timezone=True)))
    .columns(id=Integer(), event_seq=BigInteger())
    for direction in ("upstream", "downstream")
    for limited in (False, True)
}
_ASSOCIATIONS = (
    text(
        f"""
    SELECT e.id, e.child_id, e.parent_id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq,
           {_NODE_COLUMNS}
    FROM lineage_edges e LEFT JOIN lineage_nodes n ON n.id = e.parent_id
    WHERE e.child_id IN :ids AND e.relation = 'wasAssociatedWith' AND {_VALID_AT}
    """
    )
    .bindparams(bindparam("t", type_=DateTime(timezone=True)), bindparam("ids", expanding=True))
    .columns(id=Integer(), event_seq=BigInteger())
)


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)  # SQLite keeps naive UTC text
    return as_utc(value)


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value)) if isinstance(value, str | bytes) else dict(value or {})


def trace(
    conn: Connection,
    root: str,
    direction: Direction = "upstream",
    depth: int | None = None,
    as_of: datetime | None = None,
) -> Trace:
    """The lineage of ``root`` as it stood at ``as_of`` (default: now)."""
    if direction not in ("upstream", "downstream"):
        raise InputError(f"direction: expected 'upstream' or 'downstream', got {direction!r}")
    if depth is not None and depth < 0:
        raise InputError(f"--depth: expected a whole number of generations >= 0, got {depth}")
    at = as_utc(as_of) if as_of is not None else datetime.now(UTC)
    root_row = conn.execute(select(schema.nodes).where(schema.nodes.c.id == root)).first()
    if root_row is None:
        raise NotFoundError(f"no lineage node {root!r} (an artifact, activity or agent id)")
    if as_utc(root_row.created_at) > at:
        raise NotFoundError(f"{root!r} did not exist yet at {iso_utc(at)} (recorded {iso_utc(root_row.created_at)})")
    params: dict[str, Any] = {"root": root, "t": at}
    if depth is not None:
        params["depth"] = depth
    rows = conn.execute(_STATEMENTS[(direction, depth is not None)], params).all() if depth != 0 else []
    node_depth = _generations(root, rows, direction)
    far_end = "parent_id" if direction == "upstream" else "child_id"
    found = [(r, getattr(r, far_end)) for r in rows]
    if direction == "downstream":  # who carried out the activities found (upstream reaches them itself)
        ids = sorted(node_depth)
        for start in range(0, len(ids), _CHUNK):
            for r in conn.execute(_ASSOCIATIONS, {"ids": ids[start : start + _CHUNK], "t": at}):
                node_depth.setdefault(r.parent_id, node_depth[r.child_id])
                found.append((r, r.parent_id))
    nodes = {root: _node(root, root_row, 0, at)}
    edges: dict[int, TraceEdge] = {}
    for r, node_id in found:
        if node_id not in nodes:
            nodes[node_id] = _node(node_id, r, node_depth[node_id], at)
        edges[r.id] = TraceEdge(
            child=r.child_id,
            parent=r.parent_id,
            relation=r.relation,
            activity=r.activity,
            valid_from=_time(r.valid_from) or at,
            valid_to=_time(r.valid_to),
            event_seq=int(r.event_seq),
        )
    return Trace(
        root=root,
        direction=direction,
        depth=depth,
        as_of=at,
        nodes=tuple(sorted(nodes.values(), key=lambda n: (n.depth, n.kind, n.name, n.id))),
        edges=tuple(edges[k] for k in sorted(edges, key=lambda k: (edges[k].event_seq, k))),
    )


def _node(node_id: str, row: Any, depth: int, at: datetime) -> TraceNode:
    if row.kind is None:  # an id an edge names but no node row describes
        return TraceNode(node_id, "unknown", "unknown", node_id, None, None, depth)
    gone = _time(row.invalidated_at)
    return TraceNode(
        id=node_id,
        kind=row.kind,
        type=row.type,
        name=row.name,
        created_at=_time(row.created_at),
        # as of a time before its deletion, an artifact is shown as it was then
        invalidated_at=gone if gone is not None and gone <= at else None,
        depth=depth,
        attributes=_json(row.attributes),
    )


def _generations(root: str, rows: Sequence[Any], direction: Direction) -> dict[str, int]:
    """Fewest generations from ``root`` to each node over the answer's edges (0-1 BFS)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        near, far = (r.child_id, r.parent_id) if direction == "upstream" else (r.parent_id, r.child_id)
        out.setdefault(near, []).append((far, 1 if r.relation in _ONE_FURTHER[direction] else 0))
    best = {root: 0}
    queue: deque[str] = deque([root])
    while queue:
        node = queue.popleft()
        for far, step in out.get(node, ()):
            d = best[node] + step
            if d < best.get(far, d + 1):
                best[far] = d
                if step:
                    queue.append(far)
                else:
                    queue.appendleft(far)
    return best


__all__ = ["TRACE_SCHEMA", "Direction", "Trace", "TraceEdge", "TraceNode", "trace"]
