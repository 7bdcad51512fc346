"""`qgov classify`, `qgov policy show|list|publish|test`: what-if evaluation and the rules in force.

What-if commands take ``--policy DIR`` (default ``QGOV_POLICY_DIR``) to try a directory over
the built-in bundles; recorded decisions only ever use the policy published in the store.
"""

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


PolicyDir = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="What-if: evaluate with this policy directory over the built-in bundles (default QGOV_POLICY_DIR; "
        "otherwise the policy published in the store). Never used for a recorded decision.",
    ),
]


def _policies(directory: Path | None = None) -> Any:
    from governance.config import load_settings
    from governance.policy_store import what_if_policies

    return what_if_policies(load_settings(), directory)[0]


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
    policy: PolicyDir = None,
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
    policies = _policies(policy)
    if compare:
        from policies.jurisdictions import compare as compare_all

        comparison = compare_all(item, list(policies.bundles.values()))
        if as_json:
            print_json(comparison.to_json())
        else:
            _render_comparison(comparison, item.get("name") or str(item_file))
        return
    bundle = policies.get(policies.resolve(jurisdiction))
    answer = classify(item, bundle)
    if as_json:
        print_json(answer.to_json())
        return
    explain(answer, item.get("name") or str(item_file), bundle)


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


def explain(answer: Any, name: str, bundle: Any) -> None:
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
        carve_out = seen.rule in {c.id for c in bundle.carveouts}
        if carve_out and seen.outcome in {"excepted", "not_applicable"}:
            console.print(f"  [dim]not cleared by {seen.rule}: {seen.why}[/]")
    if answer.missing:
        console.print(f"  missing: {', '.join(answer.missing)} — add them to the item and classify again")
    console.print(
        f"  [dim]{answer.jurisdiction} policy {answer.policy_version[:16]}…; decision support, not legal advice[/]"
    )


@policy_app.command("show")
def policy_show(
    jurisdiction: Annotated[str | None, typer.Option(help="Only this bundle.")] = None,
    version: Annotated[int | None, typer.Option("--version", help="A published version (default: in force).")] = None,
    policy: PolicyDir = None,
    as_json: JsonFlag = False,
) -> None:
    """List the rules of each bundle with their citation, verification status and version.

    Shows the policy published in the store (``--version N`` for an earlier one), or with
    ``--policy DIR`` what that directory would be."""
    from governance.config import load_settings

    published = None
    if version is not None or (policy is None and load_settings().policy_dir is None and _has_store()):
        from governance.policy_store import published_policy

        published, policies = published_policy(open_app(), version)
    else:
        policies = _policies(policy)
    bundles = [policies.get(jurisdiction)] if jurisdiction else [policies.bundles[k] for k in sorted(policies.bundles)]
    if as_json:
        print_json(
            {
                "published": published.to_json() if published else None,
                "bundles": [
                    b.content() | {"policy_version": b.version, "overridden": list(b.overridden)} for b in bundles
                ],
            }
        )
        return
    if published is not None:
        state = "in force" if published.in_force else "superseded"
        console.print(
            f"published policy v{published.version} ({state}), {published.sha256[:16]}…, "
            f"by {published.published_by} at {published.published_at.isoformat()}"
        )
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


def _has_store() -> bool:
    from governance.config import load_settings
    from governance.db import sqlite_path

    settings = load_settings()
    db = sqlite_path(settings.database_url) if settings.is_sqlite else None
    return not settings.is_sqlite or (db is not None and db.exists())


@policy_app.command("publish")
def policy_publish(
    directory: Annotated[
        Path,
        typer.Argument(metavar="DIR", help="The organisation's policy directory (YAML over the built-in bundles)."),
    ],
    note: Annotated[str, typer.Option(help="Why this version (kept with it).")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Admin: validate DIR and publish it as the policy in force for every recorded decision."""
    from governance.cli._context import call
    from policies.bundle import ORG_PREFIX, policy_files

    org = {key: text for key, text in policy_files(directory).items() if key.startswith(ORG_PREFIX)}
    shown = {key: str(directory / key.removeprefix(ORG_PREFIX)) for key in org}
    published = call("policy.publish", files=org, note=note, source=str(directory), shown_as=shown)
    if as_json:
        print_json(published)
        return
    if not published["new"]:
        console.print(f"unchanged: this content is already in force as policy v{published['version']}")
        return
    console.print(f"published policy v{published['version']} ({published['sha256'][:16]}…), now in force")
    for jurisdiction, bundle_version in published["policy_versions"].items():
        console.print(f"  {jurisdiction}: {bundle_version[:16]}…")


@policy_app.command("list")
def policy_list(as_json: JsonFlag = False) -> None:
    """The published policy versions, newest (in force) first."""
    from governance.cli._context import call

    doc = call("policy.list")
    if as_json:
        print_json(doc)
        return
    table = Table("version", "sha256", "published by", "at", "note", title="published policies")
    for v in doc["versions"]:
        mark = " (in force)" if v["in_force"] else ""
        table.add_row(f"{v['version']}{mark}", v["sha256"][:16] + "…", v["published_by"], v["published_at"], v["note"])
    console.print(table)


@policy_app.command("test")
def policy_test(
    cases: Annotated[
        Path,
        typer.Argument(
            metavar="CASES.yaml", help="Table of item → classification or request → decision, with rule and citation."
        ),
    ],
    policy: PolicyDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Run table-driven cases against the policy (like `opa test`); exit 1 on any failure."""
    from policies.cases import run_cases

    results = run_cases(cases, _policies(policy))
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
