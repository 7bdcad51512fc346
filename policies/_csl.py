"""The Consolidated Screening List (CSL) as data: its entries, a loaded list, its parsers.

Holds :class:`ListEntry`, :class:`ScreeningList` (whose ``version`` hashes its content)
and the CSV and JSON parsers with their field checks, so that :mod:`policies.screening`
is left with matching. Kept apart because reading the list is a separate concern with
its own failure mode — bad input, reported as ``InputError`` with the line or result
number — and does not depend on how names are compared. Private: import these names from
:mod:`policies.screening`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qgov.canonical import canonical_hash
from qgov.errors import InputError

_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class ListEntry:
    """One listed party as the CSL publishes it; ``countries`` are the ISO-2 codes of its addresses."""

    entry_id: str
    name: str
    source: str
    alt_names: tuple[str, ...] = ()
    entity_type: str = ""
    programs: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    federal_register_notice: str = ""
    start_date: str = ""
    license_requirement: str = ""
    license_policy: str = ""
    remarks: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.alt_names)

    def to_json(self) -> dict[str, Any]:
        return {
            "entry_id": self.entry_id,
            "name": self.name,
            "source": self.source,
            "alt_names": list(self.alt_names),
            "type": self.entity_type,
            "programs": list(self.programs),
            "countries": list(self.countries),
            "federal_register_notice": self.federal_register_notice,
            "start_date": self.start_date,
            "license_requirement": self.license_requirement,
            "license_policy": self.license_policy,
            "remarks": self.remarks,
        }


@dataclass(frozen=True)
class ScreeningList:
    """A loaded list; ``version`` hashes its content, so row order and file name do not change it."""

    entries: tuple[ListEntry, ...]
    source: str
    version: str = field(init=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.entries, key=lambda e: e.entry_id))
        seen: set[str] = set()
        for entry in ordered:
            if entry.entry_id in seen:
                raise InputError(f"{self.source}: entry id {entry.entry_id!r} appears more than once")
            seen.add(entry.entry_id)
        object.__setattr__(self, "entries", ordered)
        object.__setattr__(self, "version", canonical_hash([e.to_json() for e in ordered]))


_REQUIRED = ("_id", "source", "name")


def _text(value: Any, where: str, column: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InputError(f"{where}: field {column!r} must be text, got {type(value).__name__}")
    return str(value).strip()


def _texts(value: Any, where: str, column: str) -> tuple[str, ...]:
    """A CSV cell with ``; `` separators, or a JSON list of strings."""
    if isinstance(value, list):
        items = [_text(v, where, column) for v in value]
    else:
        items = _text(value, where, column).split(";")
    return tuple(i.strip() for i in items if i.strip())


def _countries(value: Any, where: str) -> tuple[str, ...]:
    """ISO-2 codes: the last comma part of each CSV address, or ``country`` of each JSON one."""
    found: set[str] = set()
    parts: list[str] = []
    if isinstance(value, list):
        for address in value:
            if isinstance(address, Mapping):
                parts.append(_text(address.get("country"), where, "addresses.country"))
            else:
                parts.append(_text(address, where, "addresses").rsplit(",", 1)[-1])
    else:
        parts = [a.rsplit(",", 1)[-1] for a in _text(value, where, "addresses").split(";")]
    for part in parts:
        code = part.strip().upper()
        if _COUNTRY.fullmatch(code):
            found.add(code)
    return tuple(sorted(found))


def _entry(row: Mapping[str, Any], where: str) -> ListEntry:
    values = {c: _text(row.get(c), where, c) for c in _REQUIRED}
    for column in _REQUIRED:
        if not values[column]:
            raise InputError(f"{where}: field {column!r} is empty; every entry needs _id, source and name")
    return ListEntry(
        entry_id=values["_id"],
        name=values["name"],
        source=values["source"],
        alt_names=_texts(row.get("alt_names"), where, "alt_names"),
        entity_type=_text(row.get("type"), where, "type"),
        programs=_texts(row.get("programs"), where, "programs"),
        countries=_countries(row.get("addresses"), where),
        federal_register_notice=_text(row.get("federal_register_notice"), where, "federal_register_notice"),
        start_date=_text(row.get("start_date"), where, "start_date"),
        license_requirement=_text(row.get("license_requirement"), where, "license_requirement"),
        license_policy=_text(row.get("license_policy"), where, "license_policy"),
        remarks=_text(row.get("remarks"), where, "remarks"),
    )


def parse_csl_csv(text: str, source: str) -> ScreeningList:
    """Parse the CSL CSV layout (``_id,source,…,name,…,alt_names,…``); ``source`` labels errors."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = reader.fieldnames
        if not header:
            raise InputError(f"{source}: no header row; expected the CSL CSV columns starting _id,source,…")
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise InputError(f"{source}: missing column {missing[0]!r}; a CSL CSV needs _id, source and name")
        entries = [_entry(row, f"{source}, line {reader.line_num}") for row in reader]
    except csv.Error as exc:
        raise InputError(f"{source}, line {reader.line_num}: not valid CSV: {exc}") from None
    return ScreeningList(tuple(entries), source)


def parse_csl_json(text: str, source: str) -> ScreeningList:
    """Parse CSL JSON: ``{"results": [entry, …]}`` or a bare list of entries."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    results = document.get("results") if isinstance(document, dict) else document
    if not isinstance(results, list):
        raise InputError(f"{source}: expected a JSON list of entries or an object with a 'results' list")
    entries = []
    for number, row in enumerate(results, start=1):
        where = f"{source}, result {number}"
        if not isinstance(row, dict):
            raise InputError(f"{where}: expected an object, got {type(row).__name__}")
        entries.append(_entry(row, where))
    return ScreeningList(tuple(entries), source)
