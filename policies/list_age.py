"""Is the restricted-party list in force fit to clear anyone? Pure: time is an argument.

A screen is only as good as the list behind it. A "clear" against the bundled 14-entry
sample (no Russian or Iranian entry at all), or against a list older than the policy's
maximum age, says nothing about the parties it lacks. So every screen and every access
decision carries the warnings this module gives. A list older than the maximum age is
*stale*: the access rules read that as the fact ``screening_list_stale`` and send the
request to review (fail closed). The bundled sample only warns — it is the evaluation
mode of a fresh install, and every answer says so.

The maximum age is the bundle's ``access.screening.max_list_age_days``: a **project rule**
(status P), not a figure from the regulation — the EAR sets no refresh interval; the
Entity List changes by Federal Register rules that take effect on publication.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qgov.canonical import iso_utc
from qgov.errors import PolicyError

DEFAULT_MAX_AGE_DAYS = 7


@dataclass(frozen=True)
class ScreeningPolicy:
    """The bundle's screening settings (``access.screening``)."""

    max_list_age_days: float
    citation: str
    status: str

    def content(self) -> dict[str, Any]:
        return {"max_list_age_days": self.max_list_age_days, "citation": self.citation, "status": self.status}


DEFAULT_POLICY = ScreeningPolicy(
    DEFAULT_MAX_AGE_DAYS, "project rule: a list older than a week may miss recent Entity List additions", "P"
)


def parse_screening(data: Any, source: str) -> ScreeningPolicy:
    """Read ``access.screening``: ``max_list_age_days`` (positive), ``citation``, ``status``."""

    def fail(where: str, message: str) -> PolicyError:
        return PolicyError(f"{source}: access.screening{where}: {message}")

    if not isinstance(data, dict):
        raise fail("", "expected a mapping with max_list_age_days, citation and status")
    unknown = sorted(set(data) - {"max_list_age_days", "citation", "status"})
    if unknown:
        raise fail(f".{unknown[0]}", "unknown key; expected max_list_age_days, citation, status")
    days = data.get("max_list_age_days")
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days) or days <= 0:
        raise fail(".max_list_age_days", f"expected a positive number of days, got {days!r}")
    if data.get("status") not in ("V", "P", "U"):
        raise fail(".status", "expected V, P or U")
    return ScreeningPolicy(float(days), str(data.get("citation", "")), data["status"])


@dataclass(frozen=True)
class ListInForce:
    """Which list a screen used: its version, where it came from, when it was loaded."""

    version: str
    source: str
    loaded_at: datetime | None  # None: nothing loaded, the bundled sample is in force
    sample: bool  # the bundled sample, loaded or not

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": self.version, "source": self.source, "sample": self.sample}
        if self.loaded_at is not None:
            data["loaded_at"] = iso_utc(self.loaded_at)
        return data


@dataclass(frozen=True)
class ListCheck:
    """What a decision must know about the list: why it cannot clear anyone, and whether it is stale."""

    warnings: tuple[str, ...] = ()
    stale: bool = False  # loaded longer ago than the policy's maximum age


NO_LIST_CHECK = ListCheck()
LIST_WARNING_CITATION = "project rule: screening against a sample or out-of-date list cannot clear anyone"


def check_list(listed: ListInForce, at: datetime, policy: ScreeningPolicy | None) -> ListCheck:
    """Why a screen against ``listed`` at time ``at`` cannot clear anyone (no warnings: it can).

    The bundled sample always warns. A loaded list warns, and is stale, once it is older
    than the policy's maximum age; the access rules send a stale list's requests to review.
    """
    policy = policy or DEFAULT_POLICY
    warnings = []
    if listed.sample:
        warnings.append(
            "the list in force is the bundled sample (a few Entity List entries), not a real restricted-party "
            "list: a clear result proves nothing; an officer must load the Consolidated Screening List "
            "(qgov screening load)"
        )
    stale = False
    if listed.loaded_at is not None:
        age = (at - listed.loaded_at).total_seconds() / 86400
        stale = age > policy.max_list_age_days
        if stale:
            warnings.append(
                f"the list in force was loaded {age:.0f} days ago, more than the policy's maximum of "
                f"{policy.max_list_age_days:g} days ({policy.citation}): parties listed since are missed; "
                "load a current list"
            )
    return ListCheck(tuple(warnings), stale)


__all__ = [
    "LIST_WARNING_CITATION",
    "NO_LIST_CHECK",
    "DEFAULT_POLICY",
    "ListCheck",
    "ListInForce",
    "ScreeningPolicy",
    "check_list",
    "parse_screening",
]
