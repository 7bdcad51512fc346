"""`qgov classify`, `qgov policy show`, `qgov policy test`: what-if evaluation and the rules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import open_app
from governance.cli._render import console, print_json

policy_app = typer.Typer(help="Show and test the export-control policy bundles.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Jurisdiction = Annotated[str, typer.Option("--jurisdiction", help="Policy bundle to use, e.g. US-EAR or CA-ECL.")]


def _policies() -> Any:
    return open_app().policies


def classify_command(
    item_file: Annotated[
        Path, typer.Argument(metavar="ITEM.json", help="The item to classify (DESIGN.md ITEM schema).")
    ],
    jurisdiction: Jurisdiction = "US-EAR",
    compare: Annotated[
        bool,
        typer.Option(
            "--compare", help="Answer under every jurisdiction side by side, with the thresholds that differ."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """What-if: classify an item against the control list; nothing is recorded.

    A well-formed item that lacks a fact a rule needs is INCOMPLETE, with the missing
    fields named (exit 0: it is an answer, not an error). With --compare, every
    jurisdiction's answer is shown side by side (exit 0 too).
    """
    from governance.cli.main import load_document
    from governance.schemas import validate
    from policies.classify import check_item, classify

    item = check_item(load_document(item_file, "item"), str(item_file))
    validate(item, "item.schema.json", str(item_file))
    policies = _policies()
    if compare:
        from policies.jurisdictions import compare as compare_all

        comparison = compare_all(item, list(policies.bundles.values()))
        if as_json:
            print_json(comparison.to_json())
        else:
            _render_comparison(comparison, item.get("name") or str(item_file))
        return
    answer = classify(item, policies.get(policies.resolve(jurisdiction)))
    if as_json:
        print_json(answer.to_json())
        return
    explain(answer, item.get("name") or str(item_file))


_STATUS = {"V": "verified", "P": "partly verified", "U": "UNVERIFIED"}


def _render_comparison(comparison: Any, name: str) -> None:
    """One row per jurisdiction and reason; then the thresholds that are not shared by all."""
    table = Table(title=f"{name}: every jurisdiction")
    for column in ("jurisdiction", "classification / entry", "rule", "citation", "status"):
        table.add_column(column, overflow="fold")  # rule ids and citations are never cut short
    for answer in comparison.answers:
        shown_entry = answer.entry and answer.entry != answer.classification
        label = answer.classification + (f" ({answer.entry})" if shown_entry else "")
        if answer.missing:
            label += f"; missing {', '.join(answer.missing)}"
        reasons = answer.reasons or ()
        for index, reason in enumerate(reasons):
            first = index == 0
            table.add_row(
                answer.jurisdiction if first else "",
                label if first else "",
                reason.rule,
                reason.citation or "—",
                _STATUS.get(reason.status, reason.status),
            )
    console.print(table)
    strictest = comparison.strictest
    console.print(f"strictest: {strictest.jurisdiction} {strictest.classification}")
    if not comparison.differing:
        subject = comparison.subject or "this subject"
        console.print(f"thresholds for {subject}: the same in every jurisdiction")
    else:
        diff = Table(title=f"thresholds for {comparison.subject} that differ")
        for column in ("threshold", "in", "not in"):
            diff.add_column(column, overflow="fold")
        for threshold in comparison.differing:
            diff.add_row(threshold.text, ", ".join(threshold.jurisdictions), ", ".join(threshold.missing_in))
        console.print(diff)
    console.print("[dim]decision support, not legal advice[/]")


def _carveout_ids(jurisdiction: str) -> Any:
    return _policies().get(jurisdiction).carveouts


def explain(answer: Any, name: str) -> None:
    """The decision in plain words, with the rules and citations behind it."""
    headline = {
        "NOT_SUBJECT": "is [green]not subject[/] to these controls",
        "INCOMPLETE": "[yellow]cannot be classified yet[/]: facts are missing",
    }.get(answer.classification)
    if headline is None:
        headline = (
            f"is [bold red]{answer.classification}[/] (controlled)"
            if answer.controlled
            else f"is [bold]{answer.classification}[/] (subject, not on the control list)"
        )
    console.print(f"{name} {headline}")
    for reason in answer.reasons:
        status = {"V": "verified", "P": "partly verified", "U": "UNVERIFIED"}.get(reason.status, reason.status)
        console.print(f"  because {reason.text}")
        if reason.citation:
            console.print(f"    [dim]{reason.rule}: {reason.citation} ({status})[/]")
    for seen in answer.considered:
        carve_out = seen.rule in {c.id for c in _carveout_ids(answer.jurisdiction)}
        if carve_out and seen.outcome in {"excepted", "not_applicable"}:
            console.print(f"  [dim]not cleared by {seen.rule}: {seen.why}[/]")
    if answer.missing:
        console.print(f"  missing: {', '.join(answer.missing)} — add them to the item and classify again")
    console.print(
        f"  [dim]{answer.jurisdiction} policy {answer.policy_version[:16]}…; decision support, not legal advice[/]"
    )


@policy_app.command("show")
def policy_show(
    jurisdiction: Annotated[str | None, typer.Option(help="Only this bundle.")] = None, as_json: JsonFlag = False
) -> None:
    """List the rules of each bundle with their citation, verification status and version."""
    policies = _policies()
    bundles = [policies.get(jurisdiction)] if jurisdiction else [policies.bundles[k] for k in sorted(policies.bundles)]
    if as_json:
        print_json(
            {
                "bundles": [
                    b.content() | {"policy_version": b.version, "overridden": list(b.overridden)} for b in bundles
                ]
            }
        )
        return
    for bundle in bundles:
        table = Table(
            "rule",
            "entry",
            "subject",
            "when",
            "→ hw / sw / tech",
            "status",
            "citation",
            title=f"{bundle.jurisdiction} — policy {bundle.version[:16]}…",
        )
        for rule in sorted(bundle.rules, key=lambda r: r.id):
            when = " and ".join(b.describe() for b in rule.when) or "—"
            if rule.parameters_unverified:
                when = f"{when if rule.when else ''} parameters unverified → INCOMPLETE".strip()
            mark = " (org)" if rule.id in bundle.overridden else ""
            table.add_row(
                rule.id + mark,
                rule.entry,
                rule.subject,
                when,
                f"{rule.hardware} / {rule.software or 'EAR99'} / {rule.technology or 'EAR99'}",
                rule.status,
                rule.citation,
            )
        for carve in sorted(bundle.carveouts, key=lambda c: c.id):
            when = ", ".join(f"{k}={str(v).lower()}" for k, v in carve.when)
            table.add_row(carve.id, "not subject", "(tech/software)", when, carve.title, carve.status, carve.citation)
        console.print(table)


@policy_app.command("test")
def policy_test(
    cases: Annotated[
        Path,
        typer.Argument(
            metavar="CASES.yaml", help="Table of item → classification or request → decision, with rule and citation."
        ),
    ],
    as_json: JsonFlag = False,
) -> None:
    """Run table-driven cases against the policy (like `opa test`); exit 1 on any failure."""
    from policies.cases import run_cases

    results = run_cases(cases, _policies())
    failed = [r for r in results if not r.passed]
    if as_json:
        print_json(
            {
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "failures": [{"name": r.name, "expected": r.expected, "got": r.got} for r in failed],
            }
        )
    else:
        for r in failed:
            console.print(f"[red]FAIL[/] {r.name}: expected {r.expected}, got {r.got}")
        console.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise SystemExit(1)
