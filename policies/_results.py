"""What a screen answers: the matches for one name, with the list and matcher that produced them.

Private: import :class:`Match` and :class:`ScreeningResult` from :mod:`policies.screening`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from policies.list_age import ListInForce


@dataclass(frozen=True)
class Match:
    """One listed entry that a screened name resembles, and how strongly."""

    name: str
    list: str
    score: float
    entry_id: str
    matched_name: str
    license_policy: str
    exact: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "list": self.list,
            "score": self.score,
            "entry_id": self.entry_id,
            "matched_name": self.matched_name,
            "license_policy": self.license_policy,
            "exact": self.exact,
        }


@dataclass(frozen=True)
class ScreeningResult:
    """The answer for one name (DESIGN.md ``qgov screen --json``), with what produced it."""

    query: str
    country: str | None
    status: Literal["clear", "potential_match"]
    matches: tuple[Match, ...]
    list_version: str
    matcher_version: str
    threshold: float
    # why the list cannot clear anyone (policies/list_age.py), and which list it was
    warnings: tuple[str, ...] = ()
    listed: ListInForce | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "status": self.status,
            "matches": [m.to_json() for m in self.matches],
            "query": self.query,
            "country": self.country,
            "list_version": self.list_version,
            "matcher_version": self.matcher_version,
            "threshold": self.threshold,
            "warnings": list(self.warnings),
        }
        return data | ({"list": self.listed.to_json()} if self.listed else {})
