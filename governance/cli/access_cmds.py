"""`qgov screen` and `qgov access check`: restricted-party screening and what-if access decisions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from governance.cli._context import embedded_settings, open_app, open_client
from governance.cli._render import console, print_json

access_app = typer.Typer(
    help="Access requests: what-if checks, requests, the officer queue, approvals, denials and grants.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def screen_command(
    name: Annotated[str, typer.Argument(help="A person's or organisation's name.")],
    country: Annotated[
        str | None, typer.Option("--country", help="ISO country code; re-weights, never hides an exact match.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Screen a name against the restricted-party list (exit 0 either way: a hit is an answer)."""
    from governance.cli._context import call

    result = call("screen", name=name, country=country)
    if as_json:
        print_json(result)
        return
    if not result["matches"]:
        unsure = " [bold yellow](unverified: see the warning)[/]" if result["warnings"] else ""
        console.print(f"[green]clear[/]{unsure}: {name!r} matches no listed party (threshold {result['threshold']})")
    else:
        console.print(f"[bold yellow]potential match[/] for {name!r}:")
    for m in result["matches"]:
        console.print(
            f"  {m['score']:5.1f}  {m['name']}  [{m['entry_id']}, {m['list']}]"
            + ("  [bold red]exact[/]" if m["exact"] else "")
        )
    for warning in result["warnings"]:
        console.print(f"[bold yellow]warning[/]: {warning}")


def access_check_command(
    request_file: Annotated[
        Path, typer.Argument(metavar="REQUEST.json", help="The request (DESIGN.md REQUEST schema).")
    ],
    at: Annotated[str | None, typer.Option("--at", help="Evaluation time, ISO 8601 (default now).")] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="What-if: this policy directory over the built-in bundles (default QGOV_POLICY_DIR)."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """What-if: decide an access request as given; nothing is recorded. A denial is an answer (exit 0)."""
    from governance.cli.main import load_document
    from governance.schemas import validate
    from policies.access import check_request
    from qgov.canonical import parse_iso

    when = parse_iso(at, "--at") if at else None
    request = check_request(load_document(request_file, "request"), str(request_file))
    if policy is None and embedded_settings().server_url:
        validate(request, "access-request.schema.json", str(request_file))
        doc = open_client().check(request, when)  # the server decides under the policy it publishes
    else:
        from governance.access import check

        decision, evidence = check(open_app(), request, when or datetime.now(UTC), str(request_file), policy)
        validate(request, "access-request.schema.json", str(request_file))  # check's messages are more specific
        doc = decision.to_json() | evidence
    if as_json:
        print_json(doc)
        return
    colour = {"approve": "green", "review": "yellow", "license_required": "magenta", "deny": "bold red"}[doc["outcome"]]
    console.print(f"[{colour}]{doc['outcome']}[/] — item {doc['classification']}")
    for export in doc["exports"]:
        basis = export["basis"].replace("_", " ")
        console.print(
            f"  {basis} to {export['country']} (by {export['via']}) [dim]{export['citation']} ({export['status']})[/]"
        )
    for reason in doc["reasons"]:
        console.print(f"  {reason['outcome']}: {escape(reason['text'])}")
        console.print(f"    [dim]{reason['rule']}: {reason['citation']} ({reason['status']})[/]")
    console.print(f"  [dim]policy {doc['policy_version'][:16]}… at {doc['evaluated_at']}; not legal advice[/]")


access_app.command("check")(access_check_command)


@access_app.command("ask")
def access_ask_command(
    request: Annotated[str, typer.Argument(help="A queued request (id or unique prefix).")],
    question: Annotated[str, typer.Option("--question", help="What the requester should tell you.")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: ask the requester for information; the request waits (SLA paused) until they answer."""
    from governance.cli._context import open_client

    done = open_client().ask(request, question)
    if as_json:
        print_json(done)
        return
    console.print(f"asked about request {done['request']}; it waits for the requester's answer")


@access_app.command("answer")
def access_answer_command(
    request: Annotated[str, typer.Argument(help="Your request an officer asked about.")],
    text: Annotated[str, typer.Option("--text", help="Your answer to the officer's question.")],
    as_json: JsonFlag = False,
) -> None:
    """Answer an officer's question about your request; it returns to the review queue."""
    from governance.cli._context import open_client

    done = open_client().answer(request, text)
    if as_json:
        print_json(done)
        return
    console.print(f"answered; request {done['request']} is back in the review queue")


screening_app = typer.Typer(help="Restricted-party lists: load and re-screen.", no_args_is_help=True)


@screening_app.command("load")
def screening_load(
    path: Annotated[
        Path, typer.Argument(help="A Consolidated Screening List file (CSV or JSON) or OpenSanctions FtM entities.")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, json (CSL) or ftm (FollowTheMoney lines); default: read from the file."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer: load a list as a new version, then re-screen everyone (a Prefect flow)."""
    from flows.runtime import configure_prefect, flow_settings
    from governance.cli._context import store_settings

    settings = store_settings()
    configure_prefect(settings.home)
    from flows.screening import screening_refresh_flow
    from flows.session import flow_args

    with flow_settings():
        report = screening_refresh_flow(*flow_args(settings), str(path), fmt)
    if as_json:
        print_json(report)
        return
    loaded = report["list"]
    console.print(
        f"list {loaded['version'][:16]}… ({loaded['entries']} entries, {loaded['format']})"
        + (" already loaded" if not loaded["new"] else "")
    )
    for hit in report["new_hits"]:
        grants = len(hit["suspended_grants"])
        console.print(f"[bold red]new hit[/] {hit['person']}: {', '.join(hit['entries'])}; suspended {grants} grant(s)")
