"""`qgov vendor` (the vendor risk register) and `qgov violation` (recorded violations)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import call
from governance.cli._render import console, escape, print_json

vendor_app = typer.Typer(
    help="Vendor risk register (officers, admins; auditors read): cloud storage, remote quantum processors, "
    "collaboration platforms. Controlled data goes only to vendors with a current assessment.",
    no_args_is_help=True,
)
violation_app = typer.Typer(
    help="Violations: officers record what happened, a sanction and remediation; each person sees their own.",
    no_args_is_help=True,
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Name = Annotated[str, typer.Argument(help="The vendor's name in the register.")]


def _print_vendor(doc: dict[str, Any]) -> None:
    state = "cleared for controlled data" if doc["cleared_for_controlled"] else f"NOT cleared: {doc['not_cleared']}"
    console.print(f"[bold]{escape(doc['name'])}[/] ({doc['kind']}, {doc['jurisdiction']}, {doc['status']}): {state}")
    receives = "controlled data" if doc["controlled"] else "no controlled data"
    console.print(f"  receives {receives}, up to {doc['max_classification']}; covers {', '.join(doc['covers']) or '-'}")
    if "assessed_at" in doc:
        console.print(
            f"  assessed {doc['assessed_at'][:10]} by {escape(doc['assessed_by'])}: risk {doc['risk_tier']}, "
            f"review due {doc['review_due'][:10]}"
        )
        console.print(f"  findings: {escape(doc['findings'])}")


@vendor_app.command("add")
def vendor_add(
    name: Name,
    kind: Annotated[str, typer.Option("--kind", help="cloud_storage, quantum_processor or collaboration.")],
    jurisdiction: Annotated[str, typer.Option("--jurisdiction", help="Country of the service (ISO code).")],
    max_classification: Annotated[
        str, typer.Option("--max-classification", help="Highest classification it receives (EAR99, 4E906, ...).")
    ],
    controlled: Annotated[
        bool, typer.Option("--controlled/--no-controlled", help="Whether it receives controlled data at all.")
    ],
    covers: Annotated[
        list[str] | None,
        typer.Option("--covers", help="Storage URL prefix or endpoint it operates (s3://bucket/prefix, https://host)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Officer or admin: put a vendor in the register (unassessed: no controlled data goes to it yet)."""

    doc = call(
        "vendor.add",
        name=name,
        kind=kind,
        jurisdiction=jurisdiction,
        max_classification=max_classification,
        controlled=controlled,
        covers=covers or [],
    )
    print_json(doc) if as_json else _print_vendor(doc)


@vendor_app.command("list")
def vendor_list(as_json: JsonFlag = False) -> None:
    """The register: each vendor, its last assessment, review due, and whether it is cleared now."""

    docs = call("vendor.list")
    if as_json:
        print_json(docs)
        return
    table = Table("vendor", "kind", "country", "controlled", "risk", "assessed", "review due", "status", "cleared")
    for d in docs:
        table.add_row(
            escape(d["name"]),
            d["kind"],
            d["jurisdiction"],
            "yes" if d["controlled"] else "no",
            d.get("risk_tier", "-"),
            d.get("assessed_at", "-")[:10],
            d.get("review_due", "-")[:10],
            d["status"],
            "yes" if d["cleared_for_controlled"] else "no",
        )
    console.print(table)


@vendor_app.command("show")
def vendor_show(name: Name, as_json: JsonFlag = False) -> None:
    """One vendor: what it receives, where, its assessment and review date."""

    doc = call("vendor.show", name=name)
    print_json(doc) if as_json else _print_vendor(doc)


@vendor_app.command("assess")
def vendor_assess(
    name: Name,
    risk_tier: Annotated[str, typer.Option("--risk-tier", help="low, medium or high.")],
    findings: Annotated[str, typer.Option("--findings", help="What was checked and found (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer or admin: record an assessment; the next review falls due per the tier (policy)."""

    doc = call("vendor.assess", name=name, risk_tier=risk_tier, findings=findings)
    print_json(doc) if as_json else _print_vendor(doc)


@vendor_app.command("retire")
def vendor_retire(
    name: Name,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer or admin: no more data goes to this vendor; its record stays."""

    doc = call("vendor.retire", name=name, reason=reason)
    print_json(doc) if as_json else _print_vendor(doc)


def _print_violation(doc: dict[str, Any]) -> None:
    console.print(f"violation {doc['id']} against {escape(doc['person'])}: {doc['status']}, sanction {doc['sanction']}")
    console.print(f"  {escape(doc['summary'])}")
    console.print(f"  evidence: {', '.join(doc['evidence'])}")
    for i, s in enumerate(doc["remediation"], 1):
        state = f"done {s['done_at'][:10]}" if s.get("done_at") else ("OVERDUE" if s["overdue"] else "open")
        console.print(f"  step {i}: {escape(s['step'])} — due {s['due_on']}, {state}")


@violation_app.command("record")
def violation_record(
    person: Annotated[str, typer.Argument(help="The person concerned.")],
    what: Annotated[str, typer.Option("--what", help="What happened (the person reads it).")],
    sanction: Annotated[str, typer.Option("--sanction", help="A sanction id from policies/compliance.yaml.")],
    step: Annotated[list[str], typer.Option("--step", help="Remediation 'what to do@YYYY-MM-DD' (repeatable).")],
    evidence: Annotated[list[str], typer.Option("--evidence", help="Event id in the log (repeatable).")],
    as_json: JsonFlag = False,
) -> None:
    """Officer: record a violation with its evidence, a proportionate sanction and remediation steps."""

    doc = call("violation.record", person=person, what=what, sanction=sanction, steps=step, evidence=evidence)
    print_json(doc) if as_json else _print_violation(doc)


@violation_app.command("list")
def violation_list(
    mine: Annotated[bool, typer.Option("--mine", help="Only violations recorded against me.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Your own violations; officers, auditors and admins see every one (unless --mine)."""

    docs = call("violation.list", mine=mine)
    if as_json:
        print_json(docs)
        return
    if not docs:
        console.print("no violations")
    for d in docs:
        _print_violation(d)


@violation_app.command("show")
def violation_show(
    violation: Annotated[str, typer.Argument(help="Violation id (a unique prefix will do).")], as_json: JsonFlag = False
) -> None:
    """One violation: what happened, evidence, sanction, remediation steps and their due dates."""

    doc = call("violation.show", violation_id=violation)
    print_json(doc) if as_json else _print_violation(doc)


@violation_app.command("remediate")
def violation_remediate(
    violation: Annotated[str, typer.Argument(help="Violation id (a unique prefix will do).")],
    step: Annotated[int, typer.Option("--step", help="Which remediation step (1, 2, ...).")],
    note: Annotated[str, typer.Option("--note", help="How it was done (kept in the record).")],
    as_json: JsonFlag = False,
) -> None:
    """The person or an officer: record a remediation step as done."""

    doc = call("violation.remediate", violation_id=violation, step=step, note=note)
    print_json(doc) if as_json else _print_violation(doc)


__all__ = ["vendor_app", "violation_app"]
