"""OpenSanctions' FollowTheMoney (FtM) entities as a screening list, and list-format detection.

An FtM export is line-delimited JSON, one entity a line::

    {"id": "NK-…", "schema": "Company", "caption": "…", "datasets": ["us_trade_csl"],
     "properties": {"name": […], "alias": […], "weakAlias": […], "country": ["ru"], …}}

Every property value is a list of strings. A party is an entity with a ``name``; lines of
other schemata (``Sanction``, ``Address``, ``Ownership`` …: the links between parties)
carry no name and are skipped. The entry keeps everything: its names (``name``,
``alias``, ``weakAlias``, ``previousName``, ``abbreviation`` all match — a weak alias is
usually an acronym, which is what a requester writes), its countries (``country``,
``jurisdiction``, ``nationality``, ``citizenship``, ``mainCountry``, ``addressEntity``
aside), and every other property and top-level field under ``details``. Private: import
:func:`parse_list` from :mod:`policies.screening`.
"""

from __future__ import annotations

import json
from typing import Any

from policies._csl import _COUNTRY, ListEntry, ScreeningList, _detail, parse_csl_csv, parse_csl_json
from qgov.errors import InputError

FORMATS = ("csv", "json", "ftm")
_NAME_PROPS = ("name", "alias", "weakAlias", "previousName", "abbreviation")
_COUNTRY_PROPS = ("country", "jurisdiction", "nationality", "citizenship", "mainCountry")
_PARTIES = frozenset({"Person", "Organization", "Company", "LegalEntity", "PublicBody", "Vessel", "Airplane"})


def _strings(value: Any, where: str, prop: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: field 'properties.{prop}' must be a list of strings, got {value!r:.60}")
    return [v.strip() for v in value if v.strip()]


def _ftm_entry(entity: dict[str, Any], where: str) -> ListEntry | None:
    entity_id = entity.get("id")
    if not isinstance(entity_id, str) or not entity_id.strip():
        raise InputError(f"{where}: field 'id' is empty; every FtM entity needs an id")
    schema = entity.get("schema")
    if not isinstance(schema, str) or not schema:
        raise InputError(f"{where}: field 'schema' is empty; expected an FtM schema such as Company or Person")
    props = entity.get("properties")
    if not isinstance(props, dict):
        raise InputError(f"{where}: field 'properties' must be an object of lists")
    names = list(dict.fromkeys(n for p in _NAME_PROPS for n in _strings(props.get(p), where, p)))
    caption = entity.get("caption")
    if isinstance(caption, str) and caption.strip() and caption.strip() not in names and names:
        names.insert(0, caption.strip())
    if not names:
        if schema in _PARTIES:
            raise InputError(f"{where}: field 'properties.name' is empty; a {schema} needs a name to screen")
        return None  # a link between parties (Sanction, Address, Ownership …), not a party
    datasets = entity.get("datasets") or []
    if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
        raise InputError(f"{where}: field 'datasets' must be a list of dataset names")
    codes = {c.upper() for p in _COUNTRY_PROPS for c in _strings(props.get(p), where, p)}
    used = {*_NAME_PROPS, *_COUNTRY_PROPS, "address", "program", "notes", "startDate", "endDate", "sourceUrl"}
    details = {f"properties.{k}": _detail(v) for k, v in props.items() if k not in used}
    details |= {"properties.country": sorted(codes)} if codes else {}
    details |= {k: _detail(v) for k, v in entity.items() if k not in {"id", "schema", "properties", "caption"}}

    def first(prop: str) -> str:
        return (_strings(props.get(prop), where, prop) or [""])[0]

    return ListEntry(
        entry_id=entity_id.strip(),
        name=names[0],
        source="OpenSanctions: " + ", ".join(sorted(datasets)) if datasets else "OpenSanctions",
        alt_names=tuple(names[1:]),
        entity_type=schema,
        programs=tuple(_strings(props.get("program"), where, "program")),
        countries=tuple(sorted(c for c in codes if _COUNTRY.fullmatch(c))),
        start_date=first("startDate"),
        end_date=first("endDate"),
        remarks="; ".join(_strings(props.get("notes"), where, "notes")),
        addresses=tuple(_strings(props.get("address"), where, "address")),
        source_list_url=first("sourceUrl"),
        details=tuple(sorted((k, v) for k, v in details.items() if v not in ("", [], {}, None))),
    )


def parse_ftm(text: str, source: str) -> ScreeningList:
    """Parse line-delimited FtM entities; ``source`` labels errors with the line number."""
    entries = []
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}, line {number}"
        try:
            entity = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(entity, dict):
            raise InputError(f"{where}: expected an FtM entity object, got {type(entity).__name__}")
        entry = _ftm_entry(entity, where)
        if entry is not None:
            entries.append(entry)
    if not entries:
        raise InputError(f"{source}: no named FtM entity (Person, Company, Organization …) to screen against")
    return ScreeningList(tuple(entries), source)


def detect_format(text: str, filename: str) -> str:
    """``csv``, ``json`` (CSL JSON) or ``ftm`` (line-delimited FollowTheMoney), from the content."""
    head = text.lstrip("\ufeff \t\r\n")[:1]
    if head == "[":
        return "json"
    if head != "{":
        return "csv"
    first = text.lstrip("\ufeff \t\r\n").split("\n", 1)[0]
    try:
        entity = json.loads(first)
    except json.JSONDecodeError:
        return "json"  # a pretty-printed document: the CSL JSON (its parser reports what is wrong)
    if isinstance(entity, dict) and "schema" in entity and "properties" in entity:
        return "ftm"
    return "json"


def parse_list(text: str, source: str, fmt: str | None = None) -> tuple[ScreeningList, str]:
    """Parse a list in ``fmt`` (``csv``, ``json``, ``ftm``) or the format its content shows."""
    if fmt is None:
        fmt = detect_format(text, source)
    if fmt not in FORMATS:
        raise InputError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    parser = {"csv": parse_csl_csv, "json": parse_csl_json, "ftm": parse_ftm}[fmt]
    return parser(text, source), fmt


__all__ = ["FORMATS", "detect_format", "parse_ftm", "parse_list"]
