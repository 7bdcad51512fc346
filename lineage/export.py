"""Standard exports of the provenance store: W3C PROV-JSON, OpenLineage run events, event tables.

A pure module: plain data in, documents out, no database. The inputs are a trace document
(``qgov.trace/v1``, as ``qgov lineage trace --json`` prints it) and the event dicts of
``governance.audit.list_events``. Only :func:`write_events` touches the filesystem.

* :func:`to_prov` / :func:`prov_json` map a trace onto PROV (``lineage._prov`` documents the
  mapping); :func:`trace_header` reads the trace's root, direction, depth and as-of time back
  from a PROV document, so they survive a PROV-JSON round trip.
* :func:`openlineage_events` / :func:`openlineage_json` give one COMPLETE run event per
  activity (``lineage._openlineage``).
* :func:`events_table` / :func:`write_events` give the audit log as an Arrow table, or stream
  it to CSV or Parquet in batches, written to a temporary file and renamed on success.

A trace is read fail-closed: an unknown schema, a relation outside PROV's four, an edge that
names a node the trace does not hold, or a node of the wrong kind for its place in a relation
is an :class:`~qgov.errors.InputError`. A node of kind ``unknown`` (an id an edge names but no
node row describes) takes the kind its relations imply.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from lineage import _openlineage, _prov
from qgov.canonical import canonical_json, parse_iso
from qgov.errors import InputError, StorageError

if TYPE_CHECKING:
    from openlineage.client.event_v2 import RunEvent
    from prov.model import ProvDocument

TRACE_SCHEMA = "qgov.trace/v1"
EVENTS_SCHEMA = "qgov.events/v1"
# Subject -> object kinds of each PROV relation as the store records them (child -> parent).
ROLES: dict[str, tuple[str, str]] = {
    "used": ("activity", "entity"),
    "wasGeneratedBy": ("entity", "activity"),
    "wasDerivedFrom": ("entity", "entity"),
    "wasAssociatedWith": ("activity", "agent"),
}
KINDS = ("entity", "activity", "agent")
Scalar = str | int | float | bool
_EXPECTED: dict[type, str] = {
    str: "text",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    Mapping: "an object",
}


@dataclass(frozen=True)
class NodeClassification:
    classification: str
    controlled: bool
    basis: str | None = None
    rules: tuple[str, ...] = ()
    policy_version: str | None = None
    decision_id: str | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    type: str
    name: str
    created_at: datetime | None
    invalidated_at: datetime | None
    depth: int | None
    attributes: tuple[tuple[str, Scalar], ...]  # sorted by key; nested values as canonical JSON text
    classification: NodeClassification | None


@dataclass(frozen=True)
class Edge:
    child: str
    parent: str
    relation: str
    activity: str | None
    valid_from: datetime
    valid_to: datetime | None
    event_seq: int | None


@dataclass(frozen=True)
class Trace:
    """A checked trace: nodes sorted by id with their kinds resolved, edges in log order."""

    schema: str
    root: str
    direction: str
    depth: int | None
    as_of: datetime
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def _get(doc: Mapping[str, Any], key: str, kind: type, where: str, required: bool = True) -> Any:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{where}: {key}: expected {_EXPECTED[kind]}, got {value!r}")
    return value


def _time(doc: Mapping[str, Any], key: str, where: str) -> datetime:
    return parse_iso(_get(doc, key, str, where), f"{where}: {key}")


def _optional_time(doc: Mapping[str, Any], key: str, where: str) -> datetime | None:
    return _time(doc, key, where) if doc.get(key) is not None else None


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{where}: expected a finite number, got {value!r}")
    if isinstance(value, str | int | float):  # bool is an int
        return value
    return canonical_json(value).decode("utf-8")


def _classification(doc: Any, where: str) -> NodeClassification | None:
    if doc is None:
        return None
    where = f"{where}: classification"
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected an object, got {doc!r}")
    rules = _get(doc, "rules", list, where, required=False) or []
    if not all(isinstance(rule, str) for rule in rules):
        raise InputError(f"{where}: rules: expected a list of rule ids, got {rules!r}")
    return NodeClassification(
        classification=_get(doc, "classification", str, where),
        controlled=_get(doc, "controlled", bool, where),
        basis=_get(doc, "basis", str, where, required=False),
        rules=tuple(rules),
        policy_version=_get(doc, "policy_version", str, where, required=False),
        decision_id=_get(doc, "decision_id", str, where, required=False),
        decided_at=_optional_time(doc, "decided_at", where),
    )


def _node(doc: Any, index: int) -> Node:
    where = f"trace node {index}"
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected an object, got {doc!r}")
    node_id = _get(doc, "id", str, where)
    where = f"trace node {node_id!r}"
    attributes = _get(doc, "attributes", Mapping, where, required=False) or {}
    return Node(
        id=node_id,
        kind=_get(doc, "kind", str, where),
        type=_get(doc, "type", str, where),
        name=_get(doc, "name", str, where),
        created_at=_optional_time(doc, "created_at", where),
        invalidated_at=_optional_time(doc, "invalidated_at", where),
        depth=_get(doc, "depth", int, where, required=False),
        attributes=tuple(
            (str(k), _scalar(v, f"{where}: attributes: {k}")) for k, v in sorted(attributes.items()) if v is not None
        ),
        classification=_classification(doc.get("classification"), where),
    )


def _edge(doc: Any, index: int) -> Edge:
    where = f"trace edge {index}"
    if not isinstance(doc, Mapping):
        raise InputError(f"{where}: expected an object, got {doc!r}")
    relation = _get(doc, "relation", str, where)
    if relation not in ROLES:
        raise InputError(f"{where}: relation: expected one of {', '.join(sorted(ROLES))}, got {relation!r}")
    return Edge(
        child=_get(doc, "child", str, where),
        parent=_get(doc, "parent", str, where),
        relation=relation,
        activity=_get(doc, "activity", str, where, required=False),
        valid_from=_time(doc, "valid_from", where),
        valid_to=_optional_time(doc, "valid_to", where),
        event_seq=_get(doc, "event_seq", int, where, required=False),
    )


def _edge_order(e: Edge) -> tuple[Any, ...]:
    """Log order, then every other field: edges equal under it are equal, so input order never shows."""
    last = (e.valid_to is None, e.valid_to or e.valid_from, e.activity is None, e.activity or "")
    return (e.event_seq is None, e.event_seq or 0, e.relation, e.child, e.parent, e.valid_from, *last)


def _resolve_kinds(nodes: dict[str, Node], edges: Iterable[Edge]) -> None:
    """Check each edge's ends against PROV's roles; give ``unknown`` nodes the kind their roles imply."""
    inferred: dict[str, str] = {}
    for edge in edges:
        for end, node_id, expected in zip(
            ("child", "parent"), (edge.child, edge.parent), ROLES[edge.relation], strict=True
        ):
            node = nodes.get(node_id)
            if node is None:
                raise InputError(f"trace edge {edge.relation} {end}: {node_id!r} is not a node of the trace")
            kind = node.kind if node.kind in KINDS else inferred.setdefault(node_id, expected)
            if kind != expected:
                raise InputError(
                    f"trace edge {edge.relation} {end}: expected {node_id!r} to be an {expected}, got an {kind}"
                )
    for node_id, kind in inferred.items():
        nodes[node_id] = replace(nodes[node_id], kind=kind)
    for node_id, node in nodes.items():
        if node.kind not in KINDS:  # an unknown node no edge places: keep it, as a thing that existed
            nodes[node_id] = replace(node, kind="entity")


def read_trace(trace: Mapping[str, Any]) -> Trace:
    """Check a ``qgov.trace/v1`` document and return it as a :class:`Trace`; raise InputError if malformed."""
    where = "trace"
    schema = _get(trace, "schema", str, where)
    if schema != TRACE_SCHEMA:
        raise InputError(f"trace: schema: expected {TRACE_SCHEMA!r}, got {schema!r}")
    direction = _get(trace, "direction", str, where)
    if direction not in ("upstream", "downstream"):
        raise InputError(f"trace: direction: expected 'upstream' or 'downstream', got {direction!r}")
    nodes: dict[str, Node] = {}
    for index, doc in enumerate(_get(trace, "nodes", list, where)):
        node = _node(doc, index)
        if node.id in nodes:
            raise InputError(f"trace node {node.id!r}: appears more than once")
        nodes[node.id] = node
    edges = sorted(
        (_edge(doc, index) for index, doc in enumerate(_get(trace, "edges", list, where))),
        key=_edge_order,
    )
    _resolve_kinds(nodes, edges)
    root = _get(trace, "root", str, where)
    if root not in nodes:
        raise InputError(f"trace: root: {root!r} is not a node of the trace")
    return Trace(
        schema=schema,
        root=root,
        direction=direction,
        depth=_get(trace, "depth", int, where, required=False),
        as_of=_time(trace, "as_of", where),
        nodes=tuple(nodes[k] for k in sorted(nodes)),
        edges=tuple(edges),
    )


def to_prov(trace: Mapping[str, Any]) -> ProvDocument:
    """The trace as a W3C PROV document (mapping in ``lineage._prov``)."""
    return _prov.build_document(read_trace(trace))


def prov_json(trace: Mapping[str, Any]) -> str:
    """PROV-JSON of :func:`to_prov`: the same trace always gives the same bytes (sorted keys)."""
    return _prov.to_json(to_prov(trace))


def trace_header(document: ProvDocument) -> dict[str, Any]:
    """The ``schema``, ``root``, ``direction``, ``as_of`` (and ``depth``) a PROV export was made from."""
    return _prov.read_header(document)


def openlineage_events(trace: Mapping[str, Any], producer: str, namespace: str) -> list[RunEvent]:
    """One COMPLETE OpenLineage run event per activity, by event time then activity id."""
    return _openlineage.build_events(read_trace(trace), producer, namespace)


def openlineage_json(trace: Mapping[str, Any], producer: str, namespace: str) -> str:
    """:func:`openlineage_events` as NDJSON: one sorted-key, null-free event per line."""
    return _openlineage.to_ndjson(openlineage_events(trace, producer, namespace))


# -- the audit log as a table -------------------------------------------------------------

EVENTS_ARROW_SCHEMA = pa.schema(
    [
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("occurred_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("actor", pa.string(), nullable=False),
        pa.field("subjects", pa.string(), nullable=False),  # canonical JSON list of ids
        pa.field("payload", pa.string(), nullable=False),  # canonical JSON object
        pa.field("hash", pa.string(), nullable=False),
        pa.field("prev_hash", pa.string(), nullable=True),
    ],
    metadata={"schema": EVENTS_SCHEMA},
)
# Rows per Arrow batch (and Parquet row group): a few MB at most, whatever the log's length.
BATCH_ROWS = 10_000


def _event_row(event: Mapping[str, Any], index: int) -> dict[str, Any]:
    where = f"event {index}"
    seq = _get(event, "seq", int, where)
    where = f"event {index} (seq {seq})"
    subjects = _get(event, "subjects", list, where)
    if not all(isinstance(s, str) for s in subjects):
        raise InputError(f"{where}: subjects: expected a list of ids, got {subjects!r}")
    return {
        "seq": seq,
        "event_id": _get(event, "event_id", str, where),
        "type": _get(event, "type", str, where),
        "occurred_at": _time(event, "occurred_at", where),
        "actor": _get(event, "actor", str, where),
        "subjects": canonical_json(subjects).decode("utf-8"),
        "payload": canonical_json(_get(event, "payload", Mapping, where)).decode("utf-8"),
        "hash": _get(event, "hash", str, where),
        "prev_hash": _get(event, "prev_hash", str, where, required=False),
    }


def _batches(events: Iterable[Mapping[str, Any]], rows: int) -> Iterator[pa.RecordBatch]:
    numbered = enumerate(events)
    while chunk := [_event_row(event, index) for index, event in islice(numbered, rows)]:
        columns = {name: [row[name] for row in chunk] for name in EVENTS_ARROW_SCHEMA.names}
        yield pa.RecordBatch.from_pydict(columns, schema=EVENTS_ARROW_SCHEMA)


def events_table(events: Iterable[Mapping[str, Any]]) -> pa.Table:
    """The events as one Arrow table (schema :data:`EVENTS_ARROW_SCHEMA`); for logs that fit in memory."""
    return pa.Table.from_batches(list(_batches(events, BATCH_ROWS)), schema=EVENTS_ARROW_SCHEMA)


def write_events(
    events: Iterable[Mapping[str, Any]],
    path: Path,
    fmt: Literal["csv", "parquet"],
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Stream ``events`` to ``path`` as CSV or Parquet, ``batch_rows`` at a time; return the rows written.

    The file appears only when complete: a failure (a malformed event, a full disk) leaves
    ``path`` as it was. Parquet keeps the schema name in its metadata; CSV cannot, and writes an
    absent ``prev_hash`` as an empty field.
    """
    if fmt not in ("csv", "parquet"):
        raise InputError(f"format: expected 'csv' or 'parquet', got {fmt!r}")
    if batch_rows < 1:
        raise InputError(f"batch_rows: expected a positive number of rows, got {batch_rows}")
    if not path.parent.is_dir():
        raise InputError(f"{path}: expected an existing directory to write into, got no {path.parent}")
    # Same directory, so the final rename is atomic; mkstemp's 0600 suits an audit export.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(name)
    written = 0
    try:
        open_writer = pq.ParquetWriter if fmt == "parquet" else pa_csv.CSVWriter
        with open_writer(str(partial), EVENTS_ARROW_SCHEMA) as writer:
            for batch in _batches(events, batch_rows):
                writer.write_batch(batch)
                written += batch.num_rows
        os.replace(partial, path)
    except OSError as exc:
        raise StorageError(f"{path}: could not write the events export: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return written


__all__ = [
    "EVENTS_ARROW_SCHEMA",
    "EVENTS_SCHEMA",
    "TRACE_SCHEMA",
    "Edge",
    "Node",
    "NodeClassification",
    "Trace",
    "events_table",
    "openlineage_events",
    "openlineage_json",
    "prov_json",
    "read_trace",
    "to_prov",
    "trace_header",
    "write_events",
]
