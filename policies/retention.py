"""Retention schedules: how long an artifact is kept and what happens at the end (pure).

Loaded from the ``retention:`` part of a bundle's ``access:`` section. One schedule per
classification class (``controlled``, ``not_controlled``, ``unknown``) gives a minimum keep
period and the action at its end (``review``, ``archive`` or ``delete``). Export records are
kept at least five years after the transaction ends (15 CFR 762.6): an artifact released under
a grant is kept until five years after the grant's last day, whatever its schedule says.
Time is an argument; nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qgov.canonical import iso_utc
from qgov.errors import PolicyError

CLASSES = ("controlled", "not_controlled", "unknown")
ACTIONS = ("review", "archive", "delete")


@dataclass(frozen=True)
class Schedule:
    id: str
    applies_to: str
    keep_years: int
    action: str
    citation: str
    status: str


@dataclass(frozen=True)
class RetentionPolicy:
    schedules: tuple[Schedule, ...]
    export_records_years: int
    export_records_citation: str

    def content(self) -> dict[str, Any]:
        return {
            "schedules": [s.__dict__ for s in self.schedules],
            "export_records_years": self.export_records_years,
            "export_records_citation": self.export_records_citation,
        }

    def schedule_for(self, controlled: bool | None) -> Schedule:
        wanted = "unknown" if controlled is None else "controlled" if controlled else "not_controlled"
        return next(s for s in self.schedules if s.applies_to == wanted)


@dataclass(frozen=True)
class RetentionDecision:
    keep_until: datetime
    action: str
    schedule: str
    reasons: tuple[dict[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "keep_until": iso_utc(self.keep_until),
            "action": self.action,
            "schedule": self.schedule,
            "reasons": list(self.reasons),
        }


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year + years, day=28)


def retention(
    policy: RetentionPolicy, created_at: datetime, controlled: bool | None, grant_ends: Iterable[datetime] = ()
) -> RetentionDecision:
    """The date until which an artifact must be kept, and what happens then."""
    schedule = policy.schedule_for(controlled)
    keep = _add_years(created_at, schedule.keep_years)
    kind = schedule.applies_to.replace("_", " ")
    reasons = [
        {
            "rule": schedule.id,
            "citation": schedule.citation,
            "text": f"{kind} data is kept {schedule.keep_years} years, then {schedule.action}",
        }
    ]
    ends = sorted(grant_ends)
    if ends:
        records = _add_years(ends[-1], policy.export_records_years)
        reasons.append(
            {
                "rule": "retention.export-records",
                "citation": policy.export_records_citation,
                "text": f"released under a grant ending {iso_utc(ends[-1])[:10]}: kept "
                f"{policy.export_records_years} years after it",
            }
        )
        keep = max(keep, records)
    return RetentionDecision(keep, schedule.action, schedule.id, tuple(reasons))


def parse_retention(data: Any, source: str) -> RetentionPolicy:
    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: access.retention.{where}: {message}")

    if not isinstance(data, dict):
        raise fail("", "expected a mapping")
    allowed = {"schedules", "export_records_years", "export_records_citation"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(allowed))}")
    years = data.get("export_records_years")
    if isinstance(years, bool) or not isinstance(years, int) or years < 5:
        raise fail("export_records_years", f"expected whole years, at least 5 (15 CFR 762.6), got {years!r}")
    schedules = []
    for index, raw in enumerate(data.get("schedules") or []):
        where = f"schedules[{index}]"
        keys = {"id", "applies_to", "keep_years", "action", "citation", "status"}
        if not isinstance(raw, dict) or set(raw) != keys:
            raise fail(where, f"expected exactly {', '.join(sorted(keys))}")
        if raw["applies_to"] not in CLASSES:
            raise fail(f"{where}.applies_to", f"expected one of {', '.join(CLASSES)}")
        if raw["action"] not in ACTIONS:
            raise fail(f"{where}.action", f"expected one of {', '.join(ACTIONS)}")
        keep = raw["keep_years"]
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise fail(f"{where}.keep_years", f"expected whole years >= 0, got {keep!r}")
        if raw["status"] not in ("V", "P", "U"):
            raise fail(f"{where}.status", "expected V, P or U")
        schedules.append(
            Schedule(str(raw["id"]), raw["applies_to"], keep, raw["action"], str(raw["citation"]), raw["status"])
        )
    covered = sorted(s.applies_to for s in schedules)
    if covered != sorted(CLASSES):
        raise fail("schedules", f"expected exactly one schedule for each of {', '.join(CLASSES)}, got {covered}")
    return RetentionPolicy(tuple(schedules), years, str(data.get("export_records_citation") or ""))


__all__ = ["ACTIONS", "CLASSES", "RetentionDecision", "RetentionPolicy", "Schedule", "parse_retention", "retention"]
