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
    for key in ("citizenships", "us_permanent_resident", "permanent_residence", "location", "affiliation", "email"):
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
    console.print(f"{len(doc['grants'])} grant(s)")
    for g in doc["grants"]:
        console.print(
            f"  {g['grant']}  {_state(g['status'])}  {len(g['artifacts'])} artifact(s), "
            f"licence {plain(g['licence'] or '—')}, expires {g['expires_at']}"
        )


def _requests_table(doc: dict[str, Any]) -> None:
    """One line per request (ids whole, so they can be pasted into other commands)."""
    sla = doc["review_sla_hours"]
    console.print(f"{len(doc['requests'])} request(s); review SLA {sla} h")
    for r in doc["requests"]:
        waited = f"waited {r['waited_hours']} h" + (
            " [red](over SLA)[/]" if r["status"] == "queued" and r["waited_hours"] > sla else ""
        )
        rules = ", ".join(r["rules"]) or "—"
        console.print(
            f"  {r['request']}  [bold]{r['status']}[/] ({r['outcome']}; {rules})  to {r['destination']} "
            f"for {r['days']} days; {waited}"
        )
        if r["status"] == "denied" and r["denial_reason"]:
            console.print(f"    denied: {plain(r['denial_reason'])}")
        if r.get("question"):
            console.print(f"    officer asks: {plain(r['question'])}")
            console.print(
                f"    your answer: {plain(r['answer'])}"
                if r.get("answer")
                else f"    answer with: qgov access answer {r['request']} --text …"
            )


def _state(status: str) -> str:
    colour = {"active": "green", "suspended": "yellow", "revoked": "red", "expired": "dim"}.get(status, "")
    return f"[{colour}]{status}[/]" if colour else status


__all__ = ["access_mine_command", "person_list_command", "person_show_command", "role_revoke_command"]
