"""`qgov compliance tabletop`: exercises in a scratch copy of the store (ADR 0040)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from governance.cli._context import open_app
from governance.cli._render import console, escape, print_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


compliance_app = typer.Typer(help="Compliance exercises (officers, admins).", no_args_is_help=True)
tabletop_app = typer.Typer(
    help="Tabletop exercises: a misuse scenario injected into a scratch copy of the store.", no_args_is_help=True
)
compliance_app.add_typer(tabletop_app, name="tabletop")


def _print_exercise(doc: dict[str, Any]) -> None:
    console.print(f"tabletop {doc['scenario']} for {escape(doc['person'])}: {doc['outcome']}")
    for a in doc["alerts"]:
        console.print(f"  alert {a['id'][:8]} {a['rule']} ({a['severity']})")
    if doc.get("detect_seconds") is not None:
        console.print(f"  injection to detection: {doc['detect_seconds']} s")
    if doc.get("incident"):
        console.print(f"  incident {doc['incident']} {doc.get('status') or 'open'}")
    for step in ("contain", "close"):
        if doc.get(f"{step}_seconds") is not None:
            console.print(f"  injection to {step}: {doc[f'{step}_seconds']} s")
    if doc.get("note"):
        console.print(f"  [dim]{escape(doc['note'])}[/]")
    console.print("  act in the copy with:")
    console.print("  " + escape(" ".join(f"{k}={v}" for k, v in doc["env"].items())) + " qgov ...", soft_wrap=True)
    if doc.get("cleanup"):
        console.print("  clean up afterwards with:")
        for step in doc["cleanup"]:
            console.print("  " + escape(step), soft_wrap=True)


@tabletop_app.command("run")
def tabletop_run(
    scenario: Annotated[str, typer.Argument(help="insider_exfiltration, shared_credentials or travel.")],
    person: Annotated[str, typer.Option("--person", help="Whose account the scenario plays out in.")],
    into: Annotated[
        Path | None, typer.Option("--into", help="Directory for the copy (default $QGOV_HOME/tabletop).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer/admin: copy the store, inject the scenario, scan, open the incident; act in the copy."""
    from governance.compliance.tabletop import run_tabletop

    doc = run_tabletop(open_app(), scenario, person, into)
    print_json(doc) if as_json else _print_exercise(doc)


@tabletop_app.command("report")
def tabletop_report_cmd(
    home: Annotated[Path, typer.Argument(help="The exercise's copy (the QGOV_HOME it printed).")],
    as_json: JsonFlag = False,
) -> None:
    """The exercise as it stands: alerts, time from injection to detection, containment and close."""
    from governance.compliance.tabletop import tabletop_report

    doc = tabletop_report(open_app(), home)
    print_json(doc) if as_json else _print_exercise(doc)
