"""Compliance-operations parameters (``policies/compliance.yaml``): pure, typed, fail closed.

Every figure is a project rule (status U): the reference gives no anomaly threshold and no
self-disclosure period. An unknown or missing key is an error, never a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qgov.errors import PolicyError

BUILTIN = Path(__file__).with_name("compliance.yaml")

RISK_TIERS = ("low", "medium", "high")

ANOMALY_KEYS: dict[str, tuple[str, ...]] = {
    "volume": ("history_days", "min_history_days", "min_fetches", "sigma", "ratio"),
    "expiry_rush": ("hours", "min_fetches"),
    "after_screening_hit": ("days",),
    "new_location": ("min_prior_fetches",),
    "concurrent_locations": ("minutes",),
    "denied_burst": ("hours", "min_denied"),
    "release_probing": ("days", "min_releases"),
    "controlled_burst": ("hours", "min_artifacts"),
    "slow_drip": ("window_days", "min_new_artifacts", "ratio"),
    "isolation_forest": ("min_person_days", "contamination", "trees"),
}


@dataclass(frozen=True)
class Deadline:
    id: str
    text: str
    days: int
    citation: str
    status: str


@dataclass(frozen=True)
class TrainingPolicy:
    reminders_days_before: tuple[int, ...]
    suspend_grants_on_lapse: bool
    citation: str
    status: str


@dataclass(frozen=True)
class EndUsePolicy:
    every_days: int
    grace_days: int
    citation: str
    status: str


@dataclass(frozen=True)
class VendorPolicy:
    assessment_valid_days: dict[str, int]  # risk tier -> days an assessment stays current
    citation: str
    status: str


@dataclass(frozen=True)
class Sanction:
    id: str
    text: str


@dataclass(frozen=True)
class ViolationPolicy:
    sanctions: tuple[Sanction, ...]
    citation: str
    status: str


@dataclass(frozen=True)
class CompliancePolicy:
    anomaly: dict[str, dict[str, float]]
    deadlines: tuple[Deadline, ...]
    reminders_days_before: tuple[int, ...]
    source: str
    training: TrainingPolicy | None = None
    end_use: EndUsePolicy | None = None
    vendors: VendorPolicy | None = None
    violations: ViolationPolicy | None = None

    def a(self, rule: str, key: str) -> float:
        return self.anomaly[rule][key]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PolicyError(f"{where}: expected a number 0 or more, got {value!r}")
    return float(value)


SECTIONS = ("anomaly", "incidents", "training", "end_use", "vendors", "violations")


def parse(data: Any, source: str) -> CompliancePolicy:
    if not isinstance(data, dict) or set(data) != set(SECTIONS):
        raise PolicyError(f"{source}: expected exactly the sections {', '.join(repr(s) for s in SECTIONS)}")
    anomaly: dict[str, dict[str, float]] = {}
    raw = data["anomaly"]
    if not isinstance(raw, dict) or set(raw) != set(ANOMALY_KEYS):
        raise PolicyError(f"{source}: anomaly: expected the rules {', '.join(ANOMALY_KEYS)}")
    for rule, keys in ANOMALY_KEYS.items():
        values = raw[rule]
        if not isinstance(values, dict) or set(values) != set(keys):
            raise PolicyError(f"{source}: anomaly.{rule}: expected the keys {', '.join(keys)}")
        anomaly[rule] = {k: _number(values[k], f"{source}: anomaly.{rule}.{k}") for k in keys}
    inc = data["incidents"]
    if not isinstance(inc, dict) or set(inc) != {"deadlines", "reminders_days_before"}:
        raise PolicyError(f"{source}: incidents: expected 'deadlines' and 'reminders_days_before'")
    deadlines = []
    for i, d in enumerate(inc["deadlines"] or []):
        where = f"{source}: incidents.deadlines[{i}]"
        if not isinstance(d, dict) or set(d) != {"id", "text", "days", "citation", "status"}:
            raise PolicyError(f"{where}: expected id, text, days, citation and status")
        if d["status"] not in ("V", "P", "U"):
            raise PolicyError(f"{where}.status: expected V, P or U, got {d['status']!r}")
        deadlines.append(
            Deadline(
                str(d["id"]), str(d["text"]), int(_number(d["days"], f"{where}.days")), str(d["citation"]), d["status"]
            )
        )
    reminders = tuple(
        int(_number(x, f"{source}: incidents.reminders_days_before")) for x in inc["reminders_days_before"]
    )
    return CompliancePolicy(
        anomaly,
        tuple(deadlines),
        reminders,
        source,
        _training(data["training"], source),
        _end_use(data["end_use"], source),
        _vendors(data["vendors"], source),
        _violations(data["violations"], source),
    )


def _status(raw: dict[str, Any], where: str) -> str:
    if raw["status"] not in ("V", "P", "U"):
        raise PolicyError(f"{where}.status: expected V, P or U, got {raw['status']!r}")
    return str(raw["status"])


def _vendors(raw: Any, source: str) -> VendorPolicy:
    keys = {"assessment_valid_days", "citation", "status"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise PolicyError(f"{source}: vendors: expected the keys {', '.join(sorted(keys))}")
    days = raw["assessment_valid_days"]
    if not isinstance(days, dict) or set(days) != set(RISK_TIERS):
        raise PolicyError(f"{source}: vendors.assessment_valid_days: expected the tiers {', '.join(RISK_TIERS)}")
    valid = {tier: int(_number(days[tier], f"{source}: vendors.assessment_valid_days.{tier}")) for tier in RISK_TIERS}
    if min(valid.values()) < 1:
        raise PolicyError(f"{source}: vendors.assessment_valid_days: expected 1 or more days per tier")
    return VendorPolicy(valid, str(raw["citation"]), _status(raw, f"{source}: vendors"))


def _violations(raw: Any, source: str) -> ViolationPolicy:
    keys = {"sanctions", "citation", "status"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise PolicyError(f"{source}: violations: expected the keys {', '.join(sorted(keys))}")
    sanctions = []
    for i, s in enumerate(raw["sanctions"] or []):
        if not isinstance(s, dict) or set(s) != {"id", "text"}:
            raise PolicyError(f"{source}: violations.sanctions[{i}]: expected id and text")
        sanctions.append(Sanction(str(s["id"]), str(s["text"])))
    if not sanctions:  # fail closed: an empty list would let any sanction through unchecked
        raise PolicyError(f"{source}: violations.sanctions: expected at least one sanction")
    return ViolationPolicy(tuple(sanctions), str(raw["citation"]), _status(raw, f"{source}: violations"))


def _end_use(raw: Any, source: str) -> EndUsePolicy:
    keys = {"every_days", "grace_days", "citation", "status"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise PolicyError(f"{source}: end_use: expected the keys {', '.join(sorted(keys))}")
    if raw["status"] not in ("V", "P", "U"):
        raise PolicyError(f"{source}: end_use.status: expected V, P or U, got {raw['status']!r}")
    every = int(_number(raw["every_days"], f"{source}: end_use.every_days"))
    if every < 1:
        raise PolicyError(f"{source}: end_use.every_days: expected 1 or more days, got {every}")
    grace = int(_number(raw["grace_days"], f"{source}: end_use.grace_days"))
    return EndUsePolicy(every, grace, str(raw["citation"]), raw["status"])


def _training(raw: Any, source: str) -> TrainingPolicy:
    keys = {"reminders_days_before", "suspend_grants_on_lapse", "citation", "status"}
    if not isinstance(raw, dict) or set(raw) != keys:
        raise PolicyError(f"{source}: training: expected the keys {', '.join(sorted(keys))}")
    if not isinstance(raw["suspend_grants_on_lapse"], bool):
        raise PolicyError(f"{source}: training.suspend_grants_on_lapse: expected true or false")
    if raw["status"] not in ("V", "P", "U"):
        raise PolicyError(f"{source}: training.status: expected V, P or U, got {raw['status']!r}")
    marks = tuple(int(_number(x, f"{source}: training.reminders_days_before")) for x in raw["reminders_days_before"])
    return TrainingPolicy(marks, raw["suspend_grants_on_lapse"], str(raw["citation"]), raw["status"])


def load_compliance(path: Path = BUILTIN) -> CompliancePolicy:
    """The compliance parameters (the built-in file unless another is named)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read compliance parameters: {exc}") from None
    return parse(data, str(path))


__all__ = [
    "ANOMALY_KEYS",
    "RISK_TIERS",
    "CompliancePolicy",
    "Deadline",
    "EndUsePolicy",
    "Sanction",
    "TrainingPolicy",
    "VendorPolicy",
    "ViolationPolicy",
    "load_compliance",
    "parse",
]
