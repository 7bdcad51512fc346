"""Standard exports: PROV-JSON round-trips exactly, OpenLineage events validate, event tables stream."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from prov.model import ProvDocument

from lineage._prov import QGOV, node_qname
from lineage.export import (
    EVENTS_ARROW_SCHEMA,
    events_table,
    openlineage_events,
    openlineage_json,
    prov_json,
    read_trace,
    to_prov,
    trace_header,
    write_events,
)
from qgov.canonical import iso_utc
from qgov.errors import InputError

jsonschema = pytest.importorskip("jsonschema", reason="validates OpenLineage events against the spec's shape")

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PRODUCER = "https://qgov.dev/qgov/0.1.0"
NAMESPACE = "qgov://lab.example"


def at(minutes: int) -> str:
    return iso_utc(T0 + timedelta(minutes=minutes))


def uid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def node(node_id: str, kind: str, type_: str, name: str, minute: int, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "type": type_, "name": name, "created_at": at(minute), "depth": 0} | extra


def edge(child: str, parent: str, relation: str, activity: str, seq: int, **extra: Any) -> dict[str, Any]:
    doc = {"child": child, "parent": parent, "relation": relation, "activity": activity, "event_seq": seq}
    return doc | {"valid_from": at(seq)} | extra


def trace_doc(root: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    head = {"schema": "qgov.trace/v1", "root": root, "direction": "upstream", "depth": None, "as_of": at(600)}
    return head | {"nodes": nodes, "edges": edges} | extra


ADA = "a" * 64
ERASED = "b" * 64
RAW, CLEAN, MODEL, RELEASE = uid(1), uid(2), uid(3), uid(4)
INGEST, STAGE, FIT, DELETE = uid(11), uid(12), uid(13), uid(14)
CONTROLLED = {
    "classification": "4E906",
    "controlled": True,
    "basis": "automatic",
    "rules": ["ear.4e906", "ear.3e001"],
    "policy_version": "2026.11-1",
    "decision_id": uid(99),
    "decided_at": at(2),
}


def realistic_trace() -> dict[str, Any]:
    """Ingest -> DVC stage -> fit -> release, by a person and a flow; the model since deleted, one person erased."""
    nodes = [
        node(
            RAW,
            "entity",
            "artifact",
            "raw/run-7/shots.h5",
            1,
            attributes={"dataset": "qubits-2026", "sha256": "1" * 64, "size": 2**40},
            classification=CONTROLLED,
        ),
        node(
            CLEAN,
            "entity",
            "artifact",
            "clean/shots.parquet",
            3,
            attributes={"dataset": "qubits-2026", "sha256": "2" * 64, "rows": 1200},
            classification=CONTROLLED | {"basis": "inherited", "rules": ["ear.4e906"]},
        ),
        node(
            MODEL,
            "entity",
            "artifact",
            "models/noise-ß.json",
            5,
            invalidated_at=at(50),
            attributes={"sha256": "3" * 64, "fidelity": 0.9931, "public": False},
            classification={"classification": "EAR99", "controlled": False, "basis": "declassified"},
        ),
        node(RELEASE, "entity", "release", "noise-model v1", 6, attributes={"doi": "10.1234/xyz"}),
        node(INGEST, "activity", "ingest", "ingest raw/run-7", 1),
        node(STAGE, "activity", "dvc_stage", "clean", 3, attributes={"stage": "clean", "cmd": "python clean.py"}),
        node(FIT, "activity", "derivation", "fit noise model", 5),
        node(DELETE, "activity", "deletion", "erase model", 50),
        node(ADA, "agent", "person", "Ada Lovelace", 0),
        node(ERASED, "agent", "person", "[erased]", 0),
        node("flow:qgov-ingest", "agent", "flow", "qgov-ingest", 0),
    ]
    edges = [
        edge(RAW, INGEST, "wasGeneratedBy", "ingest raw/run-7", 1),
        edge(INGEST, "flow:qgov-ingest", "wasAssociatedWith", "ingest raw/run-7", 1),
        edge(INGEST, ADA, "wasAssociatedWith", "ingest raw/run-7", 1),
        edge(STAGE, RAW, "used", "clean", 3),
        edge(CLEAN, STAGE, "wasGeneratedBy", "clean", 3),
        edge(CLEAN, RAW, "wasDerivedFrom", "clean", 3),
        edge(STAGE, ERASED, "wasAssociatedWith", "clean", 3),
        edge(FIT, CLEAN, "used", "fit noise model", 5),
        edge(MODEL, FIT, "wasGeneratedBy", "fit noise model", 5, valid_to=at(50)),
        edge(MODEL, CLEAN, "wasDerivedFrom", "fit noise model", 5, valid_to=at(50)),
        edge(RELEASE, MODEL, "wasDerivedFrom", "release", 6),
        edge(DELETE, MODEL, "used", "erase model", 50),
    ]
    return trace_doc(RELEASE, nodes, edges, depth=4)


def round_trip(trace: dict[str, Any]) -> ProvDocument:
    return ProvDocument.deserialize(content=prov_json(trace), format="json")


# -- PROV ---------------------------------------------------------------------------------


def test_a_realistic_trace_round_trips_through_prov_json_to_an_equal_document() -> None:
    trace = realistic_trace()
    assert round_trip(trace) == to_prov(trace)


def test_prov_json_is_byte_identical_and_sorted_whatever_the_input_order() -> None:
    trace = realistic_trace()
    shuffled = trace | {
        "nodes": trace["nodes"][::-1],
        "edges": random.Random(7).sample(trace["edges"], len(trace["edges"])),
    }
    text = prov_json(trace)
    assert prov_json(shuffled) == text == prov_json(trace)
    assert json.dumps(json.loads(text), sort_keys=True) == text


def test_exports_are_the_same_bytes_in_processes_with_different_hash_seeds() -> None:
    trace = realistic_trace()
    script = (
        "import json, sys; from lineage.export import openlineage_json, prov_json; t = json.load(sys.stdin); "
        "sys.stdout.write(prov_json(t) + openlineage_json(t, sys.argv[1], sys.argv[2]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script, PRODUCER, NAMESPACE],
            input=json.dumps(trace),
            cwd=ROOT,
            env=os.environ | {"PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert outputs == {prov_json(trace) + openlineage_json(trace, PRODUCER, NAMESPACE)}


def test_the_trace_header_survives_the_round_trip() -> None:
    header = trace_header(round_trip(realistic_trace()))
    assert header == {"schema": "qgov.trace/v1", "root": RELEASE, "direction": "upstream", "as_of": at(600), "depth": 4}


def test_datetimes_booleans_and_integers_keep_their_types_across_the_round_trip() -> None:
    doc = round_trip(realistic_trace())
    (raw,) = doc.get_record(node_qname("artifact", RAW))
    assert raw.get_attribute(QGOV["controlled"]) == {True}
    assert raw.get_attribute(QGOV["decided_at"]) == {T0 + timedelta(minutes=2)}
    assert raw.get_attribute(QGOV["rule"]) == {"ear.4e906", "ear.3e001"}
    assert {type(v) for _, v in raw.attributes} >= {bool, datetime, int, str}
    size = [v for k, v in raw.attributes if k.localpart == "size"]
    assert size == [2**40] and type(size[0]) is int
    (model,) = doc.get_record(node_qname("artifact", MODEL))
    assert model.get_attribute(QGOV["controlled"]) == {False}
    assert model.get_attribute(QGOV["invalidated_at"]) == {T0 + timedelta(minutes=50)}


def test_relations_follow_prov_subject_object_order() -> None:
    relations = {
        (r.get_type().localpart, *(v for _, v in r.formal_attributes if v is not None))
        for r in to_prov(realistic_trace()).get_records()
        if r.is_relation()
    }
    stage, raw, clean = node_qname("dvc_stage", STAGE), node_qname("artifact", RAW), node_qname("artifact", CLEAN)
    minute_3 = T0 + timedelta(minutes=3)
    assert ("Usage", stage, raw, minute_3) in relations
    assert ("Generation", clean, stage, minute_3) in relations
    assert ("Derivation", clean, raw) in relations
    assert ("Association", node_qname("ingest", INGEST), node_qname("flow", "flow:qgov-ingest")) in relations


def test_agents_are_typed_as_prov_person_or_software_agent_and_ids_become_valid_qnames() -> None:
    text = prov_json(realistic_trace())
    agents = json.loads(text)["agent"]
    assert set(agents) == {f"qgov:person/{ADA}", f"qgov:person/{ERASED}", "qgov:flow/flow%3Aqgov-ingest"}
    assert {"$": "prov:SoftwareAgent", "type": "xsd:QName"} in agents["qgov:flow/flow%3Aqgov-ingest"]["prov:type"]
    assert agents[f"qgov:person/{ERASED}"]["prov:label"] == "[erased]"
    to_prov(realistic_trace()).serialize(format="provn")  # PROV-N accepts every identifier (warnings are errors)


def test_a_node_of_unknown_kind_takes_the_kind_its_relations_imply() -> None:
    trace = realistic_trace()
    trace["nodes"] = [
        n
        if n["id"] != "flow:qgov-ingest"
        else {"id": n["id"], "kind": "unknown", "type": "unknown", "name": n["id"], "depth": 1}
        for n in trace["nodes"]
    ]
    parsed = {n.id: n.kind for n in read_trace(trace).nodes}
    assert parsed["flow:qgov-ingest"] == "agent"
    assert round_trip(trace) == to_prov(trace)


def test_an_activity_the_store_does_not_describe_runs_at_its_earliest_edge() -> None:
    trace = realistic_trace()
    trace["nodes"] = [
        n if n["id"] != INGEST else {"id": INGEST, "kind": "unknown", "type": "unknown", "name": INGEST}
        for n in trace["nodes"]
    ]
    (ingest,) = (e for e in openlineage_events(trace, PRODUCER, NAMESPACE) if e.run.runId == INGEST)
    assert (ingest.eventTime, ingest.job.name, [d.name for d in ingest.outputs or []]) == (
        at(1),
        INGEST,
        ["raw/run-7/shots.h5"],
    )


def _with(**changes: Any) -> dict[str, Any]:
    return realistic_trace() | changes


def _edges_plus(extra: dict[str, Any]) -> dict[str, Any]:
    trace = realistic_trace()
    return trace | {"edges": [*trace["edges"], extra]}


BAD_TRACES = [
    ("other-schema", _with(schema="qgov.trace/v9"), r"schema: expected 'qgov.trace/v1', got 'qgov.trace/v9'"),
    ("sideways", _with(direction="sideways"), r"direction: expected 'upstream' or 'downstream'"),
    ("root-absent", _with(root=uid(77)), r"root: '.*' is not a node of the trace"),
    ("bad-as-of", _with(as_of="yesterday"), r"as_of: expected an ISO 8601 time"),
    ("nodes-not-a-list", _with(nodes={}), r"trace: nodes: expected a list"),
    (
        "unknown-relation",
        _edges_plus(edge(FIT, RAW, "wasInformedBy", "x", 70)),
        r"relation: expected one of used, wasAssociatedWith",
    ),
    (
        "dangling-edge",
        _edges_plus(edge(FIT, uid(78), "used", "x", 70)),
        r"used parent: '.*' is not a node of the trace",
    ),
    (
        "wrong-kind",
        _edges_plus(edge(RAW, CLEAN, "used", "x", 70)),
        r"used child: expected '.*' to be an activity, got an entity",
    ),
    (
        "seq-is-bool",
        _edges_plus(edge(FIT, RAW, "used", "x", 70) | {"event_seq": True}),
        r"event_seq: expected a whole number, got True",
    ),
    (
        "duplicate-node",
        _with(nodes=[*realistic_trace()["nodes"], node(RAW, "entity", "artifact", "again", 1)]),
        r"node '.*': appears more than once",
    ),
    (
        "classification-no-flag",
        _with(nodes=[node(RELEASE, "entity", "release", "r", 1, classification={"classification": "EAR99"})], edges=[]),
        r"classification: controlled: expected true or false, got None",
    ),
    (
        "infinite-attribute",
        _with(nodes=[node(RELEASE, "entity", "release", "r", 1, attributes={"x": float("inf")})], edges=[]),
        r"attributes: x: expected a finite number",
    ),
]


@pytest.mark.parametrize(("trace", "message"), [case[1:] for case in BAD_TRACES], ids=[case[0] for case in BAD_TRACES])
def test_a_malformed_trace_is_refused_with_the_field_at_fault(trace: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        to_prov(trace)
    with pytest.raises(InputError, match=message):
        openlineage_events(trace, PRODUCER, NAMESPACE)


def test_the_header_of_a_document_that_is_no_qgov_export_is_refused() -> None:
    with pytest.raises(InputError, match=r"expected one qgov:trace entity .*, got 0"):
        trace_header(ProvDocument())


# Random DAGs: nodes ranked, and every relation points from a higher rank to a lower one.
scalars = st.one_of(
    st.text(max_size=12), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
)
times = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)).map(iso_utc)


@st.composite
def traces(draw: st.DrawFn) -> dict[str, Any]:
    kinds = draw(st.lists(st.sampled_from(["entity", "activity"]), min_size=1, max_size=8))
    agents = draw(
        st.lists(
            st.one_of(st.text("0123456789abcdef", min_size=64, max_size=64), st.text(max_size=10).map("flow:".__add__)),
            max_size=3,
            unique=True,
        )
    )
    types = {
        "entity": ["artifact", "dataset_version", "release"],
        "activity": ["ingest", "dvc_stage", "derivation", "deletion"],
    }
    nodes = []
    for rank, kind in enumerate(kinds):
        doc = {
            "id": uid(rank + 1),
            "kind": kind,
            "type": draw(st.sampled_from(types[kind])),
            "name": draw(st.text(max_size=20)),
            "depth": draw(st.integers(0, 9)),
            "created_at": draw(times),
            "attributes": draw(st.dictionaries(st.text(max_size=8), scalars, max_size=4)),
        }
        if draw(st.booleans()):
            doc["invalidated_at"] = draw(times)
        if kind == "entity" and draw(st.booleans()):
            doc["classification"] = {
                "classification": draw(st.sampled_from(["4E906", "EAR99"])),
                "controlled": draw(st.booleans()),
                "basis": "override",
                "rules": draw(st.lists(st.text(min_size=1, max_size=9), max_size=3)),
                "decided_at": draw(times),
            }
        nodes.append(doc)
    for agent in agents:
        nodes.append(
            {
                "id": agent,
                "kind": "agent",
                "type": "flow" if agent.startswith("flow:") else "person",
                "name": draw(st.text(max_size=20)),
                "created_at": draw(times),
            }
        )
    edges = []
    for child in range(len(kinds)):
        for parent in draw(st.lists(st.integers(0, max(child - 1, 0)), max_size=3)) if child else []:
            relation = {
                ("activity", "entity"): "used",
                ("entity", "activity"): "wasGeneratedBy",
                ("entity", "entity"): "wasDerivedFrom",
            }.get((kinds[child], kinds[parent]))
            if relation:
                doc = {
                    "child": uid(child + 1),
                    "parent": uid(parent + 1),
                    "relation": relation,
                    "activity": draw(st.text(max_size=10)),
                    "valid_from": draw(times),
                    "event_seq": draw(st.integers(1, 10**6)),
                }
                edges.append(doc | ({"valid_to": draw(times)} if draw(st.booleans()) else {}))
        if kinds[child] == "activity" and agents:
            agent = draw(st.sampled_from(agents))
            edges.append(
                {
                    "child": uid(child + 1),
                    "parent": agent,
                    "relation": "wasAssociatedWith",
                    "activity": "a",
                    "valid_from": draw(times),
                    "event_seq": draw(st.integers(1, 10**6)),
                }
            )
    root = draw(st.sampled_from([n["id"] for n in nodes]))
    direction = draw(st.sampled_from(["upstream", "downstream"]))
    return trace_doc(
        root, nodes, edges, direction=direction, depth=draw(st.none() | st.integers(0, 5)), as_of=draw(times)
    )


@settings(max_examples=80, deadline=None)
@given(traces(), st.randoms(use_true_random=False))
def test_any_trace_round_trips_exactly_and_serialises_the_same_in_any_order(
    trace: dict[str, Any], rnd: random.Random
) -> None:
    text = prov_json(trace)
    assert ProvDocument.deserialize(content=text, format="json") == to_prov(trace)
    shuffled = trace | {
        "nodes": rnd.sample(trace["nodes"], len(trace["nodes"])),
        "edges": rnd.sample(trace["edges"], len(trace["edges"])),
    }
    assert prov_json(shuffled) == text
    header = trace_header(ProvDocument.deserialize(content=text, format="json"))
    assert (header["root"], header["direction"], header["as_of"], header.get("depth")) == (
        trace["root"],
        trace["direction"],
        trace["as_of"],
        trace["depth"],
    )


# -- OpenLineage --------------------------------------------------------------------------

# The shape OpenLineage 2-0-2 requires of a run event (https://openlineage.io/spec/2-0-2/OpenLineage.json),
# restated here because openlineage-python ships no schema file.
_FACET = {
    "type": "object",
    "required": ["_producer", "_schemaURL"],
    "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}},
}
_FACETS = {"type": "object", "additionalProperties": _FACET}
_DATASET = {
    "type": "object",
    "required": ["namespace", "name"],
    "properties": {
        "namespace": {"type": "string"},
        "name": {"type": "string"},
        "facets": _FACETS,
        "inputFacets": _FACETS,
        "outputFacets": _FACETS,
    },
}
RUN_EVENT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["eventTime", "producer", "schemaURL", "run", "job"],
    "properties": {
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": {"type": "string"},
        "schemaURL": {"const": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"},
        "eventType": {"enum": ["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"]},
        "run": {
            "type": "object",
            "required": ["runId"],
            "properties": {"runId": {"type": "string", "format": "uuid"}, "facets": _FACETS},
        },
        "job": {
            "type": "object",
            "required": ["namespace", "name"],
            "properties": {"namespace": {"type": "string"}, "name": {"type": "string"}, "facets": _FACETS},
        },
        "inputs": {"type": "array", "items": _DATASET},
        "outputs": {"type": "array", "items": _DATASET},
    },
}
VALIDATOR = jsonschema.Draft202012Validator(
    RUN_EVENT_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def _uris(event: dict[str, Any]) -> Iterator[str]:
    yield event["producer"]
    yield event["schemaURL"]
    facet_maps = [event["run"].get("facets", {}), event["job"].get("facets", {})]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        facet_maps += [dataset.get(k, {}) for k in ("facets", "inputFacets", "outputFacets")]
    for facets in facet_maps:
        for facet in facets.values():
            yield facet["_producer"]
            yield facet["_schemaURL"]


def assert_valid_event(line: str) -> dict[str, Any]:
    event = json.loads(line)
    VALIDATOR.validate(event)
    for uri in _uris(event):  # jsonschema checks "uri" only with an extra package; check it here
        assert urlparse(uri).scheme == "https" and urlparse(uri).netloc, uri
    # Re-built through the model classes, whose validators check the run id and event time.
    rebuilt = RunEvent(
        eventTime=event["eventTime"],
        producer=event["producer"],
        eventType=RunState(event["eventType"]),
        run=Run(runId=event["run"]["runId"]),
        job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
        inputs=[InputDataset(d["namespace"], d["name"]) for d in event["inputs"]],
        outputs=[OutputDataset(d["namespace"], d["name"]) for d in event["outputs"]],
    )
    assert rebuilt.schemaURL == event["schemaURL"]
    return event


def diamond() -> dict[str, Any]:
    """raw -> split-a -> left, raw -> split-b -> right; left + right -> merge -> joined."""
    raw, left, right, joined = uid(1), uid(2), uid(3), uid(4)
    split_a, split_b, merge = uid(11), uid(12), "merge-without-uuid"
    nodes = [
        node(raw, "entity", "artifact", "raw.h5", 0, attributes={"sha256": "0" * 64}, classification=CONTROLLED),
        node(left, "entity", "artifact", "left.h5", 1, attributes={"sha256": "1" * 64}),
        node(right, "entity", "artifact", "right.h5", 2, attributes={"sha256": "2" * 64}),
        node(joined, "entity", "artifact", "joined.h5", 3),
        node(split_a, "activity", "dvc_stage", "split-a", 1),
        node(split_b, "activity", "dvc_stage", "split-b", 2),
        node(merge, "activity", "derivation", "merge", 3, attributes={"policy_version": "2026.11-1"}),
        node(ADA, "agent", "person", "Ada Lovelace", 0),
    ]
    edges = [
        edge(split_a, raw, "used", "split-a", 1),
        edge(left, split_a, "wasGeneratedBy", "split-a", 1),
        edge(split_b, raw, "used", "split-b", 2),
        edge(right, split_b, "wasGeneratedBy", "split-b", 2),
        edge(merge, right, "used", "merge", 3),
        edge(merge, left, "used", "merge", 3),
        edge(joined, merge, "wasGeneratedBy", "merge", 3),
        edge(joined, left, "wasDerivedFrom", "merge", 3),
        edge(merge, ADA, "wasAssociatedWith", "merge", 3),
    ]
    return trace_doc(joined, nodes, edges)


def test_each_activity_of_a_diamond_is_one_complete_run_with_its_inputs_and_outputs() -> None:
    events = [assert_valid_event(line) for line in openlineage_json(diamond(), PRODUCER, NAMESPACE).splitlines()]
    summary = [(e["job"]["name"], [d["name"] for d in e["inputs"]], [d["name"] for d in e["outputs"]]) for e in events]
    assert summary == [
        ("split-a", ["raw.h5"], ["left.h5"]),
        ("split-b", ["raw.h5"], ["right.h5"]),
        ("merge", ["left.h5", "right.h5"], ["joined.h5"]),
    ]
    assert {e["eventType"] for e in events} == {"COMPLETE"}
    assert [e["eventTime"] for e in events] == [at(1), at(2), at(3)]
    assert {e["job"]["namespace"] for e in events} | {d["namespace"] for e in events for d in e["inputs"]} == {
        NAMESPACE
    }
    assert [e["run"]["runId"] for e in events[:2]] == [uid(11), uid(12)]


def test_a_run_id_is_the_activity_uuid_or_a_stable_uuid_derived_from_the_id() -> None:
    first = openlineage_events(diamond(), PRODUCER, NAMESPACE)[-1].run.runId
    again = openlineage_events(diamond() | {"root": uid(1)}, PRODUCER, "elsewhere")[-1].run.runId
    assert first == again and uuid.UUID(first).version == 5


def test_facets_carry_the_qgov_ids_sha256_classification_and_agents() -> None:
    split_a, _, merge = (
        assert_valid_event(line) for line in openlineage_json(diamond(), PRODUCER, NAMESPACE).splitlines()
    )
    raw = split_a["inputs"][0]["facets"]
    assert raw["qgov"] | {"_producer": "", "_schemaURL": ""} == {
        "_producer": "", "_schemaURL": "", "entity_id": uid(1), "entity_type": "artifact", "sha256": "0" * 64,
        "created_at": at(0), "classification": "4E906", "controlled": True, "basis": "automatic",
        "rules": ["ear.4e906", "ear.3e001"], "policy_version": "2026.11-1", "decision_id": uid(99), "decided_at": at(2),
        "attributes": {"sha256": "0" * 64},
    }  # fmt: skip
    assert raw["version"]["datasetVersion"] == "0" * 64
    assert raw["qgov"]["_schemaURL"].startswith("https://qgov.dev/spec/openlineage/")
    run = merge["run"]["facets"]["qgov"]
    assert (run["activity_id"], run["activity_type"], run["attributes"]) == (
        "merge-without-uuid",
        "derivation",
        {"policy_version": "2026.11-1"},
    )
    assert run["agents"] == [{"id": ADA, "type": "person", "name": "Ada Lovelace"}]
    assert merge["job"]["facets"]["jobType"] | {"_producer": "", "_schemaURL": ""} == {
        "_producer": "",
        "_schemaURL": "",
        "processingType": "BATCH",
        "integration": "QGOV",
        "jobType": "DERIVATION",
    }


def test_openlineage_ndjson_is_sorted_null_free_and_repeatable() -> None:
    text = openlineage_json(realistic_trace(), PRODUCER, NAMESPACE)
    assert text == openlineage_json(realistic_trace(), PRODUCER, NAMESPACE) and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 4  # ingest, stage, fit, delete
    for line in lines:
        assert json.dumps(json.loads(line), sort_keys=True) == line and "null" not in line
        assert_valid_event(line)
    assert openlineage_json(trace_doc(RAW, [node(RAW, "entity", "artifact", "x", 0)], []), PRODUCER, NAMESPACE) == ""


def test_the_schema_check_catches_a_bad_run_id_and_a_missing_job() -> None:
    event = json.loads(openlineage_json(diamond(), PRODUCER, NAMESPACE).splitlines()[0])
    with pytest.raises(jsonschema.ValidationError, match="is not a 'uuid'"):
        VALIDATOR.validate(event | {"run": {"runId": "run-1"}})
    with pytest.raises(jsonschema.ValidationError, match="'job' is a required property"):
        VALIDATOR.validate({k: v for k, v in event.items() if k != "job"})


@settings(max_examples=40, deadline=None)
@given(traces())
def test_any_trace_gives_one_valid_event_per_activity(trace: dict[str, Any]) -> None:
    lines = openlineage_json(trace, PRODUCER, NAMESPACE).splitlines()
    assert len(lines) == sum(n["kind"] == "activity" for n in trace["nodes"])
    events = [assert_valid_event(line) for line in lines]
    assert [e["eventTime"] for e in events] == sorted(e["eventTime"] for e in events)


# -- event tables -------------------------------------------------------------------------


def make_events(count: int, start: int = 1) -> Iterator[dict[str, Any]]:
    for seq in range(start, start + count):
        event = {
            "seq": seq,
            "event_id": uid(seq),
            "type": "artifact.ingested" if seq % 3 else "access.granted",
            "occurred_at": iso_utc(T0 + timedelta(seconds=seq, microseconds=seq % 997)),
            "actor": "Ada Lovelace" if seq % 2 else "[erased]",
            "subjects": [uid(seq + 1000), "flow:qgov-ingest"],
            "payload": {"path": f"raw/ü-{seq}.h5", "size": seq * 7, "tags": ["a", "b"], "ok": seq % 2 == 0},
            "hash": f"{seq:064x}",
        }
        yield event | ({"prev_hash": f"{seq - 1:064x}"} if seq > 1 else {})


def expected_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e | {"occurred_at": datetime.fromisoformat(e["occurred_at"]), "subjects": json.dumps(e["subjects"], separators=(",", ":")),
             "payload": json.dumps(e["payload"], sort_keys=True, separators=(",", ":"), ensure_ascii=False), "prev_hash": e.get("prev_hash")}
        for e in events
    ]  # fmt: skip


def read_back(path: Path, fmt: str) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=EVENTS_ARROW_SCHEMA))
    prev = [v or None for v in table.column("prev_hash").to_pylist()]  # CSV writes an absent prev_hash as ""
    return table.set_column(table.schema.get_field_index("prev_hash"), "prev_hash", pa.array(prev, pa.string()))


def test_the_events_table_has_the_fixed_schema_and_canonical_json_columns() -> None:
    events = list(make_events(5))
    table = events_table(events)
    assert table.schema == EVENTS_ARROW_SCHEMA and table.schema.metadata == {b"schema": b"qgov.events/v1"}
    assert table.to_pylist() == expected_rows(events)
    assert json.loads(table.column("payload")[0].as_py()) == events[0]["payload"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_events_round_trip_through_the_file_format(tmp_path: Path, fmt: str) -> None:
    events = list(make_events(25))
    path = tmp_path / f"events.{fmt}"
    assert write_events(iter(events), path, fmt) == 25
    assert read_back(path, fmt).to_pylist() == expected_rows(events)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_parquet_keeps_the_schema_name_and_reads_back_in_pandas(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    write_events(make_events(3), path, "parquet")
    assert pq.read_schema(path).metadata == {b"schema": b"qgov.events/v1"}
    frame = pd.read_parquet(path)
    assert str(frame["occurred_at"].dtype) == "datetime64[us, UTC]" and frame["seq"].tolist() == [1, 2, 3]
    assert frame["prev_hash"].isna().tolist() == [True, False, False]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_no_events_give_a_file_with_only_the_header_or_schema(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"empty.{fmt}"
    assert write_events([], path, fmt) == 0
    if fmt == "csv":
        assert (
            path.read_text()
            == '"seq","event_id","type","occurred_at","actor","subjects","payload","hash","prev_hash"\n'
        )
    else:
        assert pq.read_table(path).num_rows == 0 and pq.read_schema(path).equals(EVENTS_ARROW_SCHEMA)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fifty_thousand_events_stream_to_disk_in_batches(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"big.{fmt}"
    partial_sizes: list[int] = []

    def watched() -> Iterator[dict[str, Any]]:
        for index, event in enumerate(make_events(50_000)):
            if index % 10_000 == 0:  # each earlier batch must already be on disk, the target not yet
                (partial,) = (p for p in tmp_path.iterdir() if p.name.endswith(".partial"))
                partial_sizes.append(partial.stat().st_size)
                assert not path.exists()
            yield event

    assert write_events(watched(), path, fmt, batch_rows=10_000) == 50_000
    assert partial_sizes[1] < partial_sizes[2] < partial_sizes[3] < partial_sizes[4]
    table = read_back(path, fmt)
    assert table.num_rows == 50_000 and table.column("seq").to_pylist() == list(range(1, 50_001))
    if fmt == "parquet":
        assert pq.ParquetFile(path).num_row_groups == 5


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_bad_event_midway_leaves_no_partial_file_and_the_old_file_intact(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"events.{fmt}"
    path.write_text("previous export")

    def broken() -> Iterator[dict[str, Any]]:
        yield from make_events(15_000)
        yield next(make_events(1, start=15_001)) | {"occurred_at": "not a time"}

    with pytest.raises(InputError, match=r"event 15000 \(seq 15001\): occurred_at: expected an ISO 8601 time"):
        write_events(broken(), path, fmt)
    assert path.read_text() == "previous export"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


BAD_EVENTS = [
    ("no-seq", {"seq": None}, r"event 0: seq: expected a whole number, got None"),
    ("subjects-not-ids", {"subjects": [1]}, r"event 0 \(seq 1\): subjects: expected a list of ids"),
    ("payload-not-object", {"payload": []}, r"payload: expected an object, got \[\]"),
    ("prev-hash-number", {"prev_hash": 7}, r"prev_hash: expected text, got 7"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in BAD_EVENTS], ids=[c[0] for c in BAD_EVENTS])
def test_a_malformed_event_is_refused_with_the_field_at_fault(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        events_table([next(make_events(1)) | change])


def test_an_unknown_format_or_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"format: expected 'csv' or 'parquet', got 'xlsx'"):
        write_events([], tmp_path / "e.xlsx", "xlsx")
    with pytest.raises(InputError, match=r"expected an existing directory"):
        write_events([], tmp_path / "absent" / "e.csv", "csv")
    assert list(tmp_path.iterdir()) == []
