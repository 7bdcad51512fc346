"""Lineage commands: record derivations, trace upstream/downstream at any time, export."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from governance.cli._context import open_app
from governance.cli._render import console, print_json
from governance.trace_render import render_trace
from qgov.canonical import parse_iso
from qgov.errors import InputError

lineage_app = typer.Typer(help="Record, trace and export lineage.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Show the lineage exactly as it was at this time (ISO 8601).")
]
Depth = Annotated[int | None, typer.Option("--depth", min=0, help="At most this many generations away.")]


def _as_of(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_iso(value)
    except (ValueError, InputError):
        raise InputError(f"--as-of: expected an ISO 8601 time such as 2026-03-01T12:00:00Z, got {value!r}") from None


def _direction(upstream: bool, downstream: bool) -> str:
    if upstream and downstream:
        raise InputError("--upstream and --downstream: choose one direction")
    return "downstream" if downstream else "upstream"


@lineage_app.command("trace")
def trace_command(
    node: Annotated[str, typer.Argument(help="Artifact, activity or agent id.")],
    upstream: Annotated[bool, typer.Option("--upstream", help="What it comes from (the default).")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="What was made from it.")] = False,
    depth: Depth = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Trace where an output came from (or what was made from it), at any point in time."""
    from governance.cli._context import call

    doc = call(
        "lineage.trace", node_id=node, direction=_direction(upstream, downstream), depth=depth, as_of=_as_of(as_of)
    )
    if as_json:
        print_json(doc)
        return
    render_trace(doc, console)


@lineage_app.command("record")
def record_command(
    activity: Annotated[str, typer.Option("--activity", help="What was done, e.g. 'fit T1'.")],
    used: Annotated[list[str], typer.Option("--used", help="Input artifact id (repeatable).")],
    generated: Annotated[list[Path], typer.Option("--generated", help="Output file or folder (repeatable).")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Dataset for the outputs (default: the first input's).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ingest the outputs of an analysis and record that they were derived from the inputs."""
    from flows.runtime import configure_prefect
    from governance.cli._context import store_settings

    settings = store_settings()
    configure_prefect(settings.home)  # before Prefect is imported: its log level is read once
    from flows.lineage import record

    report = record(activity, used, generated, dataset, settings)
    generated_ids = [{"id": a["id"], "path": a["path"]} for a in report.generated]
    doc = {
        "activity": report.activity,
        "name": report.name,
        "dataset": report.dataset,
        "used": report.used,
        "generated": generated_ids,
        "changes": report.changes,
    }
    if as_json:
        print_json(doc)
        return
    console.print(
        f"recorded [bold]{report.name}[/] ({report.activity}): {len(report.used)} input(s) → "
        f"{len(report.generated)} output(s) in dataset {report.dataset}"
    )
    for a in generated_ids:
        console.print(f"  {a['id']}  {a['path']}")
    for c in report.changes:
        console.print(f"  {c['path']}: classified {c['new']} ({c['basis']}: {c['rule']})")


@lineage_app.command("retract")
def retract_command(
    activity: Annotated[str, typer.Argument(help="The derivation or DVC stage activity id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: withdraw a recorded derivation from now on (earlier traces still show it)."""
    from governance.cli._context import call

    doc = call("lineage.retract", activity=activity, reason=reason)
    if as_json:
        print_json(doc)
        return
    console.print(f"retracted {activity}; {len(doc['changes'])} classification(s) changed")


@lineage_app.command("export")
def export_command(
    node: Annotated[str, typer.Argument(help="Artifact, activity or agent id.")],
    fmt: Annotated[str, typer.Option("--format", help="prov-json or openlineage")] = "prov-json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    downstream: Annotated[bool, typer.Option("--downstream", help="Export what was made from it.")] = False,
    depth: Depth = None,
    as_of: AsOf = None,
    as_json: JsonFlag = False,
) -> None:
    """Export a trace as PROV-JSON (W3C PROV) or OpenLineage run events (one JSON per line).

    With --json, stdout holds one document: the PROV-JSON, or {"events": [...]} for OpenLineage
    (or, with -o, where the export went)."""
    from governance.cli.audit_cmds import write_text
    from governance.disclosure import Disclosure
    from governance.provenance import trace_lineage
    from lineage.export import openlineage_json, prov_json

    if fmt not in ("prov-json", "openlineage"):
        raise InputError(f"--format: expected prov-json or openlineage, got {fmt!r}")
    qg = open_app()
    doc = trace_lineage(qg, node, "downstream" if downstream else "upstream", depth, _as_of(as_of))
    doc = Disclosure(qg).redact(doc)
    if fmt == "prov-json":
        text = prov_json(doc) + "\n"
    else:
        text = openlineage_json(doc, producer="https://qgov.dev/qgov", namespace=f"qgov://{qg.signer.name}")
    if not as_json:
        write_text(text, output)
        return
    if output is not None:
        write_text(text, output, quiet=True)
        print_json({"output": str(output), "format": fmt, "nodes": len(doc["nodes"]), "edges": len(doc["edges"])})
    elif fmt == "prov-json":
        print_json(json.loads(text))
    else:
        print_json({"events": [json.loads(line) for line in text.splitlines() if line.strip()]})


__all__ = ["lineage_app"]
