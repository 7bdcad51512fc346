"""Where a request goes: the countries it reaches, and whether that is an export, a reexport
or a deemed export (15 CFR 734.13; reference V unless marked U).

Pure: plain data in, plain data out. :func:`us_person` is the one place US-person status is
decided; :func:`connections` is the one place a request's countries are worked out, for the
access rules (``policies.access``) and for the decision's ``exports``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def _upper(value: Any) -> str | None:
    return value.upper() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class Export:
    """One country a request reaches, and how (export, reexport, deemed export)."""

    country: str
    basis: str  # export | reexport | deemed_export | deemed_reexport
    via: str  # destination | location | nationality
    citation: str
    status: str

    def to_json(self) -> dict[str, str]:
        return self.__dict__.copy()


def us_person(requester: Mapping[str, Any]) -> bool | None:
    """Is the requester a US person (not a foreign person)? The one place this is decided.

    US citizens, US permanent residents and protected individuals under 8 U.S.C.
    1324b(a)(3) are not foreign persons (15 CFR 734.13(b); reference V). A permanent
    residence of "US" *is* US permanent residency, flag or no flag. None when nothing is
    known (no citizenship, no residence): not a US person, and not known to be foreign.
    """
    citizenships = {c.upper() for c in requester.get("citizenships") or [] if isinstance(c, str)}
    residence = _upper(requester.get("permanent_residence"))
    if (
        "US" in citizenships
        or residence == "US"
        or requester.get("us_permanent_resident") is True
        or requester.get("protected_individual") is True
    ):
        return True
    return False if citizenships or residence else None


_EXPORT = "15 CFR 734.13(a)(1): shipping or transmitting an item out of the United States is an export"
_REEXPORT = "reexport: from one foreign country to another (15 CFR 734.14; not in the reference: U)"
_DEEMED = (
    "15 CFR 734.13(a)(2), (b): release to a foreign person in the US is a deemed export "
    "to their most recent citizenship or permanent residency"
)
_DEEMED_RE = (
    "release abroad to a foreign person: deemed reexport to their citizenship or residency (15 CFR 734.14(b); U)"
)


def connections(
    request: Mapping[str, Any], domestic: frozenset[str]
) -> tuple[dict[str, frozenset[str]], tuple[Export, ...]]:
    """The countries a request reaches, by how it reaches them, and the exports that makes.

    ``destination``: where the item is sent. ``location``: where the person is — handing
    data to a person abroad sends it there. ``nationality``: a foreign person's
    citizenships and permanent residence (all of them: the regulation's "most recent" is
    not known to qgov, so each applies and the strictest wins).
    """
    requester = request.get("requester") or {}
    destination = _upper(request.get("destination"))
    location = _upper(requester.get("location"))
    residence = _upper(requester.get("permanent_residence"))
    citizenships = {c.upper() for c in requester.get("citizenships") or [] if isinstance(c, str)}
    nationality = (
        frozenset() if us_person(requester) else frozenset(citizenships | ({residence} if residence else set()))
    )
    reached = {
        "destination": frozenset({destination} if destination else ()),
        "location": frozenset({location} if location else ()),
        "nationality": nationality,
    }
    exports: list[Export] = []
    if destination and destination not in domestic:
        exports.append(Export(destination, "export", "destination", _EXPORT, "V"))
    if location and location not in domestic and location != destination:
        if destination and destination not in domestic:
            exports.append(Export(location, "reexport", "location", _REEXPORT, "U"))
        else:
            exports.append(Export(location, "export", "location", _EXPORT, "V"))
    abroad = bool(location) and location not in domestic
    for country in sorted(nationality - domestic):
        if abroad:
            exports.append(Export(country, "deemed_reexport", "nationality", _DEEMED_RE, "U"))
        else:
            exports.append(Export(country, "deemed_export", "nationality", _DEEMED, "V"))
    return reached, tuple(exports)


__all__ = ["Export", "connections", "us_person"]
