"""The audit report page: escaping, graph layout, empty sections and the integrity verdict."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

from governance.report import (
    LABEL_H,
    assign_layers,
    count_crossings,
    integrity_verdict,
    layout_lineage,
    order_layers,
    render_report,
)
from qgov.errors import InputError

NOTE = """qgov.lab.example/provenance
1200
q3V0n1xkYbqv2mJ0Xn1cQm6l8U5mTq0c8t3Jx1W2b7E=

— qgov-lab 9f2c41aa3kZ8m4T0dQvFh7WmN2p1cA+Xb3yR5sL6uJ0eK9oP2iV4nH8gD1fS7aQ3zC5xB6wE=
"""


def _node(node_id: str, kind: str, type_: str, name: str, depth: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "kind": kind,
        "type": type_,
        "name": name,
        "created_at": "2024-03-11T09:00:00Z",
        "depth": depth,
        "attributes": {},
        **extra,
    }


def _edge(child: str, parent: str, relation: str, seq: int, **extra: Any) -> dict[str, Any]:
    return {
        "child": child,
        "parent": parent,
        "relation": relation,
        "activity": None,
        "valid_from": "2024-03-11T09:00:00Z",
        "event_seq": seq,
        **extra,
    }


def _classified(eccn: str, controlled: bool, basis: str = "automatic") -> dict[str, Any]:
    rules = ["ear.4e906"] if controlled else []
    return {
        "classification": eccn,
        "controlled": controlled,
        "basis": basis,
        "rules": rules,
        "policy_version": "ear-2024.1",
        "decision_id": f"dec-{eccn}",
        "decided_at": "2024-03-11T09:05:00Z",
    }


def _event(seq: int, type_: str, actor: str, subjects: list[str], summary: str, day: int) -> dict[str, Any]:
    return {
        "seq": seq,
        "event_id": f"ev-{seq:04d}",
        "type": type_,
        "occurred_at": f"2024-03-{day:02d}T10:00:00Z",
        "actor": actor,
        "subjects": subjects,
        "summary": summary,
    }


def realistic_report() -> dict[str, Any]:
    """Figure 3 of a paper: 15 nodes, a diamond (counts -> fit -> plot and counts -> plot), one controlled input."""
    nodes = [
        _node("art-fig3", "entity", "artifact", "results/figure3.csv", 0, classification=_classified("EAR99", False)),
        _node("act-plot", "activity", "derivation", "plot figure 3", 1),
        _node(
            "art-counts",
            "entity",
            "artifact",
            "results/counts.parquet",
            2,
            classification=_classified("EAR99", False, "inherited"),
        ),
        _node(
            "art-fit",
            "entity",
            "artifact",
            "results/fit_params.json",
            2,
            classification=_classified("EAR99", False, "inherited"),
        ),
        _node("person-alice", "agent", "person", "alice", 2),
        _node("stage-fit", "activity", "dvc_stage", "dvc stage: fit", 3),
        _node("stage-count", "activity", "dvc_stage", "dvc stage: count", 3),
        _node("art-model", "entity", "artifact", "code/fit_model.py", 4, classification=_classified("EAR99", False)),
        _node("flow-nightly", "agent", "flow", "nightly-dvc-repro", 4),
        _node(
            "art-raw", "entity", "artifact", "raw/2024-03-11/run-0042.h5", 4, classification=_classified("EAR99", False)
        ),
        _node(
            "art-pulses",
            "entity",
            "artifact",
            "raw/2024-03-11/pulse_schedule_cryo_controller.qasm",
            4,
            classification=_classified("4E906", True),
        ),
        _node("ingest-0311", "activity", "ingest", "ingest run 2024-03-11", 5),
        _node("dsv-3", "entity", "dataset_version", "fig-data@v3", 5),
        _node("person-bob", "agent", "person", "bob", 6),
        _node(
            "art-counts-old",
            "entity",
            "artifact",
            "results/counts_v1.parquet",
            2,
            invalidated_at="2024-03-20T12:00:00Z",
            classification=_classified("EAR99", False),
        ),
    ]
    edges = [
        _edge("art-fig3", "act-plot", "wasGeneratedBy", 30),
        _edge("act-plot", "art-counts", "used", 28),
        _edge("act-plot", "art-fit", "used", 29),
        _edge("act-plot", "person-alice", "wasAssociatedWith", 30),
        _edge("art-fig3", "art-counts", "wasDerivedFrom", 30),
        _edge("art-fig3", "art-counts-old", "wasDerivedFrom", 20, valid_to="2024-03-20T12:00:00Z"),
        _edge("art-fit", "stage-fit", "wasGeneratedBy", 25),
        _edge("stage-fit", "art-counts", "used", 24),
        _edge("stage-fit", "art-model", "used", 24),
        _edge("stage-fit", "flow-nightly", "wasAssociatedWith", 25),
        _edge("art-counts", "stage-count", "wasGeneratedBy", 22),
        _edge("stage-count", "art-raw", "used", 21),
        _edge("stage-count", "art-pulses", "used", 21),
        _edge("stage-count", "flow-nightly", "wasAssociatedWith", 22),
        _edge("art-raw", "ingest-0311", "wasGeneratedBy", 10),
        _edge("art-pulses", "ingest-0311", "wasGeneratedBy", 10),
        _edge("art-raw", "dsv-3", "wasDerivedFrom", 11),
        _edge("ingest-0311", "person-bob", "wasAssociatedWith", 10),
    ]
    classifications = [
        {
            "artifact": "art-pulses",
            "name": "raw/2024-03-11/pulse_schedule_cryo_controller.qasm",
            "classification": "4E906",
            "controlled": True,
            "basis": "automatic",
            "source": "automatic",
            "policy_version": "ear-2024.1",
            "decided_at": "2024-03-11T09:05:00Z",
            "decided_by": "qgov",
            "reasons": [
                {
                    "rule": "ear.4e906",
                    "citation": "15 CFR 774 Supp. 1, ECCN 4E906",
                    "text": "Technology for the development of quantum computers, cryogenic control electronics.",
                }
            ],
        }
    ]
    access = [
        _event(
            40, "access.requested", "carol", ["art-pulses"], "carol (visiting, CN) requests raw pulse schedules", 12
        ),
        _event(
            41, "access.denied", "export-officer", ["art-pulses"], "denied: 4E906 to a CN national needs a licence", 13
        ),
        _event(35, "access.approved", "export-officer", ["art-raw", "art-counts"], "approved: EAR99 data for dave", 12),
        _event(36, "access.granted", "qgov", ["art-raw", "art-counts"], "grant to dave until 2024-06-30", 12),
        _event(44, "artifact.fetched", "dave", ["art-counts"], "dave fetched results/counts.parquet", 14),
        _event(52, "release.published", "alice", ["art-fig3"], "figure 3 released with arXiv:2403.01234", 21),
    ]
    retention = [
        _event(18, "retention.assigned", "qgov", ["art-raw"], "raw data: keep 10 years (funder policy)", 11),
        _event(47, "hold.placed", "legal", ["art-raw", "art-pulses"], "litigation hold 2024-L-07", 15),
        _event(50, "artifact.deleted", "alice", ["art-counts-old"], "superseded counts deleted (no hold)", 20),
    ]
    integrity = {
        "chain_ok": True,
        "events_checked": 1234,
        "head_hash": "9c1f" * 16,
        "checkpoint": {"size": 1200, "root_hash": "ab54" * 16, "note": NOTE, "signature_ok": True},
        "inclusion": [
            {"event_seq": 41, "event_id": "ev-0041", "verified": True},
            {"event_seq": 52, "event_id": "ev-0052", "verified": True},
        ],
        "public_key": "qgov-lab+9f2c41aa+AXt7m2QpZx0cL5bV8nR3kW1yS6dF4gH9jK2lM7oP0qE=",
    }
    return {
        "schema": "qgov.audit-report/v1",
        "generated_at": "2024-04-02T08:30:00Z",
        "generated_by": "alice",
        "subject": {"id": "art-fig3", "name": "results/figure3.csv", "type": "artifact", "dataset": "fig-data"},
        "trace": {
            "schema": "qgov.trace/v1",
            "root": "art-fig3",
            "direction": "upstream",
            "depth": None,
            "as_of": "2024-04-02T08:29:59Z",
            "nodes": nodes,
            "edges": edges,
        },
        "classifications": classifications,
        "access": access,
        "retention": retention,
        "integrity": integrity,
    }


def random_dag(size: int, seed: int) -> dict[str, Any]:
    """An upstream trace of ``size`` nodes; node i derives from some of the nodes after it, all reach node 0."""
    rng = random.Random(seed)
    kinds = [("entity", "artifact"), ("activity", "derivation"), ("agent", "person")]
    edges: list[tuple[int, int]] = []
    for parent in range(1, size):
        children = {rng.randrange(max(0, parent - 12), parent)} | {
            rng.randrange(parent) for _ in range(rng.randrange(3))
        }
        edges += [(child, parent) for child in sorted(children)]
    depth = {0: 0}
    for child, parent in sorted(edges, key=lambda e: e[1]):
        depth[parent] = min(depth.get(parent, size), depth[child] + 1)
    nodes = [_node(f"n{i:03d}", *kinds[rng.randrange(3)], f"data/item-{i}.bin", depth[i]) for i in range(size)]
    return {
        "root": "n000",
        "direction": "upstream",
        "nodes": nodes,
        "edges": [_edge(f"n{c:03d}", f"n{p:03d}", "wasDerivedFrom", i) for i, (c, p) in enumerate(edges)],
    }


def _svg(html: str) -> str:
    match = re.search(r"<svg.*?</svg>", html, re.S)
    assert match, "no inline SVG in the page"
    return match.group(0)


def _node_group(html: str, node_id: str) -> str:
    match = re.search(rf'<g class="node[^"]*" data-id="{re.escape(node_id)}">.*?</g>', _svg(html), re.S)
    assert match, f"no node group for {node_id}"
    return match.group(0)


def test_user_supplied_text_is_escaped_everywhere() -> None:
    doc = realistic_report()
    evil = "<script>alert('x')</script>"
    doc["subject"]["name"] = evil
    doc["trace"]["nodes"][0]["name"] = evil
    doc["access"][0]["actor"] = evil
    doc["access"][0]["summary"] = evil
    doc["integrity"]["checkpoint"]["note"] = evil
    html = render_report(doc)
    assert "<script" not in html
    assert html.count("&lt;script&gt;") >= 5


def test_every_node_appears_in_the_svg_once() -> None:
    doc = realistic_report()
    svg = _svg(render_report(doc))
    assert len(re.findall(r'<g class="node[ "]', svg)) == len(doc["trace"]["nodes"])
    for node in doc["trace"]["nodes"]:
        assert svg.count(f'data-id="{node["id"]}"') == 1
        assert f"<title>{node['id']}&#10;" in svg


def test_every_edge_is_drawn_with_its_relation_and_an_arrowhead() -> None:
    doc = realistic_report()
    svg = _svg(render_report(doc))
    assert svg.count('<path class="edge') == len(doc["trace"]["edges"])
    assert svg.count("marker-end=") == len(doc["trace"]["edges"])
    assert svg.count('class="edge-label"') == len(doc["trace"]["edges"])


def test_edge_labels_never_overprint_in_a_crowded_graph() -> None:
    layout = layout_lineage(random_dag(150, 6))
    shown = [(e.label_x, e.label_y) for e in layout.edges if e.label_shown]
    assert 0 < len(shown) < len(layout.edges)
    for i, (x1, y1) in enumerate(shown):
        assert all(x1 != x2 or abs(y1 - y2) >= LABEL_H for x2, y2 in shown[i + 1 :])
    assert all(e.relation in e.title for e in layout.edges)


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("results/figure3.csv", "results/figure3.csv"),
        ("raw/2024-03-11/calibration/run-0042.h5", "…/run-0042.h5"),
        ("a-very-long-name-without-any-folder-in-it", "…hout-any-folder-in-it"),
    ],
    ids=["fits", "path-keeps-file-name", "no-folder-keeps-tail"],
)
def test_long_names_keep_their_tail_in_the_box(name: str, label: str) -> None:
    trace = {"nodes": [_node("x", "entity", "artifact", name, 0)], "edges": []}
    (node,) = layout_lineage(trace).nodes
    assert node.label == label and node.name == name


def test_invalidated_edges_and_nodes_are_dashed() -> None:
    svg = _svg(render_report(realistic_report()))
    assert svg.count('<path class="edge invalidated"') == 1
    assert "invalidated" in _node_group(svg, "art-counts-old").split(">", 1)[0]


def test_controlled_nodes_carry_a_red_border_class_and_their_eccn() -> None:
    html = render_report(realistic_report())
    group = _node_group(html, "art-pulses")
    assert 'class="node entity controlled"' in group
    assert '<text class="eccn"' in group and ">4E906</text>" in group
    assert "controlled" not in _node_group(html, "art-raw").split(">", 1)[0]
    assert "15 CFR 774 Supp. 1, ECCN 4E906" in html


@pytest.mark.parametrize(
    ("section", "wording"),
    [
        ("access", "No access events touch this lineage."),
        ("retention", "No retention or deletion events touch this lineage."),
        ("trace", "No lineage is recorded for this output."),
        ("trace", "No nodes in this lineage, so nothing is classified."),
        ("checkpoint", "No signed checkpoint covers this log yet."),
        ("inclusion", "No inclusion proofs were checked for this report."),
    ],
    ids=["access", "retention", "lineage", "classification", "checkpoint", "inclusion"],
)
def test_empty_sections_say_so_in_words(section: str, wording: str) -> None:
    doc = realistic_report()
    if section == "trace":
        doc["trace"]["nodes"], doc["trace"]["edges"] = [], []
    elif section in ("checkpoint", "inclusion"):
        doc["integrity"][section] = None if section == "checkpoint" else []
    else:
        doc[section] = []
    html = render_report(doc)
    assert wording in html
    assert wording not in render_report(realistic_report())


def test_access_events_are_listed_oldest_first() -> None:
    html = render_report(realistic_report())
    table = html[html.index('<section id="access">') : html.index('<section id="retention">')]
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', table)]
    assert seqs == [35, 36, 40, 41, 44, 52]
    assert '<span class="subject" title="art-counts">results/counts.parquet</span>' in table


def test_the_page_is_self_contained_and_printable() -> None:
    html = render_report(realistic_report())
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert "@media print" in html
    assert "qgov audit verify-proof" in html


def test_same_document_renders_byte_for_byte_the_same_whatever_the_node_order() -> None:
    doc = realistic_report()
    shuffled = copy.deepcopy(doc)
    random.Random(7).shuffle(shuffled["trace"]["nodes"])
    assert render_report(doc) == render_report(copy.deepcopy(doc)) == render_report(shuffled)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_two_nodes_overlap_in_a_100_node_random_dag(seed: int) -> None:
    layout = layout_lineage(random_dag(100, seed))
    boxes = [(n.x, n.y, n.x + n.w, n.y + n.h) for n in layout.nodes]
    assert len(boxes) == 100
    for i, (ax0, ay0, ax1, ay1) in enumerate(boxes):
        assert ax0 >= 0 and ax1 <= layout.width and ay0 >= 0 and ay1 <= layout.height
        for bx0, by0, bx1, by1 in boxes[i + 1 :]:
            assert ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0, "two node boxes overlap"


def test_every_edge_points_onward_from_the_subject() -> None:
    trace = random_dag(100, 4)
    layer = assign_layers(trace)
    assert layer["n000"] == 0
    assert all(layer[e["parent"]] > layer[e["child"]] for e in trace["edges"])


def test_barycentre_ordering_does_not_add_crossings() -> None:
    trace = random_dag(150, 5)
    layer = assign_layers(trace)
    links = [(e["child"], e["parent"]) for e in trace["edges"]]
    start: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for node in sorted(layer):
        start[layer[node]].append(node)
    ordered = order_layers(layer, links, {n: n for n in layer})
    assert sorted(map(sorted, ordered)) == sorted(map(sorted, start))
    assert count_crossings(ordered, links) < count_crossings(start, links)


def _integrity(**changes: Any) -> dict[str, Any]:
    integrity = realistic_report()["integrity"]
    integrity.update(changes)
    return integrity


@pytest.mark.parametrize(
    ("integrity", "ok", "says"),
    [
        (_integrity(), True, "Signed checkpoint of 1200 events verifies."),
        (_integrity(checkpoint=None), True, "checked only against itself"),
        (
            _integrity(chain_ok=False, problem="event 17: prev_hash does not match event 16"),
            False,
            "event 17: prev_hash does not match event 16",
        ),
        (_integrity(chain_ok=False), False, "the hash chain did not verify"),
        (
            _integrity(checkpoint={"size": 1200, "root_hash": "00", "note": NOTE, "signature_ok": False}),
            False,
            "checkpoint signature does not verify",
        ),
        (
            _integrity(inclusion=[{"event_seq": 41, "event_id": "ev-0041", "verified": False}]),
            False,
            "inclusion proof failed for event(s) 41",
        ),
        (None, False, "no integrity check"),
    ],
    ids=["intact", "no-checkpoint", "tampered-with-problem", "tampered", "bad-signature", "failed-inclusion", "absent"],
)
def test_integrity_verdict(integrity: dict[str, Any] | None, ok: bool, says: str) -> None:
    verdict = integrity_verdict(integrity)
    assert verdict.ok is ok
    assert any(says in line for line in verdict.details)


def test_a_tampered_log_shows_the_failure_and_the_problem_in_the_page() -> None:
    doc = realistic_report()
    doc["integrity"].update(chain_ok=False, problem="event 17: prev_hash does not match event 16")
    html = render_report(doc)
    assert 'class="verdict bad"' in html
    assert "Integrity FAILED" in html and "TAMPERED" in html
    assert html.count("event 17: prev_hash does not match event 16") == 2


def test_a_document_of_another_schema_is_refused() -> None:
    doc = realistic_report()
    doc["schema"] = "qgov.audit-report/v9"
    with pytest.raises(InputError, match=r"expected schema 'qgov.audit-report/v1', got 'qgov.audit-report/v9'"):
        render_report(doc)
