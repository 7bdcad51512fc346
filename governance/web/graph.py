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


def graph_view(trace: Mapping[str, Any], agents: bool, zoom: int) -> dict[str, Any]:
    """What the template draws: the layout, its size at ``zoom`` per cent, and the legend."""
    if zoom not in ZOOMS:
        zoom = 100
    shown = trace if agents else without_agents(trace)
    layout: GraphLayout = layout_lineage(shown)
    return {
        "layout": layout,
        "width": round(layout.width * zoom / 100),
        "height": round(layout.height * zoom / 100),
        "zoom": zoom,
        "zooms": ZOOMS,
        "colours": RELATION_COLOURS,
        "hidden_labels": sum(1 for e in layout.edges if not e.label_shown),
        "agents_hidden": len(trace.get("nodes", [])) - len(shown["nodes"]),
    }


__all__ = ["ZOOMS", "graph_view", "without_agents"]
