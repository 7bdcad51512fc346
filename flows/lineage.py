"""Record a derivation from a notebook, a script or a flow: ingest the outputs, link them.

    from flows.lineage import record
    result = record("fit T1", used=[raw_id, code_id], generated=["results/t1_fit.csv"])
    result.activity, result.generated   # the activity id and the new artifacts' ids

or, around the code that writes the outputs (nothing is recorded if it raises):

    with activity("fit T1", used=[raw_id]) as act:
        df.to_csv("results/t1_fit.csv")
        act.generated("results/t1_fit.csv")

The inputs are checked before anything is ingested. The outputs are ingested like any
other file (encrypted, validated, classified), then linked in one transaction; outputs
inherit the most restrictive classification of their inputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import ingest_flow
from flows.runtime import configure_prefect, flow_settings
from flows.session import app_at, flow_args
from governance.config import Settings, load_settings
from governance.derivation import record_derivation
from governance.provenance import dataset_for_record
from qgov.errors import InputError


@dataclass(frozen=True)
class RecordReport:
    activity: str
    name: str
    dataset: str
    used: list[str]
    generated: list[dict[str, Any]]
    changes: list[dict[str, Any]] = field(default_factory=list)


@task(name="record-derivation", cache_policy=NO_CACHE, persist_result=False)
def derivation_task(
    home: str, principal: str, name: str, used: list[str], generated: list[str]
) -> tuple[str, list[Any]]:
    activity, changes = record_derivation(app_at(home, principal), name, used, generated)
    return activity, [c.to_json() for c in changes]


@flow(name="qgov-record-lineage", persist_result=False, validate_parameters=False)
def record_flow(
    home: str, principal: str, name: str, used: list[str], generated: list[str], dataset: str | None = None
) -> RecordReport:
    if not name.strip():
        raise InputError("--activity: expected a name for what was done, e.g. 'fit T1'")
    if not generated:
        raise InputError("--generated: a derivation needs at least one output file")
    for path in generated:
        if not Path(path).exists():
            raise InputError(f"--generated {path}: no such file or directory")
    target = dataset_for_record(app_at(home, principal), used, dataset)
    outputs: list[dict[str, Any]] = []
    for path in generated:
        report = ingest_flow(home, principal, path, target)
        if report.failed or report.quarantined or report.skipped or report.deleted:
            problem = (report.failed or report.quarantined or report.skipped or report.deleted)[0]
            raise InputError(f"--generated {path}: not ingested ({problem.get('error') or problem.get('reason')})")
        outputs += report.artifacts
    activity, changes = derivation_task(home, principal, name, list(used), [a["id"] for a in outputs])
    return RecordReport(activity, name, target, list(used), outputs, changes)


def record(
    name: str,
    used: Sequence[str],
    generated: Sequence[str | Path],
    dataset: str | None = None,
    settings: Settings | None = None,
) -> RecordReport:
    """Ingest ``generated`` files and record that activity ``name`` derived them from ``used``."""
    settings = settings or load_settings()
    configure_prefect(settings.home)
    with flow_settings():
        return record_flow(*flow_args(settings), name, list(used), [str(p) for p in generated], dataset)


class _Activity:
    def __init__(self) -> None:
        self.outputs: list[str] = []
        self.report: RecordReport | None = None  # set when the block has finished and was recorded

    def generated(self, *paths: str | Path) -> None:
        self.outputs += [str(p) for p in paths]


@contextmanager
def activity(
    name: str, used: Sequence[str], dataset: str | None = None, settings: Settings | None = None
) -> Iterator[_Activity]:
    """Record ``name`` when the block finishes without an error (see the module docstring)."""
    act = _Activity()
    yield act
    act.report = record(name, used, act.outputs, dataset, settings)


__all__ = ["RecordReport", "activity", "record", "record_flow"]
