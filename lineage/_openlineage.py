"""A trace as OpenLineage run events (spec 2-0-2, built with openlineage-python's model classes).

One ``COMPLETE`` run event per activity node:

* job: ``namespace`` / the activity's name, with the standard ``jobType`` facet
  (``BATCH``, integration ``QGOV``, job type = the activity's qgov type);
* run: id = the activity id when it is a UUID, else a UUIDv5 of it (stable across traces);
  the custom ``qgov`` run facet holds the activity id, type, attributes and associated agents;
* eventTime: the activity's creation time (for an activity the store names but does not
  describe, its earliest edge, else the trace's as-of time);
* inputs: the entities it ``used``; outputs: the entities that ``wasGeneratedBy`` it. A
  dataset is ``namespace`` / the entity's name (the path, for artifacts), with the standard
  ``version`` facet (its sha256, else its qgov id) and the custom ``qgov`` dataset facet
  (qgov id, type, sha256, classification, attributes).

Custom facets name their schema under ``https://qgov.dev/spec/openlineage/``, as the spec asks
of facets it does not define. Events are sorted by event time, then activity id; datasets by
name, then id.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attr
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import DatasetFacet, RunFacet, dataset_version_dataset, job_type_job
from openlineage.client.serde import Serde

from qgov.canonical import iso_utc

if TYPE_CHECKING:
    from lineage.export import Node, Trace

FACET_SCHEMA_BASE = "https://qgov.dev/spec/openlineage/1-0-0"
# Names non-UUID activity ids (see module docstring) so their run ids never change.
RUN_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://qgov.dev/ns/prov#activity")


@attr.define(kw_only=True)
class QgovRunFacet(RunFacet):
    """The qgov activity behind an OpenLineage run."""

    activity_id: str
    activity_type: str
    agents: list[dict[str, str]] = attr.field(factory=list)
    attributes: dict[str, Any] = attr.field(factory=dict)
    invalidated_at: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA_BASE}/QgovRunFacet.json#/$defs/QgovRunFacet"


@attr.define(kw_only=True)
class QgovDatasetFacet(DatasetFacet):
    """The qgov entity behind an OpenLineage dataset, with its export-control classification."""

    entity_id: str
    entity_type: str
    sha256: str | None = None
    created_at: str | None = None
    invalidated_at: str | None = None
    classification: str | None = None
    controlled: bool | None = None
    basis: str | None = None
    rules: list[str] | None = None
    policy_version: str | None = None
    decision_id: str | None = None
    decided_at: str | None = None
    attributes: dict[str, Any] = attr.field(factory=dict)

    @staticmethod
    def _get_schema() -> str:
        return f"{FACET_SCHEMA_BASE}/QgovDatasetFacet.json#/$defs/QgovDatasetFacet"


def _iso(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment is not None else None


def run_id(activity_id: str) -> str:
    try:
        return str(uuid.UUID(activity_id))
    except ValueError:
        return str(uuid.uuid5(RUN_ID_NAMESPACE, activity_id))


def _dataset_facets(node: Node, producer: str) -> dict[str, DatasetFacet]:
    attributes = dict(node.attributes)
    sha256 = attributes.get("sha256")
    sha256 = sha256 if isinstance(sha256, str) else None
    c = node.classification
    qgov = QgovDatasetFacet(
        producer=producer,
        entity_id=node.id,
        entity_type=node.type,
        sha256=sha256,
        created_at=_iso(node.created_at),
        invalidated_at=_iso(node.invalidated_at),
        attributes=attributes,
        classification=c.classification if c else None,
        controlled=c.controlled if c else None,
        basis=c.basis if c else None,
        rules=list(c.rules) if c else None,
        policy_version=c.policy_version if c else None,
        decision_id=c.decision_id if c else None,
        decided_at=_iso(c.decided_at) if c else None,
    )
    version = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=sha256 or node.id, producer=producer)
    return {"qgov": qgov, "version": version}


def build_events(trace: Trace, producer: str, namespace: str) -> list[RunEvent]:
    nodes = {node.id: node for node in trace.nodes}
    used: dict[str, set[str]] = defaultdict(set)
    generated: dict[str, set[str]] = defaultdict(set)
    agents: dict[str, set[str]] = defaultdict(set)
    first_seen: dict[str, datetime] = {}
    for edge in trace.edges:
        if edge.relation == "used":
            used[edge.child].add(edge.parent)
        elif edge.relation == "wasGeneratedBy":
            generated[edge.parent].add(edge.child)
        elif edge.relation == "wasAssociatedWith":
            agents[edge.child].add(edge.parent)
        for end in (edge.child, edge.parent):
            first_seen[end] = min(first_seen.get(end, edge.valid_from), edge.valid_from)

    def ordered(ids: set[str]) -> list[Node]:
        return sorted((nodes[i] for i in ids), key=lambda n: (n.name, n.id))

    keyed: list[tuple[datetime, str, RunEvent]] = []
    for node in trace.nodes:
        if node.kind != "activity":
            continue
        moment = node.created_at or first_seen.get(node.id, trace.as_of)
        run_facet = QgovRunFacet(
            producer=producer,
            activity_id=node.id,
            activity_type=node.type,
            agents=[{"id": a.id, "type": a.type, "name": a.name} for a in ordered(agents[node.id])],
            attributes=dict(node.attributes),
            invalidated_at=_iso(node.invalidated_at),
        )
        job_type = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="QGOV", jobType=node.type.upper(), producer=producer
        )
        event = RunEvent(
            eventTime=iso_utc(moment),
            producer=producer,
            eventType=RunState.COMPLETE,
            run=Run(runId=run_id(node.id), facets={"qgov": run_facet}),
            job=Job(namespace=namespace, name=node.name, facets={"jobType": job_type}),
            inputs=[
                InputDataset(namespace, n.name, facets=_dataset_facets(n, producer)) for n in ordered(used[node.id])
            ],
            outputs=[
                OutputDataset(namespace, n.name, facets=_dataset_facets(n, producer))
                for n in ordered(generated[node.id])
            ],
        )
        keyed.append((moment, node.id, event))
    return [event for _, _, event in sorted(keyed, key=lambda k: (k[0], k[1]))]


def to_ndjson(events: list[RunEvent]) -> str:
    return "".join(Serde.to_json(event) + "\n" for event in events)
