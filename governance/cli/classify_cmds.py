"""Officer and data-manager commands on classifications: override, declassify, reclassify."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import call
from governance.cli._render import console, print_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the record).")]


def _render_changes(changes: list[Any], as_json: bool, extra: dict[str, Any] | None = None) -> None:
    _render_doc(
        (extra or {})
        | {"changed": len(changes), "changes": [c if isinstance(c, dict) else c.to_json() for c in changes]},
        as_json,
    )


def _render_doc(doc: dict[str, Any], as_json: bool) -> None:
    changes = doc["changes"]
    if as_json:
        print_json(doc)
        return
    if not changes:
        console.print("no classification changed")
        return
    table = Table("artifact", "path", "old", "new", "basis", "rule", "citation")
    for c in doc["changes"]:
        table.add_row(c["artifact"], c["path"], str(c["old"]), c["new"], c["basis"], c["rule"], c["citation"])
    console.print(table)


def override_command(
    artifact: str,
    as_: Annotated[str, typer.Option("--as", help="The classification to set, e.g. EAR99 or 4E906.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """Export-control officer: set an artifact's classification (the automatic one stays visible)."""
    _render_doc(call("classification.override", artifact=artifact, classification=as_, reason=reason), as_json)


def declassify_command(artifact: str, reason: Reason, as_json: JsonFlag = False) -> None:
    """Export-control officer: stop a derived artifact inheriting its inputs' classification."""
    _render_doc(call("classification.declassify", artifact=artifact, reason=reason), as_json)


def reclassify_command(as_json: JsonFlag = False) -> None:
    """Re-evaluate every artifact under the current policy (a Prefect flow); prints the diff."""
    from flows.runtime import configure_prefect, flow_settings
    from governance.cli._context import store_settings

    settings = store_settings()
    configure_prefect(settings.home)
    from flows.reclassify import reclassify_flow
    from flows.session import flow_args

    with flow_settings():
        report = reclassify_flow(*flow_args(settings))
    _render_changes(report["changes"], as_json, {"policy_version": report["policy_version"]})


def derive_command(
    activity: Annotated[str, typer.Option("--activity", help="What was done, e.g. 'fit T1'.")],
    used: Annotated[list[str], typer.Option("--used", help="Input artifact id (repeatable).")],
    generated: Annotated[list[str], typer.Option("--generated", help="Output artifact id (repeatable).")],
    as_json: JsonFlag = False,
) -> None:
    """Record that artifacts were derived from others; outputs inherit the inputs' classification."""
    _render_doc(call("lineage.derive", activity=activity, used=used, generated=generated), as_json)
