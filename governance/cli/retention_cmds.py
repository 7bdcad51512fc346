"""Retention and legal holds: when an artifact may go, and what must stay."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import open_app
from governance.cli._render import console, print_json

retention_app = typer.Typer(help="Retention schedules: how long each artifact is kept.", no_args_is_help=True)
hold_app = typer.Typer(
    help="Legal holds (officers, admins): keep an output and everything upstream of it.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the record).")]


@retention_app.command("show")
def retention_show(artifact: Annotated[str, typer.Argument(help="Artifact id.")], as_json: JsonFlag = False) -> None:
    """Keep-until date and end-of-retention action of an artifact, with the holds that keep it."""
    from governance.retention import retention_of

    doc = retention_of(open_app(), artifact)
    if as_json:
        print_json(doc)
        return
    console.print(
        f"[bold]{doc['path']}[/] ({doc['classification']}): keep until [bold]{doc['keep_until'][:10]}[/], "
        f"then {doc['action']}"
    )
    for reason in doc["reasons"]:
        console.print(f"  {reason['rule']}: {reason['text']} [dim]({reason['citation']})[/]")
    _print_holds(doc["holds"], "  held by")


def _print_holds(holds: list[dict[str, Any]], prefix: str) -> None:
    for h in holds:
        via = f" — {h['via']}" if "via" in h else ""
        console.print(f"{prefix} hold {h['hold']} on {h['scope']} {h['target']}: {h['reason']}{via}")


@hold_app.command("add")
def hold_add(
    reason: Reason,
    artifact: Annotated[str | None, typer.Option("--artifact", help="Hold this artifact and its sources.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Hold every artifact of this dataset.")] = None,
    person: Annotated[str | None, typer.Option("--person", help="Hold everything this person touched.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Place a legal hold; nothing it covers can be deleted or swept until it is released."""
    from governance.retention import place_hold

    doc = place_hold(open_app(), reason, artifact, dataset, person)
    print_json(doc) if as_json else console.print(f"hold {doc['hold']} placed on {doc['scope']} {doc['target']}")


@hold_app.command("release")
def hold_release(
    hold: Annotated[str, typer.Argument(help="The hold id.")], reason: Reason, as_json: JsonFlag = False
) -> None:
    """Release a legal hold."""
    from governance.retention import release_hold

    doc = release_hold(open_app(), hold, reason)
    print_json(doc) if as_json else console.print(f"hold {hold} released")


@hold_app.command("list")
def hold_list(
    released: Annotated[bool, typer.Option("--released", help="Include released holds.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Legal holds in force (or all of them)."""
    from governance.retention import list_holds

    holds = list_holds(open_app(), released)
    if as_json:
        print_json({"holds": holds})
        return
    table = Table("hold", "scope", "target", "reason", "placed", "released")
    for h in holds:
        table.add_row(
            h["hold"][:8], h["scope"], h["target"], h["reason"], h["placed_at"][:10], h.get("released_at", "")[:10]
        )
    console.print(table)


__all__ = ["hold_app", "retention_app"]
