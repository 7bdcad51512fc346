"""A trace as a W3C PROV document (PROV-DM, serialised as PROV-JSON).

The mapping (``qgov.prov/v1``):

* Namespaces: ``qgov`` (``https://qgov.dev/ns/prov#``) for qgov's own terms, ``attr``
  (``https://qgov.dev/ns/prov/attribute#``) for a node's free-form attributes, which so
  cannot collide with qgov's terms.
* Each node is an entity, activity or agent identified ``qgov:<type>/<id>`` (both
  percent-encoded, so a UUID, a 64-hex person id or ``flow:qgov-ingest`` all make valid
  QNames), with ``prov:label`` = name, ``prov:type`` = ``qgov:<type>`` (agents also
  ``prov:Person`` or ``prov:SoftwareAgent``), ``qgov:id`` = the store's id, ``qgov:depth``,
  ``qgov:invalidated_at``; an activity's ``prov:startTime`` or another node's
  ``qgov:created_at`` is its creation time. An artifact's classification is flattened into
  ``qgov:classification``, ``qgov:controlled``, ``qgov:basis``, ``qgov:rule`` (one value per
  rule), ``qgov:policy_version``, ``qgov:decision_id``, ``qgov:decided_at``.
* Each edge is an (anonymous) ``used``, ``wasGeneratedBy``, ``wasDerivedFrom`` or
  ``wasAssociatedWith`` with ``qgov:activity`` (the activity name the store records),
  ``qgov:valid_from``, ``qgov:valid_to``, ``qgov:event_seq``; usage and generation also carry
  ``prov:time`` = valid_from.
* The trace itself is the entity ``qgov:trace`` (``prov:type qgov:trace``): ``qgov:schema``
  (``qgov.prov/v1``), ``qgov:trace_schema``, ``qgov:root`` (the id) and ``qgov:root_node``
  (the root's QName), ``qgov:direction``, ``qgov:as_of`` and ``qgov:depth``. It is an
  ordinary record, so it survives any PROV serialisation; :func:`read_header` reads it back.

Times are timezone-aware ``xsd:dateTime``, counts ``xsd:int``/``xsd:integer``, flags
``xsd:boolean``: ``ProvDocument.deserialize(prov_json(t)) == to_prov(t)`` holds. Records are
added in a fixed order (nodes by id, edges in log order) and the JSON is written with sorted
keys, so the output is byte-for-byte stable.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from prov.constants import PROV, PROV_LABEL, PROV_TYPE
from prov.identifier import Namespace, QualifiedName
from prov.model import ProvDocument

from qgov.canonical import iso_utc
from qgov.errors import InputError

if TYPE_CHECKING:
    from lineage.export import Edge, Node, Trace

EXPORT_SCHEMA = "qgov.prov/v1"
QGOV = Namespace("qgov", "https://qgov.dev/ns/prov#")
ATTR = Namespace("attr", "https://qgov.dev/ns/prov/attribute#")
TRACE_ID = QGOV["trace"]
_AGENT_TYPES = {"person": PROV["Person"], "flow": PROV["SoftwareAgent"]}
Pairs = list[tuple[QualifiedName, Any]]


def _local(text: str) -> str:
    # Percent-encoding leaves only characters every PROV serialisation (PROV-N, XML, RDF) can write.
    return quote(text, safe="")


def node_qname(node_type: str, node_id: str) -> QualifiedName:
    return QGOV[f"{_local(node_type)}/{_local(node_id)}"]


def _optional(pairs: Pairs, name: QualifiedName, value: Any) -> None:
    if value is not None:
        pairs.append((name, value))


def _node_pairs(node: Node) -> Pairs:
    pairs: Pairs = [(PROV_LABEL, node.name), (PROV_TYPE, QGOV[_local(node.type)])]
    if node.kind == "agent" and node.type in _AGENT_TYPES:
        pairs.append((PROV_TYPE, _AGENT_TYPES[node.type]))
    pairs.append((QGOV["id"], node.id))
    if node.kind != "activity":
        _optional(pairs, QGOV["created_at"], node.created_at)
    _optional(pairs, QGOV["invalidated_at"], node.invalidated_at)
    _optional(pairs, QGOV["depth"], node.depth)
    if (c := node.classification) is not None:
        pairs += [(QGOV["classification"], c.classification), (QGOV["controlled"], c.controlled)]
        _optional(pairs, QGOV["basis"], c.basis)
        pairs += [(QGOV["rule"], rule) for rule in c.rules]
        _optional(pairs, QGOV["policy_version"], c.policy_version)
        _optional(pairs, QGOV["decision_id"], c.decision_id)
        _optional(pairs, QGOV["decided_at"], c.decided_at)
    pairs += [(ATTR[_local(key)], value) for key, value in node.attributes]
    return pairs


def _edge_pairs(edge: Edge) -> Pairs:
    pairs: Pairs = []
    _optional(pairs, QGOV["activity"], edge.activity)
    pairs.append((QGOV["valid_from"], edge.valid_from))
    _optional(pairs, QGOV["valid_to"], edge.valid_to)
    _optional(pairs, QGOV["event_seq"], edge.event_seq)
    return pairs


def build_document(trace: Trace) -> ProvDocument:
    doc = ProvDocument()
    doc.add_namespace(QGOV)
    doc.add_namespace(ATTR)
    ids = {node.id: node_qname(node.type, node.id) for node in trace.nodes}
    header: Pairs = [
        (PROV_TYPE, QGOV["trace"]),
        (QGOV["schema"], EXPORT_SCHEMA),
        (QGOV["trace_schema"], trace.schema),
        (QGOV["root"], trace.root),
        (QGOV["root_node"], ids[trace.root]),
        (QGOV["direction"], trace.direction),
        (QGOV["as_of"], trace.as_of),
    ]
    _optional(header, QGOV["depth"], trace.depth)
    doc.entity(TRACE_ID, header)
    for node in trace.nodes:
        if node.kind == "activity":
            doc.activity(ids[node.id], startTime=node.created_at, other_attributes=_node_pairs(node))
        elif node.kind == "agent":
            doc.agent(ids[node.id], _node_pairs(node))
        else:
            doc.entity(ids[node.id], _node_pairs(node))
    for edge in trace.edges:
        child, parent, pairs = ids[edge.child], ids[edge.parent], _edge_pairs(edge)
        if edge.relation == "used":
            doc.used(child, parent, edge.valid_from, other_attributes=pairs)
        elif edge.relation == "wasGeneratedBy":
            doc.wasGeneratedBy(child, parent, edge.valid_from, other_attributes=pairs)
        elif edge.relation == "wasDerivedFrom":
            doc.wasDerivedFrom(child, parent, other_attributes=pairs)
        else:
            doc.wasAssociatedWith(child, parent, other_attributes=pairs)
    return doc


def to_json(doc: ProvDocument) -> str:
    text = doc.serialize(format="json", sort_keys=True)
    assert text is not None  # serialize returns the text when given no destination
    return text


def read_header(doc: ProvDocument) -> dict[str, Any]:
    """The trace header a PROV export was made from, in the trace document's own form."""
    records = [r for r in doc.get_record(TRACE_ID) if QGOV["trace"] in r.get_asserted_types()]
    if len(records) != 1:
        raise InputError(f"PROV document: expected one {TRACE_ID} entity (a qgov trace export), got {len(records)}")
    record = records[0]

    def value(name: str, kind: type) -> Any:
        values = record.get_attribute(QGOV[name])
        found = next(iter(values), None)
        if len(values) > 1 or (found is not None and not isinstance(found, kind)):
            raise InputError(f"PROV document: {TRACE_ID} {QGOV[name]}: expected one {kind.__name__}, got {values!r}")
        return found

    header = {
        "schema": value("trace_schema", str),
        "root": value("root", str),
        "direction": value("direction", str),
        "depth": value("depth", int),
    }
    as_of = value("as_of", datetime)
    if as_of is not None:
        header["as_of"] = iso_utc(as_of)
    return {k: v for k, v in header.items() if v is not None}
