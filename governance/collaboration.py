"""A collaboration check: people × artifacts → the outcome a request would get (what-if).

The policy article's pre-emptive disclosure: know the licensing burden before starting a
collaboration. Each cell is :func:`governance.access.check` on a request by that person
(as described: citizenship, residence, location, affiliation) for that artifact, sent to the
person's location; nothing is recorded. Exportable as CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from governance.app import App
from governance.capabilities import authorize
from qgov.errors import InputError

MAX_PEOPLE = 50
MAX_ARTIFACTS = 50


def parse_people(text: str) -> list[dict[str, Any]]:
    """One person a line: ``name; citizenships (comma-separated); residence; location; affiliation``."""
    people = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) != 5 or not parts[0] or not parts[4]:
            raise InputError(
                f"people line {number}: expected 'name; citizenships; residence; location; affiliation', got {line!r}"
            )
        name, citizenships, residence, location, affiliation = parts
        codes = [c.strip().upper() for c in citizenships.split(",") if c.strip()]
        for field, values in (
            ("citizenships", codes),
            ("residence", [residence.upper()]),
            ("location", [location.upper()]),
        ):
            if not values or not all(len(v) == 2 and v.isalpha() for v in values):
                raise InputError(f"people line {number}: {field} expected two-letter country codes, got {line!r}")
        people.append(
            {
                "name": name,
                "citizenships": codes,
                "permanent_residence": residence.upper(),
                "location": location.upper(),
                "affiliation": affiliation,
            }
        )
    if not people:
        raise InputError("people: describe at least one person, one a line")
    if len(people) > MAX_PEOPLE:
        raise InputError(f"people: at most {MAX_PEOPLE} people per check")
    return people


def collaboration_matrix(
    app: App, people: list[dict[str, Any]], artifacts: list[str], purpose: str = "collaboration check"
) -> dict[str, Any]:
    """``{"people", "artifacts", "cells": [[{"outcome", "rule", "citation"}]]}``; records nothing."""
    from governance.access import check
    from governance.catalog import get_artifact

    if not artifacts:
        raise InputError("artifacts: choose at least one artifact")
    if len(artifacts) > MAX_ARTIFACTS:
        raise InputError(f"artifacts: at most {MAX_ARTIFACTS} per check")
    at = datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        found = [get_artifact(conn, a) for a in artifacts]
    cells = []
    for person in people:
        row = []
        for art in found:
            request = {
                "requester": person,
                "item": {"artifact": art.id},
                "purpose": purpose,
                "destination": person["location"],
            }
            decision, _evidence = check(app, request, at, "collaboration")
            top = next((r for r in decision.reasons if r.outcome == decision.outcome), None)
            row.append(
                {
                    "outcome": decision.outcome,
                    "classification": decision.classification,
                    "rule": top.rule if top else "",
                    "citation": top.citation if top else "",
                }
            )
        cells.append(row)
    return {
        "people": people,
        "artifacts": [{"id": a.id, "name": f"{a.dataset}/{a.path}"} for a in found],
        "cells": cells,
        "at": at,
    }


def _cell(value: str) -> str:
    """No spreadsheet formula from a name someone typed."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def matrix_csv(doc: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "person",
            "citizenships",
            "location",
            "affiliation",
            "artifact",
            "classification",
            "outcome",
            "rule",
            "citation",
        ]
    )
    for person, row in zip(doc["people"], doc["cells"], strict=True):
        for art, cell in zip(doc["artifacts"], row, strict=True):
            writer.writerow(
                [
                    _cell(str(v))
                    for v in (
                        person["name"],
                        " ".join(person["citizenships"]),
                        person["location"],
                        person["affiliation"],
                        art["name"],
                        cell["classification"],
                        cell["outcome"],
                        cell["rule"],
                        cell["citation"],
                    )
                ]
            )
    return out.getvalue()


__all__ = ["collaboration_matrix", "matrix_csv", "parse_people"]
