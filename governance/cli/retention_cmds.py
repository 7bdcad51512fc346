"""Retention and legal holds: when an artifact may go, and what must stay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import call
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
    doc = call("retention.show", artifact=artifact)
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
    doc = call("hold.place", reason=reason, artifact=artifact, dataset=dataset, person=person)
    print_json(doc) if as_json else console.print(f"hold {doc['hold']} placed on {doc['scope']} {doc['target']}")


@hold_app.command("release")
def hold_release(
    hold: Annotated[str, typer.Argument(help="The hold id.")], reason: Reason, as_json: JsonFlag = False
) -> None:
    """Release a legal hold."""
    doc = call("hold.release", hold_id=hold, reason=reason)
    print_json(doc) if as_json else console.print(f"hold {hold} released")


@hold_app.command("list")
def hold_list(
    released: Annotated[bool, typer.Option("--released", help="Include released holds.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Legal holds in force (or all of them)."""
    holds = call("hold.list", include_released=released)
    if as_json:
        print_json({"holds": holds})
        return
    table = Table("hold", "scope", "target", "reason", "placed", "released")
    for h in holds:
        table.add_row(
            h["hold"][:8], h["scope"], h["target"], h["reason"], h["placed_at"][:10], h.get("released_at", "")[:10]
        )
    console.print(table)


@retention_app.command("sweep")
def retention_sweep(
    yes: Annotated[bool, typer.Option("--yes", help="Act (admins); without it, only show what is due.")] = False,
    at: Annotated[str | None, typer.Option("--at", help="Judge retention as of this time (ISO 8601).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Act on every artifact whose retention has ended (a Prefect flow); a dry run unless --yes."""
    from flows.runtime import configure_prefect, flow_settings
    from governance.cli._context import store_settings
    from qgov.canonical import parse_iso

    settings = store_settings()
    when = parse_iso(at, "--at") if at else None
    configure_prefect(settings.home)
    from flows.retention import retention_sweep_flow
    from flows.session import flow_args

    with flow_settings():
        report = retention_sweep_flow(*flow_args(settings), yes, when)
    if as_json:
        print_json(report)
        return
    verb = "deleted" if yes else "would delete"
    console.print(
        f"{'' if yes else 'dry run: '}{report['checked']} artifacts checked; {verb} {len(report['deleted'])}, "
        f"{len(report['review'])} due for review, {len(report['archive'])} due for archiving, "
        f"{len(report['held'])} held, {report['ciphertext_removed']} leftover ciphertext(s)"
    )
    for entry in report["held"]:
        console.print(f"  held: {entry['path']} (hold {entry['hold']})")
    for entry in report["deleted"]:
        console.print(
            f"  {verb}: {entry['path']}" + (f" — certificate {entry['certificate']}" if "certificate" in entry else "")
        )


def delete_command(
    artifact: Annotated[str, typer.Argument(help="Artifact id.")],
    reason: Reason,
    yes: Annotated[bool, typer.Option("--yes", help="Delete; without it, only show what would go.")] = False,
    early: Annotated[
        bool, typer.Option("--before-retention-end", help="Admin: delete before its retention ends (recorded).")
    ] = False,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the signed certificate here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Delete an artifact by crypto-shredding, with a signed certificate (a dry run unless --yes)."""
    if not yes:
        plan = call("deletion.plan", artifact=artifact)
        if as_json:
            print_json(plan)
            return
        console.print(
            f"dry run: would delete {len(plan['deletes'])} artifact(s) sharing content {plan['sha256'][:16]}…"
        )
        for d in plan["deletes"]:
            console.print(f"  {d['path']} ({d['classification']})")
        for d in plan["downstream_losing_a_source"]:
            console.print(f"  [yellow]would lose a source[/]: {d['path']}")
        console.print(f"  retention until {plan['retention']['keep_until'][:10]} ({plan['retention']['schedule']})")
        _print_holds(plan["holds"], "  [bold red]blocked[/]:")
        console.print("run again with --yes to delete")
        return
    signed = call("deletion.delete", artifact=artifact, reason=reason, before_retention_end=early)
    if output is not None:
        from governance.cli.audit_cmds import write_text

        write_text(json.dumps(signed, sort_keys=True, indent=2) + "\n", output, quiet=as_json)
    if as_json:
        print_json(signed)
        return
    cert = signed["certificate"]
    console.print(
        f"deleted {len(cert['artifacts'])} artifact(s); certificate {cert['certificate_id']} "
        f"(event #{cert['event']['seq']})"
    )


def erase_command(
    name: Annotated[str, typer.Argument(help="The person's name.")], reason: Reason, as_json: JsonFlag = False
) -> None:
    """Admin: erase a person's personal data; the log stays verifiable (events show "[erased]")."""
    doc = call("person.erase", name=name, reason=reason)
    if as_json:
        print_json(doc)
        return
    console.print(
        f"erased {name!r}: now {doc['pseudonym']} in {doc['rows_pseudonymised']} record(s); events keep their hashes"
    )


__all__ = ["delete_command", "erase_command", "hold_app", "retention_app"]
