"""Render one audit report (``qgov.audit-report/v1``) as a self-contained HTML page.

Pure: the audit service builds the report document; this module only lays out its
lineage graph and fills the template. The graph is drawn here as inline SVG (a layered
DAG in the manner of Sugiyama: longest-path columns, dummy slots for long edges, rows
ordered by the barycentre heuristic) so the page needs no JavaScript and no network to be
read, printed or archived next to the paper it audits.

Layout, left to right: the subject in column 0, each column one step further along the
trace. Arrows follow PROV (from the derived thing to what it came from), so an edge reads
as a sentence: ``figure3.csv wasDerivedFrom counts.parquet``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2

from qgov.errors import InputError

SCHEMA = "qgov.audit-report/v1"
NODE_W, NODE_H = 190, 46
DUMMY_H = 10  # the slot a long edge takes in each column it passes through
ROW_GAP = 16
LAYER_GAP = 120  # wide enough for the longest relation label, "wasAssociatedWith"
MARGIN = 24
LABEL_H = 11  # edge labels closer than this in one gap would overprint
SWEEPS = 4
NAME_CHARS = 22  # what fits in NODE_W at the node font size
DUMMY = "\x00"  # prefix of dummy slot ids; no node id starts with a NUL
Box = tuple[float, float, float, float]  # x, y, width, height


@dataclass(frozen=True)
class PlacedNode:
    id: str
    kind: str
    type: str
    name: str
    label: str
    eccn: str | None  # set only for controlled classifications
    invalidated: bool
    layer: int
    x: float
    y: float
    w: float = NODE_W
    h: float = NODE_H


@dataclass(frozen=True)
class PlacedEdge:
    child: str
    parent: str
    relation: str
    path: str
    label_x: float
    label_y: float
    label_shown: bool  # False where it would overprint another label in the same gap
    invalidated: bool
    title: str


@dataclass(frozen=True)
class GraphLayout:
    width: float
    height: float
    nodes: tuple[PlacedNode, ...]
    edges: tuple[PlacedEdge, ...]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    headline: str
    details: tuple[str, ...]


def _away_from_root(trace: Mapping[str, Any], edge: Mapping[str, Any]) -> tuple[str, str]:
    """An edge as (nearer the root, farther from it): an upstream trace walks child to parent."""
    downstream = trace.get("direction") == "downstream"
    return (edge["parent"], edge["child"]) if downstream else (edge["child"], edge["parent"])


def assign_layers(trace: Mapping[str, Any]) -> dict[str, int]:
    """Longest-path layering from the root, so every edge points one column or more onward.

    A node on a cycle (only a corrupted trace has one) keeps its recorded ``depth``.
    """
    ids = [n["id"] for n in trace.get("nodes", [])]
    depth = {n["id"]: int(n.get("depth") or 0) for n in trace.get("nodes", [])}
    out: dict[str, list[str]] = {i: [] for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for near, far in (_away_from_root(trace, e) for e in trace.get("edges", [])):
        if near in out and far in out and near != far:
            out[near].append(far)
            indegree[far] += 1
    layer = {i: depth[i] for i in ids if indegree[i] == 0}
    queue = deque(sorted(layer))
    done: set[str] = set()
    while queue:
        node = queue.popleft()
        done.add(node)
        for far in out[node]:
            layer[far] = max(layer.get(far, 0), layer[node] + 1)
            indegree[far] -= 1
            if indegree[far] == 0:
                queue.append(far)
    raw = {i: layer[i] if i in done else depth[i] for i in ids}
    compact = {value: index for index, value in enumerate(sorted(set(raw.values())))}
    return {i: compact[raw[i]] for i in ids}


def split_long_links(
    layer_of: Mapping[str, int], links: Sequence[tuple[str, str]]
) -> tuple[dict[str, int], list[list[str]]]:
    """Give a link spanning k columns k-1 dummy slots, so it is ordered with the nodes and
    drawn around the boxes rather than through them. Returns the layers and one chain per link."""
    layers = dict(layer_of)
    chains = []
    for index, (near, far) in enumerate(links):
        dummies = [f"{DUMMY}{index}.{col}" for col in range(layers[near] + 1, layers[far])]
        layers.update((dummy, layers[near] + 1 + k) for k, dummy in enumerate(dummies))
        chains.append([near, *dummies, far])
    return layers, chains


def count_crossings(order: Sequence[Sequence[str]], links: Iterable[tuple[str, str]]) -> int:
    """Crossings among links joining adjacent columns (longer links are not counted)."""
    where = {node: (col, row) for col, column in enumerate(order) for row, node in enumerate(column)}
    spans: dict[int, list[tuple[int, int]]] = {}
    for a, b in links:
        (ca, ra), (cb, rb) = sorted((where[a], where[b]))
        if cb == ca + 1:
            spans.setdefault(ca, []).append((ra, rb))
    # Two links cross when their ends are in opposite orders: with the links sorted by their
    # left end (then right), the crossings are the strict inversions of the right ends, counted
    # in O(n log n) with a Fenwick tree (a page of a 500-node trace has thousands of links).
    total = 0
    for pairs in spans.values():
        pairs.sort()
        size = max(b for _, b in pairs) + 2
        tree = [0] * size
        for seen, (_, b) in enumerate(pairs):
            not_above, i = 0, b + 1
            while i > 0:
                not_above += tree[i]
                i -= i & -i
            total += seen - not_above
            i = b + 1
            while i < size:
                tree[i] += 1
                i += i & -i
    return total


def _height(node_id: str) -> float:
    return DUMMY_H if node_id.startswith(DUMMY) else NODE_H


def stack_column(column: Sequence[str]) -> list[float]:
    """The top of each slot in a column centred on y = 0."""
    tops, y = [], 0.0
    for node_id in column:
        tops.append(y)
        y += _height(node_id) + ROW_GAP
    return [top - (y - ROW_GAP) / 2 for top in tops]


def order_layers(
    layer_of: Mapping[str, int], links: Sequence[tuple[str, str]], sort_key: Mapping[str, Any]
) -> list[list[str]]:
    """Order each column by the mean height of its neighbours, sweeping both ways.

    Heights are those drawn (columns centred), so columns of different sizes compare. The
    ordering with the fewest crossings seen is kept; ties and nodes without neighbours keep
    their place, which makes the result deterministic.
    """
    columns: list[list[str]] = [[] for _ in range(max(layer_of.values(), default=-1) + 1)]
    for node in sorted(layer_of, key=lambda n: sort_key[n]):
        columns[layer_of[node]].append(node)
    neighbours: dict[str, list[str]] = {n: [] for n in layer_of}
    for a, b in links:
        neighbours[a].append(b)
        neighbours[b].append(a)
    best, best_crossings = [list(c) for c in columns], count_crossings(columns, links)

    def centres(column: Sequence[str]) -> dict[str, float]:
        return {n: top + _height(n) / 2 for n, top in zip(column, stack_column(column), strict=True)}

    pos = {n: y for col in columns for n, y in centres(col).items()}
    for sweep in range(2 * SWEEPS):
        forward = sweep % 2 == 0
        for index in range(1, len(columns)) if forward else range(len(columns) - 2, -1, -1):
            keys = {}
            for node in columns[index]:
                near = [pos[m] for m in neighbours[node] if (layer_of[m] < index if forward else layer_of[m] > index)]
                keys[node] = sum(near) / len(near) if near else pos[node]
            columns[index].sort(key=keys.__getitem__)
            pos.update(centres(columns[index]))  # only this column moved
        crossings = count_crossings(columns, links)
        if crossings < best_crossings:
            best, best_crossings = [list(c) for c in columns], crossings
    return best


def _short(name: str) -> str:
    """Keep the tail, from a folder boundary if there is one: the file name tells nodes apart."""
    if len(name) <= NAME_CHARS:
        return name
    tail = name[-(NAME_CHARS - 1) :]
    return "…" + (tail[tail.index("/") :] if "/" in tail[:-1] else tail)


def _place_node(node: Mapping[str, Any], layer: int, box: Box) -> PlacedNode:
    name = str(node.get("name", node["id"]))
    classification = node.get("classification") or {}
    eccn = str(classification.get("classification")) if classification.get("controlled") else None
    kind, type_, invalidated = (
        str(node.get("kind", "entity")),
        str(node.get("type", "")),
        bool(node.get("invalidated_at")),
    )
    return PlacedNode(node["id"], kind, type_, name, _short(name), eccn, invalidated, layer, box[0], box[1])


def place_columns(columns: Sequence[Sequence[str]]) -> tuple[dict[str, Box], float]:
    """Every slot's box, columns side by side and centred on the tallest; and its height."""
    tallest = max(sum(_height(n) + ROW_GAP for n in column) - ROW_GAP for column in columns)
    boxes: dict[str, Box] = {}
    for col, column in enumerate(columns):
        x = MARGIN + col * (NODE_W + LAYER_GAP)
        tops = stack_column(column)
        boxes.update(
            (n, (x, MARGIN + tallest / 2 + top, NODE_W, _height(n))) for n, top in zip(column, tops, strict=True)
        )
    return boxes, tallest


def spread_ports(chains: Sequence[Sequence[str]], boxes: Mapping[str, Box]) -> dict[tuple[int, int], float]:
    """The height at which each chain leaves its first box (end 0) and enters its last (end -1).

    The ends on one side of a box are spread down that side in the order of the slots they
    come from, so the edges of a hub neither cross there nor meet in one blob of arrowheads.
    """
    sides: dict[tuple[str, int], list[tuple[float, int]]] = {}
    for index, chain in enumerate(chains):
        for end, step in ((0, 1), (-1, -2)):
            _, y, _, h = boxes[chain[step]]
            sides.setdefault((chain[end], end), []).append((y + h / 2, index))
    ports = {}
    for (node, end), attached in sides.items():
        _, y, _, h = boxes[node]
        for k, (_, index) in enumerate(sorted(attached)):
            ports[index, end] = y + 6 + (h - 12) * (k + 1) / (len(attached) + 1)
    return ports


def route_edge(chain: Sequence[Box], start_y: float, end_y: float, reverse: bool) -> tuple[str, float, float]:
    """An SVG path through a chain of boxes (near the root first), and where its label goes.

    Curves with horizontal tangents cross the gaps; straight runs cross the dummy slots.
    ``reverse`` draws it far to near (PROV arrows point to the parent). The label sits
    midway across the gap next to the arrowhead. Only a corrupted trace has an edge to the
    same or an earlier column; it is drawn straight across rather than hidden.
    """
    points, curves = [(chain[0][0] + chain[0][2], start_y)], []
    for x, y, w, h in chain[1:-1]:
        points += [(x, y + h / 2), (x + w, y + h / 2)]
        curves += [True, False]
    points.append((chain[-1][0], end_y))
    curves.append(True)
    if reverse:
        points.reverse()
        curves.reverse()
    path = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for curve, (ax, ay), (bx, by) in zip(curves, points[:-1], points[1:], strict=True):
        mid = (ax + bx) / 2
        path += f" C{mid:.1f},{ay:.1f} {mid:.1f},{by:.1f} {bx:.1f},{by:.1f}" if curve else f" L{bx:.1f},{by:.1f}"
    (ax, ay), (bx, by) = points[-2:]
    return path, (ax + bx) / 2, (ay + by) / 2


def _place_edge(
    edge: Mapping[str, Any], nodes: Mapping[str, Any], route: tuple[str, float, float], shown: bool
) -> PlacedEdge:
    child, parent = (nodes[edge[end]].get("name", edge[end]) for end in ("child", "parent"))
    ended = f", until {edge['valid_to']}" if edge.get("valid_to") else ""
    title = f"{child} {edge['relation']} {parent} (from {edge.get('valid_from', '?')}{ended})"
    return PlacedEdge(edge["child"], edge["parent"], edge["relation"], *route, shown, bool(ended), title)


def layout_lineage(trace: Mapping[str, Any]) -> GraphLayout:
    """Place every node of the trace in columns and route every edge between them."""
    nodes = {n["id"]: n for n in trace.get("nodes", [])}
    if not nodes:
        return GraphLayout(0, 0, (), ())
    edges = [
        e for e in trace.get("edges", []) if {e["child"], e["parent"]} <= nodes.keys() and e["child"] != e["parent"]
    ]
    layer_of, chains = split_long_links(assign_layers(trace), [_away_from_root(trace, e) for e in edges])
    sort_key = {
        n: (str(nodes[n].get("type", "")), str(nodes[n].get("name", "")), n) if n in nodes else ("\uffff", n)
        for n in layer_of
    }
    links = [link for chain in chains for link in zip(chain, chain[1:], strict=False)]
    columns = order_layers(layer_of, links, sort_key)
    boxes, tallest = place_columns(columns)
    ports = spread_ports(chains, boxes)
    routed, labels_at = [], dict[float, list[float]]()  # the label heights already taken in each gap
    for index, (edge, chain) in enumerate(zip(edges, chains, strict=True)):
        route = route_edge([boxes[n] for n in chain], ports[index, 0], ports[index, -1], chain[0] == edge["parent"])
        shown = all(abs(route[2] - other) >= LABEL_H for other in labels_at.setdefault(route[1], []))
        labels_at[route[1]] += [route[2]] if shown else []
        routed.append(_place_edge(edge, nodes, route, shown))
    placed = [_place_node(nodes[n], layer_of[n], boxes[n]) for column in columns for n in column if n in nodes]
    width = 2 * MARGIN + len(columns) * NODE_W + (len(columns) - 1) * LAYER_GAP
    return GraphLayout(width, tallest + 2 * MARGIN, tuple(placed), tuple(routed))


def integrity_verdict(integrity: Mapping[str, Any] | None) -> Verdict:
    """One verdict for the header: intact only if the chain, checkpoint and every proof verify."""
    if not integrity:
        return Verdict(False, "Integrity not checked", ("This report carries no integrity check.",))
    problems: list[str] = []
    if not integrity.get("chain_ok"):
        problems.append(str(integrity.get("problem") or "the hash chain did not verify"))
    checkpoint = integrity.get("checkpoint")
    if checkpoint and not checkpoint.get("signature_ok"):
        problems.append("the checkpoint signature does not verify with the published key")
    failed = [str(p.get("event_seq")) for p in integrity.get("inclusion", []) if not p.get("verified")]
    if failed:
        problems.append(f"inclusion proof failed for event(s) {', '.join(failed)}")
    if problems:
        return Verdict(False, "Integrity FAILED: the record may have been edited", tuple(problems))
    details = [f"Hash chain verified over {integrity.get('events_checked', 0)} events."]
    if checkpoint:
        details.append(f"Signed checkpoint of {checkpoint.get('size')} events verifies.")
    else:
        details.append("No signed checkpoint covers this log yet: the chain is checked only against itself.")
    return Verdict(True, "Integrity verified: the record is intact", tuple(details))


def _oldest_first(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(events, key=lambda e: (str(e.get("occurred_at", "")), int(e.get("seq", 0))))


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("governance", "templates"),
    autoescape=True,  # names, summaries and notes come from users
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.ChainableUndefined,  # optional fields (problem, valid_to) may be absent
)


def render_report(doc: Mapping[str, Any]) -> str:
    """The report document as one HTML page: inline CSS and SVG, no scripts, no URLs."""
    if doc.get("schema") != SCHEMA:
        raise InputError(f"audit report: expected schema {SCHEMA!r}, got {doc.get('schema')!r}")
    trace = doc.get("trace") or {}
    layout = layout_lineage(trace)
    nodes = {n["id"]: n for n in trace.get("nodes", [])}
    decisions = {c["artifact"]: c for c in doc.get("classifications", [])}
    rows = [(nodes[p.id], decisions.get(p.id)) for p in sorted(layout.nodes, key=lambda p: (p.layer, p.y))]
    return _ENV.get_template("report.html.j2").render(
        doc=doc,
        trace=trace,
        layout=layout,
        verdict=integrity_verdict(doc.get("integrity")),
        names={i: str(n.get("name", i)) for i, n in nodes.items()},
        classification_rows=rows,
        controlled=sum(1 for p in layout.nodes if p.eccn),
        access=_oldest_first(doc.get("access", [])),
        retention=_oldest_first(doc.get("retention", [])),
        changes=_oldest_first(doc.get("changes", [])),
        keep_until=doc.get("keep_until", []),
    )
