"""A lineage trace drawn as a tree on a terminal (``qgov lineage trace`` and the demo)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.tree import Tree


def render_trace(doc: dict[str, Any], console: Console) -> None:
    """The trace as a tree from the root (a node reached twice is shown once, then referred to)."""
    nodes = {n["id"]: n for n in doc["nodes"]}
    upstream = doc["direction"] == "upstream"
    links: dict[str, list[tuple[str, str]]] = {}
    for e in doc["edges"]:
        near, far = (e["child"], e["parent"]) if upstream else (e["parent"], e["child"])
        if e["relation"] == "wasAssociatedWith" and not upstream:
            near, far = e["child"], e["parent"]
        links.setdefault(near, []).append((e["relation"], far))
    shown: set[str] = set()
    # read from the root outwards: downstream, "X used Y" is shown under Y as "input to X"
    verbs = {} if upstream else {"used": "input to", "wasGeneratedBy": "generated", "wasDerivedFrom": "source of"}

    def label(node_id: str, relation: str | None) -> str:
        n = nodes.get(node_id, {"kind": "?", "type": "?", "name": node_id})
        cls = n.get("classification", {}).get("classification")
        tag = f" [bold red]{cls}[/]" if n.get("classification", {}).get("controlled") else (f" {cls}" if cls else "")
        gone = " [dim](deleted)[/]" if n.get("invalidated_at") else ""
        if n.get("attributes", {}).get("ingested") is False:  # declared by DVC, absent from the workspace
            gone += " [yellow](absent: not ingested)[/]"
        via = f"[dim]{verbs.get(relation, relation)}[/] " if relation else ""
        return f"{via}[bold]{n['name'] or node_id}[/] [dim]{n['type']} {node_id[:12]}[/]{tag}{gone}"

    def grow(branch: Tree, node_id: str) -> None:
        for relation, far in sorted(links.get(node_id, []), key=lambda x: (x[0], nodes.get(x[1], {}).get("name", ""))):
            if far in shown:
                branch.add(label(far, relation) + " [dim](see above)[/]")
                continue
            shown.add(far)
            grow(branch.add(label(far, relation)), far)

    tree = Tree(label(doc["root"], None))
    shown.add(doc["root"])
    grow(tree, doc["root"])
    console.print(
        f"{doc['direction']} lineage as of {doc['as_of']} ({len(doc['nodes'])} nodes, {len(doc['edges'])} edges)"
    )
    console.print(tree)


__all__ = ["render_trace"]
