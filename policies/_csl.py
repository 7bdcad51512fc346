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
    """One listed party with every field its list publishes.

    ``countries`` are the ISO-2 codes of its addresses (what the matcher weighs);
    ``addresses`` are the addresses as written; ``details`` keeps every other published
    field (ids, citizenships, dates of birth, vessel data, FtM properties …) as JSON
    values, so nothing a list says is dropped and the version hashes all of it.
    """

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
    end_date: str = ""
    addresses: tuple[str, ...] = ()
    source_list_url: str = ""
    details: tuple[tuple[str, Any], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.alt_names)

    def to_json(self) -> dict[str, Any]:
        data = {
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
        # empty fields are left out: no nulls, no empty lists in what the version hashes
        extra = {
            "end_date": self.end_date,
            "addresses": list(self.addresses),
            "source_list_url": self.source_list_url,
            "details": dict(self.details),
        }
        return data | {k: v for k, v in extra.items() if v}


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
# Read into ListEntry's own fields; every other published field goes into ``details``.
_TYPED = frozenset(
    (
        *_REQUIRED,
        "id",
        "alt_names",
        "type",
        "programs",
        "addresses",
        "federal_register_notice",
        "start_date",
        "end_date",
        "license_requirement",
        "license_policy",
        "remarks",
        "source_list_url",
    )
)
_ADDRESS_PARTS = ("address", "city", "state", "postal_code", "postalCode", "country")
_EMPTY: tuple[Any, ...] = ("", [], {}, None)


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


def _addresses(value: Any, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(addresses as written, ISO-2 countries): CSV ``street, city, CC; …`` or JSON address objects."""
    written: list[str] = []
    codes: list[str] = []
    if isinstance(value, list):
        for number, address in enumerate(value, start=1):
            if isinstance(address, Mapping):
                parts = [_text(address.get(k), where, f"addresses[{number}].{k}") for k in _ADDRESS_PARTS]
                written.append(", ".join(p for p in parts if p))
                codes.append(parts[-1])
            else:
                text = _text(address, where, "addresses")
                written.append(text)
                codes.append(text.rsplit(",", 1)[-1])
    else:
        written = list(_texts(value, where, "addresses"))
        codes = [a.rsplit(",", 1)[-1] for a in written]
    found = {c.strip().upper() for c in codes if _COUNTRY.fullmatch(c.strip().upper())}
    return tuple(w for w in written if w), tuple(sorted(found))


def _detail(value: Any) -> Any:
    """A published field kept as given (JSON values), without its empty parts."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [d for d in (_detail(v) for v in value) if d not in _EMPTY]
    if isinstance(value, Mapping):
        return {str(k): d for k, v in value.items() if (d := _detail(v)) not in _EMPTY}
    return value


def _entry(row: Mapping[str, Any], where: str) -> ListEntry:
    if "_id" not in row and "id" in row:  # the CSL JSON writes ``id``, its CSV ``_id``
        row = {"_id": row["id"]} | {k: v for k, v in row.items() if k != "id"}
    values = {c: _text(row.get(c), where, c) for c in _REQUIRED}
    for column in _REQUIRED:
        if not values[column]:
            raise InputError(f"{where}: field {column!r} is empty; every entry needs _id, source and name")
    addresses, countries = _addresses(row.get("addresses"), where)
    details = {str(k): d for k, v in row.items() if k not in _TYPED and (d := _detail(v)) not in _EMPTY}
    return ListEntry(
        entry_id=values["_id"],
        name=values["name"],
        source=values["source"],
        alt_names=_texts(row.get("alt_names"), where, "alt_names"),
        entity_type=_text(row.get("type"), where, "type"),
        programs=_texts(row.get("programs"), where, "programs"),
        countries=countries,
        federal_register_notice=_text(row.get("federal_register_notice"), where, "federal_register_notice"),
        start_date=_text(row.get("start_date"), where, "start_date"),
        license_requirement=_text(row.get("license_requirement"), where, "license_requirement"),
        license_policy=_text(row.get("license_policy"), where, "license_policy"),
        remarks=_text(row.get("remarks"), where, "remarks"),
        end_date=_text(row.get("end_date"), where, "end_date"),
        addresses=addresses,
        source_list_url=_text(row.get("source_list_url"), where, "source_list_url"),
        details=tuple(sorted(details.items())),
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
