"""Retention schedules: the pure arithmetic and the strict loader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from policies.bundle import load_policies
from policies.retention import parse_retention, retention
from qgov.errors import PolicyError

POLICY = load_policies().get("US-EAR").require_access().retention
assert POLICY is not None


@pytest.mark.parametrize(
    ("controlled", "schedule", "years", "action"),
    [
        (True, "retention.controlled", 10, "review"),
        (False, "retention.not-controlled", 5, "delete"),
        (None, "retention.unknown", 10, "review"),
    ],
    ids=["controlled", "not controlled", "unknown"],
)
def test_each_class_has_its_schedule(controlled: bool | None, schedule: str, years: int, action: str) -> None:
    d = retention(POLICY, datetime(2026, 3, 1, tzinfo=UTC), controlled)
    assert (d.schedule, d.action, d.keep_until) == (schedule, action, datetime(2026 + years, 3, 1, tzinfo=UTC))


def test_export_records_outlive_the_schedule_by_five_years_after_the_last_grant() -> None:
    ends = [datetime(2030, 1, 1, tzinfo=UTC), datetime(2034, 6, 30, tzinfo=UTC)]
    d = retention(POLICY, datetime(2026, 3, 1, tzinfo=UTC), False, ends)
    assert d.keep_until == datetime(2039, 6, 30, tzinfo=UTC) and d.reasons[-1]["rule"] == "retention.export-records"


def test_a_leap_day_moves_to_the_28th() -> None:
    d = retention(POLICY, datetime(2028, 2, 29, tzinfo=UTC), False)
    assert d.keep_until == datetime(2033, 2, 28, tzinfo=UTC)


GOOD = {
    "export_records_years": 5,
    "export_records_citation": "15 CFR 762.6",
    "schedules": [
        {"id": f"r.{c}", "applies_to": c, "keep_years": 1, "action": "delete", "citation": "x", "status": "P"}
        for c in ("controlled", "not_controlled", "unknown")
    ],
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"export_records_years": 3}, "at least 5"),
        ({"schedules": GOOD["schedules"][:2]}, "one schedule for each"),
        ({"schedules": [GOOD["schedules"][0] | {"action": "burn"}] + GOOD["schedules"][1:]}, "action"),
        ({"schedules": [GOOD["schedules"][0] | {"keep_years": -1}] + GOOD["schedules"][1:]}, "keep_years"),
        ({"extra": 1}, "unknown key"),
    ],
    ids=["too few years", "missing class", "bad action", "negative years", "unknown key"],
)
def test_the_loader_refuses_what_would_weaken_retention(change: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PolicyError, match=message):
        parse_retention(GOOD | change, "retention.yaml")
