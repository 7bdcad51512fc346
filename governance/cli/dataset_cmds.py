"""`qgov dataset update`: correct a dataset's subject, parameters, owner, description,
expectations or research context (each change recorded; the data reclassified)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from governance.cli._context import open_client
from governance.cli._render import console
from qgov.errors import InputError

JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def _params(params: list[str]) -> dict[str, Any]:
    """KEY=VALUE as a number when it reads as one; KEY= (empty) removes the parameter."""
    out: dict[str, Any] = {}
    for param in params:
        key, sep, raw = param.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param {param!r}: expected KEY=VALUE (or KEY= to remove it), e.g. physical_qubits=120")
        value: Any = None
        if raw.strip():
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw
        out[key.strip()] = value
    return out


def dataset_update_command(
    name: str,
    subject_type: Annotated[
        str | None, typer.Option("--subject-type", help="A new subject type (its parameters start empty).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Subject parameter KEY=VALUE to set, or KEY= to remove (repeatable)."),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="A registered person responsible for it.")] = None,
    description: Annotated[str | None, typer.Option(help="What the data is.")] = None,
    expectations: Annotated[
        Path | None, typer.Option("--expectations", help="YAML/JSON list of checks (replaces the current ones).")
    ] = None,
    fundamental: Annotated[str | None, typer.Option(help="Fundamental research? yes / no / unknown.")] = None,
    publication: Annotated[str | None, typer.Option("--intended-for-publication", help="yes / no / unknown.")] = None,
    restrictions: Annotated[
        str | None, typer.Option("--restrictions-accepted", help="Sponsor restrictions accepted? yes / no / unknown.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Correct a dataset; a change of subject or research context reclassifies its artifacts
    and everything derived from them."""
    from governance.cli.classify_cmds import _render_changes
    from governance.cli.main import _research_flags, load_document
    from governance.dataset_edit import DatasetChanges

    checks = None
    if expectations is not None:
        checks = load_document(expectations, "expectations")
        if not isinstance(checks, list):
            raise InputError(f"expectations file {expectations}: expected a list of checks")
    changes = DatasetChanges(
        subject_type=subject_type,
        params=_params(param or []),
        owner=owner,
        description=description,
        expectations=checks,
        research=_research_flags(fundamental, publication, restrictions),
    )
    done = open_client().update_dataset(name, changes)
    if not as_json:
        console.print(
            f"dataset {name}: " + (f"changed {', '.join(done['fields'])}" if done["fields"] else "nothing changed")
        )
    _render_changes(done["changes"], as_json, {"dataset": done["dataset"], "fields": done["fields"]})


__all__ = ["dataset_update_command"]
