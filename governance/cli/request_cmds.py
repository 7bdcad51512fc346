"""People, access requests, the officer queue, grants: the workflow commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import open_client
from governance.cli._render import console, plain, print_json

person_app = typer.Typer(help="Register the people who request data (admins).", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


@person_app.command("add")
def person_add(
    name: str,
    citizenship: Annotated[list[str], typer.Option("--citizenship", help="ISO code (repeatable).")],
    location: Annotated[str, typer.Option(help="Where the person works now (ISO code).")],
    affiliation: Annotated[str, typer.Option(help="Employer or institution.")],
    permanent_residence: Annotated[str | None, typer.Option("--permanent-residence", help="ISO code.")] = None,
    us_permanent_resident: Annotated[bool, typer.Option("--us-permanent-resident", help="Green-card holder.")] = False,
    training: Annotated[str | None, typer.Option("--training-completed-on", help="YYYY-MM-DD.")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help="Role (repeatable).")] = None,
    os_account: Annotated[
        str | None,
        typer.Option("--os-account", help="The operating-system account this person runs qgov as (embedded mode)."),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Where decision e-mails go (when SMTP is configured).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Admin: register or update a person with the facts access decisions need."""
    from governance.cli._context import call

    doc = call(
        "person.add",
        name=name,
        citizenships=citizenship,
        location=location,
        affiliation=affiliation,
        permanent_residence=permanent_residence,
        us_permanent_resident=us_permanent_resident,
        training_completed_on=training,
        roles=role,
        os_account=os_account,
        email=email,
    )
    if as_json:
        print_json(doc)
        return
    console.print(f"registered {name}")


@person_app.command("update")
def person_update(
    name: str,
    email: Annotated[str | None, typer.Option("--email", help="Where decision e-mails go.")] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Send no more decision e-mails.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set or remove the e-mail address of a person (admins: anyone; everyone: themselves)."""
    from governance.cli._context import call
    from qgov.errors import InputError

    if (email is None) == (not no_email):
        raise InputError("--email: give either --email ADDRESS or --no-email")
    done = call("person.email", person=name, email=None if no_email else email)
    if as_json:
        print_json(done)
        return
    console.print(f"{name}: decision e-mails go to {done['email']}" if done["email"] else f"{name}: no e-mails")


def request_command(
    artifact: Annotated[list[str], typer.Option("--artifact", help="Artifact id (repeatable).")],
    purpose: Annotated[str, typer.Option(help="What the data is for.")],
    days: Annotated[int, typer.Option(help="How long the grant should last.")] = 30,
    destination: Annotated[str, typer.Option(help="Where the data will be used (ISO code).")] = "US",
    vendor: Annotated[
        str | None,
        typer.Option(help="A registered vendor the data goes to; its country is the destination."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask for artifacts: decided at once, granted, queued for an officer, or denied (with reasons).

    Exit 0 when granted or queued for review, 1 when denied (the reasons say why)."""
    result = open_client().request_access(artifact, purpose, days, destination.upper(), vendor)
    _render_request(result, as_json)
    if result["status"] == "denied":
        raise SystemExit(1)


def _render_request(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    console.print(f"request {result['request']}: [bold]{result['outcome']}[/] → {result['status']}")
    for art in result["decision"]["artifacts"]:
        for reason in art["reasons"]:
            console.print(f"  {art['artifact']} ({art['classification']}): {reason['outcome']} — {reason['text']}")
    if result["grant"]:
        console.print(f"  grant {result['grant']}: fetch with 'qgov fetch ARTIFACT -o PATH'")


def queue_command(as_json: JsonFlag = False) -> None:
    """Officer: requests waiting for review, oldest first, with time waited against the SLA."""
    rows = open_client().queue()
    if as_json:
        print_json({"queue": rows})
        return
    table = Table(
        "request", "requester", "citizenship", "to", "days", "classification", "screening", "outcome", "waited (h)"
    )
    for r in rows:
        waited = f"[red]{r['waited_hours']}[/] > {r['sla_hours']}" if r["overdue"] else str(r["waited_hours"])
        table.add_row(
            r["request"],
            plain(r["requester"]),
            ", ".join(r["citizenships"]) or "—",
            r["destination"],
            str(r["days"]),
            ", ".join(sorted({str(c["classification"]) for c in r["classifications"]})),
            "\n".join(f"{m['name']} ({m['score']:.0f}, list {str(m['list_version'])[:12]})" for m in r["screening"])
            or "clear",
            r["outcome"],
            waited,
        )
    console.print(table)
    for r in rows:
        console.print(f"  {r['request']}: {plain('; '.join(r['reasons']))}")


def approve_command(
    request: str,
    licence: Annotated[str | None, typer.Option("--licence", help="Licence or licence-exception reference.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer: approve a queued request (not your own); a licence reference when one is required."""
    grant = open_client().approve(request, licence)
    if as_json:
        print_json({"request": request, "grant": grant})
        return
    console.print(f"approved {request}: grant {grant}")


def deny_command(
    request: str, reason: Annotated[str, typer.Option(help="Why (the requester sees it).")], as_json: JsonFlag = False
) -> None:
    """Officer: deny a queued request with a reason."""
    open_client().deny(request, reason)
    if as_json:
        print_json({"request": request, "status": "denied"})
        return
    console.print(f"denied {request}")


def revoke_command(grant: str, reason: Annotated[str, typer.Option(help="Why.")], as_json: JsonFlag = False) -> None:
    """Officer: revoke a grant; fetching under it stops at once."""
    from governance.cli._context import call

    doc = call("grant.revoke", grant_id=grant, reason=reason)
    if as_json:
        print_json(doc)
        return
    console.print(f"revoked {grant}")


def sweep_command(as_json: JsonFlag = False) -> None:
    """Record the expiry of every grant that has run out (a Prefect flow)."""
    from flows.runtime import configure_prefect, flow_settings
    from governance.cli._context import store_settings

    settings = store_settings()
    configure_prefect(settings.home)
    from flows.grants import expiry_sweep_flow
    from flows.session import flow_args

    with flow_settings():
        expired = expiry_sweep_flow(*flow_args(settings))
    if as_json:
        print_json({"expired": expired})
        return
    console.print(f"{len(expired)} grant(s) expired")
