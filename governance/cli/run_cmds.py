"""``qgov runs``: flow runs on a Prefect work pool, and the submitting half of ``qgov ingest``.

With ``QGOV_WORK_POOL`` set, ``qgov ingest`` does not run the flow in this process: it checks
what it can here (the path, the dataset, the capability), submits the run to the pool's
deployment and prints the run's id at once; ``--wait`` follows the run until it ends.
``qgov runs show ID`` reads a run back. Exit codes follow the command-line contract: a run
that ended Failed, Crashed or Cancelled is a negative verdict (1).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from governance.cli._render import console, escape, print_json, progress
from qgov.errors import InputError

if TYPE_CHECKING:
    from flows.submit import RunStatus
    from governance.config import Settings

runs_app = typer.Typer(help="Flow runs on a Prefect work pool (QGOV_WORK_POOL): their state.", no_args_is_help=True)

INGEST_FLOW = "qgov-ingest"  # flows.ingest.ingest_flow's name (not imported: submitting stays fast)


def _prefect(settings: Settings) -> None:
    from flows.runtime import configure_prefect

    configure_prefect(settings.home)  # before prefect is imported: it reads its settings then


def _follow(run_id: str) -> RunStatus:
    from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

    from flows.submit import follow

    bar = progress(
        SpinnerColumn(),
        TextColumn("[bold]run {task.fields[short]}[/] {task.fields[state]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("tasks"),
        TimeElapsedColumn(),
        transient=True,  # the line that follows says how it ended
    )
    with bar:
        task = bar.add_task("run", total=None, short=run_id[:8], state="submitted")

        def update(status: RunStatus) -> None:
            bar.update(task, completed=status.tasks_done, total=max(status.tasks_total, 1), state=status.state)

        return follow(run_id, update)


def _render(status: RunStatus, as_json: bool) -> None:
    if as_json:
        print_json(status.to_json())
    else:
        when = f", ended {status.ended:%Y-%m-%d %H:%M:%S}Z" if status.ended else ""
        console.print(
            f"run {status.id} ({escape(status.flow)}): {escape(status.state)}{when}; "
            f"{status.tasks_done}/{status.tasks_total} tasks done"
            + (f" — {escape(status.message)}" if status.message and not status.ok else "")
        )
    if status.final and not status.ok:
        # the run's own message names its error; the whole document is already on stdout
        raise SystemExit(1)


def submit_ingest(
    settings: Settings,
    path: Path,
    dataset: str,
    *,
    batch_files: int,
    follow_symlinks: bool,
    dvc_pull: bool,
    wait: bool,
    as_json: bool,
) -> None:
    """``qgov ingest`` with a work pool: submit, print the run id; with ``wait``, follow it."""
    if settings.acting_as:
        raise InputError(
            f"--as {settings.acting_as}: not available with QGOV_WORK_POOL (a worker acts for one principal "
            "and would not record the admin); unset QGOV_WORK_POOL to ingest in this process"
        )
    _prefect(settings)
    from flows.session import flow_args
    from flows.submit import submit

    home, principal = flow_args(settings)
    parameters: dict[str, Any] = {
        "home": home,
        "principal": principal,
        "path": str(path.resolve()),  # the worker must see the same path (same machine or shared mount)
        "dataset": dataset,
        "batch_files": batch_files,
        "follow_symlinks": follow_symlinks,
        "dvc_pull": dvc_pull,
    }
    assert settings.work_pool is not None
    run_id = submit(INGEST_FLOW, settings.work_pool, parameters)
    if not wait:
        if as_json:
            print_json({"run_id": run_id, "flow": INGEST_FLOW, "work_pool": settings.work_pool, "state": "Scheduled"})
        else:
            console.print(run_id)
        return
    _render(_follow(run_id), as_json)


@runs_app.command("show")
def show_command(
    run: Annotated[str, typer.Argument(help="A flow run id, or a unique prefix of it (at least 4 characters).")],
    wait: Annotated[bool, typer.Option("--wait", help="Follow the run until it ends.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
) -> None:
    """Show a flow run's state (on PREFECT_API_URL): flow, state, tasks done, when it ended.

    Exit code 1 when the run ended Failed, Crashed or Cancelled; 4 when there is no such run."""
    from governance.cli._context import store_settings

    _prefect(store_settings())
    from flows.submit import run_status

    status = _follow(run_status(run).id) if wait else run_status(run)
    _render(status, as_json)


__all__ = ["runs_app", "submit_ingest"]
