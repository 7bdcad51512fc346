"""People and roles (list, show, revoke) and a researcher's own requests and grants.

Every command goes through :func:`open_client`, so it works on a local store and, with
``QGOV_URL``, against `qgov serve` alike.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import open_client
from governance.cli._render import console, plain, print_json

JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def person_list_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many (by name).")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """Admins, officers, auditors: registered people with their facts and roles."""
    page = open_client().people(limit, offset)
    if as_json:
        print_json(page)
        return
    table = Table("person", "citizenships", "location", "affiliation", "training", "roles")
    for p in page["items"]:
        table.add_row(
            plain(p["name"]),
            ", ".join(p["citizenships"]),
            p["location"],
            plain(p["affiliation"]),
            p["training_completed_on"] or "missing",
            ", ".join(p["roles"]) or "—",
        )
    console.print(table)
    shown = len(page["items"])
    if page["offset"] or shown < page["total"]:
        console.print(f"{page['offset'] + 1}-{page['offset'] + shown} of {page['total']} (--offset for more)")


def person_show_command(
    name: Annotated[str, typer.Argument(help="A registered person.")], as_json: JsonFlag = False
) -> None:
    """A person's facts, roles, and their requests and grants (yours always; others' with the right role)."""
    doc = open_client().person(name)
    if as_json:
        print_json(doc)
        return
    console.print(f"[bold]{plain(doc['name'])}[/]  roles: {', '.join(doc['roles']) or '—'}")
    for key in ("citizenships", "us_permanent_resident", "permanent_residence", "location", "affiliation"):
        if key in doc:
            value = ", ".join(doc[key]) if isinstance(doc[key], list) else doc[key]
            console.print(f"  {key.replace('_', ' '):<22} {plain(value if value is not None else '—')}")
    if "training_completed_on" in doc:
        console.print(f"  {'training completed on':<22} {doc['training_completed_on'] or 'missing'}")
    for key in ("requests", "grants"):
        if key in doc:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(doc[key].items())) or "none"
            console.print(f"  {key:<22} {counts}")


def role_revoke_command(
    person: Annotated[str, typer.Argument(help="A registered person.")],
    role: Annotated[str, typer.Argument(help="data_manager, researcher, export_control_officer, auditor or admin.")],
    as_json: JsonFlag = False,
) -> None:
    """Admin: take ROLE away from PERSON (recorded; never the last admin's admin role)."""
    done = open_client().revoke_role(person, role)
    if as_json:
        print_json(done)
        return
    console.print(f"{person} is no longer {role}" if done["revoked"] else f"{person} did not hold {role}")


def access_mine_command(as_json: JsonFlag = False) -> None:
    """Your requests (status, the rule behind the decision, time waited) and grants (active,
    suspended, revoked or expired)."""
    doc = open_client().my_access()
    if as_json:
        print_json(doc)
        return
    _requests_table(doc)
    grants = Table("grant", "status", "artifacts", "licence", "expires")
    for g in doc["grants"]:
        grants.add_row(g["grant"], _state(g["status"]), str(len(g["artifacts"])), g["licence"] or "—", g["expires_at"])
    console.print(grants)


def _requests_table(doc: dict[str, Any]) -> None:
    table = Table("request", "status", "outcome", "rule", "destination", "days", "waited (h)")
    for r in doc["requests"]:
        waited = str(r["waited_hours"])
        if r["status"] == "queued" and r["waited_hours"] > doc["review_sla_hours"]:
            waited = f"[red]{waited}[/] (SLA {doc['review_sla_hours']} h)"
        table.add_row(
            r["request"],
            r["status"],
            r["outcome"],
            ", ".join(r["rules"]) or "—",
            r["destination"],
            str(r["days"]),
            waited,
        )
    console.print(table)
    for r in doc["requests"]:
        if r["status"] == "denied" and r["denial_reason"]:
            console.print(f"  {r['request']} denied: {plain(r['denial_reason'])}")


def _state(status: str) -> str:
    colour = {"active": "green", "suspended": "yellow", "revoked": "red", "expired": "dim"}.get(status, "")
    return f"[{colour}]{status}[/]" if colour else status


__all__ = ["access_mine_command", "person_list_command", "person_show_command", "role_revoke_command"]
