"""Differential-privacy commands: ask for a statistic, see and set a dataset's budget, review."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from governance.cli._context import call
from governance.cli._render import console, diagnostics, print_json

budget_app = typer.Typer(help="A dataset's privacy budget: set it, show it, settle a stuck reservation.",
                         no_args_is_help=True)  # fmt: skip
releases_app = typer.Typer(help="DP releases: list, officer review, run the approved queue.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the record).")]


def release_command(
    dataset: Annotated[str, typer.Argument(help="The dataset (its privacy profile declares the columns).")],
    stat: Annotated[str, typer.Option("--stat", help="count, sum, mean, histogram or quantile.")],
    column: Annotated[str, typer.Option("--column", help="A column declared in the privacy profile.")],
    epsilon: Annotated[str, typer.Option("--epsilon", help="Privacy loss to spend, e.g. 0.1.")],
    purpose: Annotated[str, typer.Option("--purpose", help="What the statistic is for (not for --preview).")] = "",
    delta: Annotated[str, typer.Option("--delta", help="δ (Gaussian mechanism only).")] = "0",
    mechanism: Annotated[str | None, typer.Option("--mechanism", help="laplace or gaussian (policy default).")] = None,
    quantile: Annotated[float | None, typer.Option("--quantile", help="For --stat quantile: q in (0, 1).")] = None,
    artifact: Annotated[str | None, typer.Option("--artifact", help="Table id or path (if several).")] = None,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Show the expected accuracy from public parameters; spend and record nothing."),
    ] = False,
    size: Annotated[
        int | None, typer.Option("--size", help="With --preview: the number of rows to assume (public guess).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Ask for a differentially private statistic instead of the raw data (exit 1 if refused or failed)."""
    doc = call(
        "release.request",
        dataset=dataset,
        stat=stat,
        column=column,
        epsilon=epsilon,
        delta=delta,
        mechanism=mechanism,
        quantile=quantile,
        purpose=purpose,
        artifact=artifact,
        preview=preview,
        size=size,
    )
    unfinished = None if preview else _unfinished(doc, dataset)
    if unfinished:
        doc["error"] = unfinished
    if as_json:
        print_json(doc)
    elif preview:
        _print_preview(doc)
    else:
        _print_answer(doc)
    if doc["status"] in ("refused", "denied", "failed") or unfinished:
        raise SystemExit(1)


def _print_preview(doc: dict[str, Any]) -> None:
    acc = doc["accuracy"]
    confidence = f"{100 * (1 - acc.get('alpha', 0.05)):.0f}% confidence"
    figures = ", ".join(
        f"{k.replace('_', ' ')} ±{acc[k]:.6g}"
        for k in ("plus_minus", "per_category_plus_minus", "sum_plus_minus", "count_plus_minus", "rank_plus_minus")
        if k in acc
    )
    console.print(
        f"[bold]preview[/] of a {doc['mechanism']} {doc['stat']} of {doc['column']} at ε {doc['epsilon']}: "
        f"{figures or 'the whole bounds'} ({confidence}); nothing spent or recorded"
    )
    if "rows_for_10_percent" in acc:
        console.print(f"±10% of the bounds' range needs about {acc['rows_for_10_percent']} rows")
    console.print(
        f"the budget has ε {doc['budget']['epsilon_remaining']} left of {doc['budget']['epsilon_total']}"
        + ("" if doc["fits_budget"] else " [bold red](not enough for this release)[/]")
    )
    for warning in doc["warnings"]:
        console.print(f"[yellow]warning[/]: {warning}")


def _unfinished(doc: dict[str, Any], dataset: str) -> str | None:
    """Why an answer that is neither a statistic, a refusal nor a review carries no value.

    The same question asked again returns the stored release; when that one never finished
    (its process was killed while computing, or before it ran) there is no statistic to show,
    and exit 0 would read as success."""
    release = doc["release_id"]
    if doc["status"] == "reserved":
        return (
            f"release {release} did not finish: its ε is reserved by a run that was killed or is still "
            f"computing, and no statistic was released; if no run is active, an admin settles it with "
            f"'qgov budget reconcile {dataset} {release} --action refund --reason …'"
        )
    if doc["status"] == "approved":
        return f"release {release} is approved but has not run yet; run it with 'qgov releases run'"
    return None


def _print_answer(doc: dict[str, Any]) -> None:
    reason = doc["decision"][0]["text"] if doc.get("decision") else ""
    if doc["status"] == "released":
        acc = doc["accuracy"]
        bound = acc.get("plus_minus", acc.get("interval", acc))
        console.print(
            f"[bold]{doc['value']}[/] (±{bound} with {100 * (1 - acc.get('alpha', 0.05)):.0f}% confidence) — "
            f"release {doc['release_id']}"
            + (" [dim](the stored answer to the same question: nothing spent)[/]" if doc["repeat"] else "")
        )
        console.print(
            f"spent ε {doc['epsilon_spent']}; remaining ε {doc['budget']['epsilon_remaining']} of "
            f"{doc['budget']['epsilon_total']}; classification: {doc['classification']}"
        )
    elif doc["status"] == "refused":
        console.print(f"[bold red]refused[/]: {doc.get('error')}")
    elif doc["status"] == "failed":
        console.print(f"[bold red]failed[/]: {doc.get('error')} (spent ε {doc['epsilon_spent']})")
    elif doc["status"] == "denied":
        console.print(f"[bold red]denied[/]: {reason}")
    elif doc.get("error"):  # no statistic and no verdict: an error line, on stderr
        diagnostics.print(f"[bold red]error:[/] {doc['error']}", highlight=False)
    else:
        console.print(f"[yellow]{doc['status']}[/]: {reason} (release {doc['release_id']})")
    for warning in doc.get("warnings", []):
        console.print(f"[yellow]warning[/]: {warning}")


@budget_app.command("set")
def budget_set(
    dataset: Annotated[str, typer.Argument(help="The dataset.")],
    profile: Annotated[Path, typer.Argument(metavar="PROFILE.yaml", help="contributions, columns, budget.")],
    reason: Annotated[
        str, typer.Option("--reason", help="Why (needed, with an officer, to raise the total or lower the unit).")
    ] = "",
    as_json: JsonFlag = False,
) -> None:
    """Data manager: declare the privacy unit, each column's bounds or categories, and the budget.

    After releases, a new unit rescales what was spent; raising the total needs an officer."""
    from governance.cli.main import load_document

    data = load_document(profile, "privacy profile")
    doc = call("budget.set", dataset=dataset, data=data, source=str(profile), reason=reason)
    _print_budget(doc, as_json)


@budget_app.command("show")
def budget_show_command(
    dataset: Annotated[str, typer.Argument(help="The dataset.")], as_json: JsonFlag = False
) -> None:
    """The budget: total, spent, reserved, remaining (exact), and every release."""
    _print_budget(call("budget.show", dataset=dataset), as_json)


def _print_budget(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(doc)
        return
    e, d = doc["epsilon"], doc["delta"]
    console.print(
        f"[bold]{doc['dataset']}[/]: ε {e['remaining']} remaining of {e['total']} "
        f"(spent {e['spent']}, reserved {e['reserved']}); δ {d['remaining']} of {d['total']}; "
        f"{doc['contributions']} row(s) per contributor"
        + ("" if doc["ledger_consistent"] else " [bold red]LEDGER DOES NOT ADD UP[/]")
    )
    if doc["releases"]:
        _release_table(doc["releases"])


def _release_table(rows: list[dict[str, Any]]) -> None:
    table = Table("release", "status", "query", "ε", "value", "requester", "classification")
    for r in rows:
        q = r["query"]
        table.add_row(
            r["release_id"][:8],
            r["status"],
            f"{q['stat']}({q['column']})",
            r["epsilon"],
            str(r.get("value", "—")),
            r["requester"],
            str(r.get("classification") or "—"),
        )
    console.print(table)


@budget_app.command("reconcile")
def budget_reconcile(
    dataset: Annotated[str, typer.Argument(help="The dataset.")],
    release: Annotated[str, typer.Argument(help="The release whose reservation is stuck.")],
    action: Annotated[str, typer.Option("--action", help="refund (nothing was released) or charge.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """Admin: settle a reservation left by a release whose process died (it counts until then)."""
    doc = call("budget.reconcile", dataset=dataset, release_id=release, action=action, reason=reason)
    _print_budget(doc, as_json)


@releases_app.command("list")
def releases_list(
    dataset: Annotated[str, typer.Argument(help="The dataset.")],
    as_json: JsonFlag = False,
) -> None:
    """Every release of a dataset with its status, value and classification."""
    rows = call("budget.show", dataset=dataset)["releases"]
    if as_json:
        print_json({"releases": rows})
    else:
        _release_table(rows)


@releases_app.command("approve")
def releases_approve(release: Annotated[str, typer.Argument()], reason: Reason, as_json: JsonFlag = False) -> None:
    """Officer: approve a release policy sent to review; it runs at once."""
    doc = call("release.decide", release_id=release, approve=True, reason=reason)
    print_json(doc) if as_json else _print_answer(doc)


@releases_app.command("deny")
def releases_deny(release: Annotated[str, typer.Argument()], reason: Reason, as_json: JsonFlag = False) -> None:
    """Officer: deny a release policy sent to review."""
    doc = call("release.decide", release_id=release, approve=False, reason=reason)
    print_json(doc) if as_json else _print_answer(doc)


@releases_app.command("classify")
def releases_classify(
    release: Annotated[str, typer.Argument()],
    as_: Annotated[str, typer.Option("--as", help="The classification, e.g. EAR99.")],
    reason: Reason,
    as_json: JsonFlag = False,
) -> None:
    """Officer: classify a released statistic before it is published."""
    doc = call("release.classify", release_id=release, classification=as_, reason=reason)
    print_json(doc) if as_json else console.print(f"release {release} classified {doc['classification']}")


@releases_app.command("run")
def releases_run(as_json: JsonFlag = False) -> None:
    """Run every approved release in the queue (a Prefect flow)."""
    from flows.runtime import configure_prefect, flow_settings
    from governance.cli._context import store_settings

    settings = store_settings()
    configure_prefect(settings.home)
    from flows.privacy import release_queue_flow
    from flows.session import flow_args

    with flow_settings():
        results = release_queue_flow(*flow_args(settings))
    if as_json:
        print_json({"releases": results})
    else:
        for r in results:
            console.print(f"{r['release_id']}: {r['status']}" + (f" — {r['error']}" if r.get("error") else ""))
        if not results:
            console.print("no approved release is waiting")
    if any(r["status"] != "released" for r in results):
        raise SystemExit(1)  # a release that failed or was refused is not a success


__all__ = ["budget_app", "release_command", "releases_app"]
