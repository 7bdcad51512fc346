"""The typed objects a policy bundle loads into: threshold bands, control rules, carve-outs.

:mod:`policies.bundle` parses and validates the YAML into these (and re-exports them);
evaluation (:mod:`policies.classify`, :mod:`policies.access`) reads them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from policies.access import AccessPolicy
from qgov.canonical import canonical_hash
from qgov.errors import InputError, PolicyError

BUILTIN_DIR = Path(__file__).parent / "bundles"
ORG_PREFIX = "org/"
MAX_POLICY_BYTES = 4 * 1024 * 1024
STATUSES = ("V", "P", "U")
SUBJECT_TYPES = (
    "quantum_computer",
    "qkd",
    "cryogenic_cooling",
    "parametric_amplifier",
    "cryo_cmos",
    "cryogenic_wafer_prober",
    "isotope_material",
    "quantum_computer_component",
    "none",
)
ITEM_KINDS = ("technology", "source_code", "object_code", "hardware", "dataset")


CLAIM_FIELDS = (
    "published",
    "catalog_course",
    "research.fundamental",
    "research.intended_for_publication",
    "research.restrictions_accepted",
)


@dataclass(frozen=True)
class Band:
    """A numeric condition: ``min <= value`` and ``value < below`` and ``value <= max``."""

    parameter: str
    min: float | None = None
    below: float | None = None
    max: float | None = None

    def holds(self, value: float) -> bool:
        return (
            (self.min is None or value >= self.min)
            and (self.below is None or value < self.below)
            and (self.max is None or value <= self.max)
        )

    @cached_property
    def text(self) -> str:
        return self.describe()

    def describe(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{self.parameter} >= {self.min:g}")
        if self.below is not None:
            parts.append(f"{self.parameter} < {self.below:g}")
        if self.max is not None:
            parts.append(f"{self.parameter} <= {self.max:g}")
        return " and ".join(parts)

    def interval(self) -> tuple[float, float, bool]:
        """(low, high, high_inclusive) for overlap checks."""
        low = self.min if self.min is not None else -math.inf
        if self.below is not None and (self.max is None or self.below <= self.max):
            return low, self.below, False
        return low, self.max if self.max is not None else math.inf, True


@dataclass(frozen=True)
class ControlRule:
    """A control-list entry: which subject and parameters, and what each kind of item becomes."""

    id: str
    jurisdiction: str
    entry: str
    subject: str
    when: tuple[Band, ...]
    hardware: str
    software: str | None
    technology: str | None
    citation: str
    status: str
    effective: date
    note: str = ""
    source: str = ""
    parameters_unverified: bool = False

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "entry": self.entry,
            "parameters_unverified": self.parameters_unverified or None,
            "subject": self.subject,
            "when": [b.__dict__ for b in self.when],
            "hardware": self.hardware,
            "software": self.software,
            "technology": self.technology,
            "citation": self.citation,
            "status": self.status,
            "effective": self.effective.isoformat(),
            "note": self.note or None,
        }


@dataclass(frozen=True)
class CarveOut:
    """A "not subject" carve-out: claimed facts that take technology/software out of scope."""

    id: str
    jurisdiction: str
    title: str
    when: tuple[tuple[str, bool], ...]
    citation: str
    status: str
    effective: date
    except_entries: tuple[str, ...] = ()
    except_note: str = ""
    source: str = ""
    # A carve-out whose mapping onto ITEM facts is not verified (another jurisdiction's
    # "public domain" is not 734.7): when it holds it never clears, it sends a controlled
    # item to an officer (INCOMPLETE) with ``note`` saying what is unverified.
    review_only: bool = False
    note: str = ""

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "jurisdiction": self.jurisdiction,
            "title": self.title,
            "when": dict(self.when),
            "citation": self.citation,
            "status": self.status,
            "effective": self.effective.isoformat(),
            "except_entries": list(self.except_entries),
            "except_note": self.except_note or None,
            "review_only": self.review_only or None,
            "note": self.note or None,
        }


@dataclass(frozen=True)
class Unlisted:
    classification: str
    citation: str
    status: str


@dataclass(frozen=True)
class Bundle:
    """One jurisdiction's rules. Evaluation treats ``rules`` and ``carveouts`` as sets."""

    jurisdiction: str
    title: str
    unlisted: Unlisted
    rules: tuple[ControlRule, ...]
    carveouts: tuple[CarveOut, ...]
    overridden: tuple[str, ...] = ()
    access: AccessPolicy | None = None
    covers: frozenset[str] = frozenset(SUBJECT_TYPES)
    version: str = field(default="", compare=False)

    def content(self) -> dict[str, Any]:
        return {
            "jurisdiction": self.jurisdiction,
            "title": self.title,
            "covers": sorted(self.covers),
            "unlisted": self.unlisted.__dict__,
            "rules": [r.to_data() for r in sorted(set(self.rules), key=lambda r: r.id)],
            "carveouts": [c.to_data() for c in sorted(set(self.carveouts), key=lambda c: c.id)],
            "access": self.access.content() if self.access else None,
        }

    def require_access(self) -> AccessPolicy:
        if self.access is None:
            raise PolicyError(f"jurisdiction {self.jurisdiction}: its bundle has no access rules")
        return self.access

    def with_version(self) -> Bundle:
        return replace(self, version=canonical_hash(self.content()))


@dataclass(frozen=True)
class PolicySet:
    """All loaded bundles, by jurisdiction."""

    bundles: dict[str, Bundle]
    aliases: dict[str, str] = field(default_factory=dict)  # built-in folder name -> jurisdiction

    def resolve(self, name: str, where: str = "--jurisdiction") -> str:
        """A jurisdiction from its id (``US-EAR``, any case) or its bundle folder (``ear``, ``uk``)."""
        key = name.strip().casefold()
        for jurisdiction in self.bundles:
            if jurisdiction.casefold() == key:
                return jurisdiction
        if key in self.aliases:
            return self.aliases[key]
        known = ", ".join(f"{a} ({j})" for a, j in sorted(self.aliases.items())) or ", ".join(sorted(self.bundles))
        raise InputError(f"{where} {name!r}: no policy bundle of that name; expected one of {known}")

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the canonical content of every bundle: what a published set is known by."""
        return canonical_hash({j: b.content() for j, b in self.bundles.items()})

    def get(self, jurisdiction: str) -> Bundle:
        try:
            return self.bundles[jurisdiction]
        except KeyError:
            known = ", ".join(sorted(self.bundles))
            raise PolicyError(f"jurisdiction {jurisdiction!r}: no policy bundle; known: {known}") from None
