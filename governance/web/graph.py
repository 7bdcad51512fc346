"""The auditor's lineage graph: the audit report's layered layout, drawn for a 1280 px screen.

The layout is :func:`governance.report.layout_lineage` (longest-path columns, barycentre
ordering, edge labels that would overprint another in the same gap left out), computed on
the server; the page shows it as inline SVG in a scrolling frame whose zoom is the SVG's
rendered size over its ``viewBox``. Agents (people, flows) can be collapsed: they hang off
every activity and crowd the picture when only the data's path matters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

from governance.report import GraphLayout, layout_lineage

ZOOMS = (25, 50, 75, 100, 150)
RELATION_COLOURS = {"used": "#3e63b8", "wasGeneratedBy": "#7a5c1e", "wasDerivedFrom": "#4b5563"} | {
    "wasAssociatedWith": "#c46f12"
}


def without_agents(trace: Mapping[str, Any]) -> dict[str, Any]:
    """The trace with its agent nodes, and the edges to them, left out."""
    agents = {n["id"] for n in trace.get("nodes", []) if n.get("kind") == "agent"}
    return dict(trace) | {
        "nodes": [n for n in trace.get("nodes", []) if n["id"] not in agents],
        "edges": [e for e in trace.get("edges", []) if e["child"] not in agents and e["parent"] not in agents],
    }


def agents_beside(trace: Mapping[str, Any]) -> dict[str, Any]:
    """Each association drawn with its own copy of the agent, next to its activity.

    An agent is associated with activities at every depth; drawn once, it lands in the last
    column and every association becomes a link across the whole picture (hundreds of them,
    routed through every column). A copy per association keeps each link one column long.
    """
    nodes = {n["id"]: n for n in trace.get("nodes", [])}
    agents = {i for i, n in nodes.items() if n.get("kind") == "agent"}
    kept = [n for n in trace.get("nodes", []) if n["id"] not in agents]
    edges = []
    for e in trace.get("edges", []):
        if e["parent"] in agents and e["child"] not in agents:
            copy = f"{e['parent']}@{e['child']}"
            kept.append(dict(nodes[e["parent"]]) | {"id": copy})
            edges.append(dict(e) | {"parent": copy})
        elif e["child"] not in agents and e["parent"] not in agents:
            edges.append(e)
    return dict(trace) | {"nodes": kept, "edges": edges}


_FILL = {"agent": "#ffdcb3", "activity": "#d6e2ff"}
_LINE = {"agent": "#a35a00", "activity": "#3e63b8"}


def svg(layout: GraphLayout, width: int, height: int, title: str) -> Markup:
    """The layout as inline SVG, written directly (a 500-node graph is ~1,500 elements: a
    template loop costs several times more than these f-strings). Every text is escaped."""
    out = [
        f'<svg width="{width}" height="{height}" viewBox="0 0 {round(layout.width)} {round(layout.height)}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui, Roboto, Arial, sans-serif"><defs>'
    ]
    out += [
        f'<marker id="arrow-{r}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="8" markerHeight="8" '
        f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
        for r, c in RELATION_COLOURS.items()
    ]
    out.append('</defs><g fill="none" stroke-width="1.3">')
    for e in layout.edges:
        relation = e.relation if e.relation in RELATION_COLOURS else "wasDerivedFrom"
        dash = ' stroke-dasharray="6 4"' if e.invalidated else ""
        out.append(
            f'<path d="{e.path}" stroke="{RELATION_COLOURS[relation]}"{dash} marker-end="url(#arrow-{relation})">'
            f"<title>{escape(e.title)}</title></path>"
        )
    out.append('</g><g font-size="10" fill="#3a4250" paint-order="stroke" stroke="#fcfcfd" stroke-width="3">')
    out += [
        f'<text x="{e.label_x:.1f}" y="{e.label_y - 3:.1f}" text-anchor="middle">{escape(e.relation)}</text>'
        for e in layout.edges
        if e.label_shown
    ]
    out.append("</g>")
    for n in layout.nodes:
        line = "#a4161a" if n.eccn else _LINE.get(n.kind, "#8a6d00")
        faded = ' opacity="0.65"' if n.invalidated else ""
        dash = ' stroke-dasharray="5 3"' if n.invalidated else ""
        tip = f"{n.id}&#10;{escape(n.name)} ({escape(n.type)})" + (
            f"&#10;controlled: {escape(n.eccn)}" if n.eccn else ""
        )
        out.append(
            f"<g{faded}><title>{tip}</title>"
            f'<rect x="{n.x}" y="{n.y}" width="{n.w}" height="{n.h}" rx="{10 if n.kind == "entity" else 2}" '
            f'fill="{_FILL.get(n.kind, "#fff4b3")}" stroke="{line}" stroke-width="{3 if n.eccn else 1.5}"{dash}/>'
            f'<text x="{n.x + 10}" y="{n.y + 19}" font-size="12" font-weight="600" fill="#1a1d23">'
            f"{escape(n.label)}</text>"
            f'<text x="{n.x + 10}" y="{n.y + 36}" font-size="11" fill="#4a5260">{escape(n.type)}'
            f"{' · invalidated' if n.invalidated else ''}</text>"
            + (
                f'<text x="{n.x + n.w - 9}" y="{n.y + 36}" font-size="11" font-weight="700" fill="#a4161a" '
                f'text-anchor="end">{escape(n.eccn)}</text>'
                if n.eccn
                else ""
            )
            + "</g>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def graph_view(trace: Mapping[str, Any], agents: bool, zoom: int, title: str = "Lineage graph") -> dict[str, Any]:
    """What the template draws: the layout, its size at ``zoom`` per cent, and the legend."""
    if zoom not in ZOOMS:
        zoom = 100
    shown = agents_beside(trace) if agents else without_agents(trace)
    layout: GraphLayout = layout_lineage(shown)
    width, height = round(layout.width * zoom / 100), round(layout.height * zoom / 100)
    return {
        "svg": svg(layout, width, height, title),
        "width": width,
        "height": height,
        "layout": layout,
        "zoom": zoom,
        "zooms": ZOOMS,
        "colours": RELATION_COLOURS,
        "hidden_labels": sum(1 for e in layout.edges if not e.label_shown),
        "agents_hidden": 0 if agents else len(trace.get("nodes", [])) - len(shown["nodes"]),
    }


__all__ = ["ZOOMS", "agents_beside", "graph_view", "svg", "without_agents"]
