"""Each anomaly rule on its own: when it fires, when it stays quiet, and what it names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.compliance import rules
from governance.compliance.isolation import FEATURES, isolation_alerts, person_days
from governance.compliance.rules import Activity, run_rules
from policies.compliance import load_compliance, parse
from qgov.errors import PolicyError

P = load_compliance()
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Log:
    """Activities with increasing seq, as the log would number them."""

    def __init__(self) -> None:
        self.seq = count(1)
        self.acts: list[Activity] = []

    def add(self, at: datetime, kind: str = "fetch", person: str = "sam", **kw: object) -> Activity:
        n = next(self.seq)
        defaults: dict[str, object] = {
            "artifact": f"a{n}",
            "controlled": True,
            "grant": "g1",
            "grant_start": EPOCH,
            "grant_end": datetime(2100, 1, 1, tzinfo=UTC),
        }
        if kind != "fetch":
            defaults = {}
        act = Activity(n, f"e{n}", person, at, kind, **(defaults | kw))  # type: ignore[arg-type]
        self.acts.append(act)
        return act


def _sorted(log: Log) -> list[Activity]:
    return sorted(log.acts, key=lambda a: (a.at, a.seq))


# -- volume ---------------------------------------------------------------------------
@given(usual=st.integers(0, 6), today=st.integers(0, 60))
def test_volume_fires_only_far_above_a_steady_history(usual: int, today: int) -> None:
    log = Log()
    log.add(T0, "denied")  # the person's history starts here, even with no fetches
    for day in range(30):
        for i in range(usual):
            log.add(T0 + timedelta(days=day, minutes=i), artifact="a1")
    for i in range(today):
        log.add(T0 + timedelta(days=30, minutes=i), artifact="a1")
    found = rules.volume(_sorted(log), T0, P)
    expected = today >= 15 and today > usual and today >= 3 * max(usual, 1)
    assert bool(found) == expected
    if found:
        assert len(found[0].evidence) == today and f"{today} fetches" in found[0].summary


def test_volume_needs_two_weeks_of_history_before_judging() -> None:
    log = Log()
    log.add(T0)
    for i in range(40):
        log.add(T0 + timedelta(days=10, minutes=i))
    assert rules.volume(_sorted(log), T0, P) == []


# -- outside the grant ------------------------------------------------------------------
START, END = T0, T0 + timedelta(days=30)


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"grant": None}, "no grant"),
        ({"grant_covers": False}, "does not cover"),
        ({"at": START - timedelta(hours=1)}, "before grant g1 began"),
        ({"at": END}, "after grant g1 ended"),
        ({}, None),
    ],
    ids=["no-grant", "not-covered", "before-start", "at-end", "inside"],
)
def test_outside_grant_names_what_is_wrong(kw: dict[str, object], why: str | None) -> None:
    log = Log()
    at = kw.pop("at", START + timedelta(days=1))
    log.add(at, grant_start=START, grant_end=END, **kw)  # type: ignore[arg-type]
    found = rules.outside_grant(log.acts, EPOCH, P)
    assert [a.summary for a in found if why and why in a.summary] == [a.summary for a in found]
    assert len(found) == (0 if why is None else 1)
    if found:
        assert found[0].severity == "high" and found[0].evidence == ((1, "e1"),)


# -- locations ------------------------------------------------------------------------
@given(st.lists(st.sampled_from(["US/office", "US/home", "DE", "JP"]), min_size=0, max_size=40))
def test_new_location_fires_once_per_place_first_seen_after_ten_fetches(places: list[str]) -> None:
    log = Log()
    for i, place in enumerate(places):
        log.add(T0 + timedelta(hours=i * 5), location=place)
    found = rules.new_location(_sorted(log), EPOCH, P)
    expected = [i for i, place in enumerate(places) if place not in places[:i] and i >= 10]
    assert [a.evidence[0][0] - 1 for a in found] == expected


@pytest.mark.parametrize(
    ("first", "second", "minutes", "fires"),
    [
        ("US/office", "DE", 30, True),
        ("US/office", "US/home", 5, False),
        ("US/office", "DE", 120, False),
    ],
    ids=["two-countries-30-min", "one-country-two-networks", "two-countries-2-h"],
)
def test_concurrent_locations_means_two_countries_within_the_hour(
    first: str, second: str, minutes: int, fires: bool
) -> None:
    log = Log()
    log.add(T0, location=first)
    log.add(T0 + timedelta(minutes=minutes), location=second)
    found = rules.concurrent_locations(log.acts, EPOCH, P)
    assert bool(found) == fires
    if fires:
        assert found[0].reviewer == "admin" and found[0].evidence == ((1, "e1"), (2, "e2"))


# -- bursts ---------------------------------------------------------------------------
@given(n=st.integers(0, 10), gap_minutes=st.integers(1, 600))
def test_denied_burst_counts_refusals_within_a_day(n: int, gap_minutes: int) -> None:
    log = Log()
    for i in range(n):
        log.add(T0 + timedelta(minutes=i * gap_minutes), "denied")
    found = rules.denied_burst(_sorted(log), EPOCH, P)
    # four refusals fit in 24 h exactly when three gaps do
    assert bool(found) == (n >= 4 and 3 * gap_minutes <= 24 * 60)


@given(distinct=st.integers(0, 30), repeats=st.integers(0, 20), uncontrolled=st.integers(0, 20))
def test_controlled_burst_counts_distinct_controlled_artifacts(distinct: int, repeats: int, uncontrolled: int) -> None:
    log = Log()
    for i in range(distinct):
        log.add(T0 + timedelta(minutes=i), artifact=f"c{i}")
    for i in range(repeats):
        log.add(T0 + timedelta(minutes=40 + i), artifact="c0")
    for i in range(uncontrolled):
        log.add(T0 + timedelta(minutes=80 + i), artifact=f"u{i}", controlled=False)
    found = rules.controlled_burst(_sorted(log), EPOCH, P)
    assert len(found) == (1 if distinct >= 15 else 0)


def test_expiry_rush_compares_the_last_hours_with_the_persons_own_rate() -> None:
    end = T0 + timedelta(days=60)
    calm, rush = Log(), Log()
    for log in (calm, rush):
        for day in range(0, 58, 2):
            log.add(T0 + timedelta(days=day), grant="g1", grant_start=T0, grant_end=end)
    for i in range(8):
        rush.add(end - timedelta(hours=20, minutes=-i), grant="g1", grant_start=T0, grant_end=end)
    assert rules.expiry_rush(_sorted(calm), EPOCH, P) == []
    found = rules.expiry_rush(_sorted(rush), EPOCH, P)
    assert len(found) == 1 and "8 fetches in the last 48 h of grant g1" in found[0].summary


def test_fetches_after_a_screening_hit_alert_but_not_those_before() -> None:
    log = Log()
    log.add(T0 - timedelta(days=1))
    hit = log.add(T0, "screening_hit")
    after = log.add(T0 + timedelta(days=3))
    log.add(T0 + timedelta(days=30))
    found = rules.after_screening_hit(_sorted(log), EPOCH, P)
    assert len(found) == 1 and found[0].evidence == ((hit.seq, hit.event_id), (after.seq, after.event_id))


@pytest.mark.parametrize(
    ("columns", "fires"), [(["d:x"] * 6, True), (["d:x", "d:y", "d:z"] * 2, False)], ids=["one", "three"]
)
def test_release_probing_counts_releases_on_one_column(columns: list[str], fires: bool) -> None:
    log = Log()
    for i, column in enumerate(columns):
        log.add(T0 + timedelta(days=i * 2), "release", column=column)
    found = rules.release_probing(_sorted(log), EPOCH, P)
    assert bool(found) == fires
    if fires:
        assert found[0].reviewer == "data_manager" and "column d:x" in found[0].summary


@pytest.mark.parametrize(("drip", "fires"), [(0, False), (1, True)], ids=["steady", "one-new-a-day"])
def test_slow_drip_finds_new_controlled_artifacts_accumulating_over_weeks(drip: int, fires: bool) -> None:
    log = Log()
    for day in range(120):
        log.add(T0 + timedelta(days=day), artifact=f"usual{day % 5}")
        for i in range(drip if day >= 80 else 0):
            log.add(T0 + timedelta(days=day, hours=1 + i), artifact=f"new{day}-{i}")
    found = rules.slow_drip(_sorted(log), EPOCH, P)
    assert bool(found) == fires
    if fires:
        assert "20 controlled artifacts new to this person in 21 days" in found[0].summary


# -- all rules together ---------------------------------------------------------------
def test_alerts_are_only_for_what_happened_since_and_keys_are_stable() -> None:
    log = Log()
    for i in range(16):
        log.add(T0 + timedelta(minutes=i), artifact=f"c{i}")
    for i in range(16):
        log.add(T0 + timedelta(days=5, minutes=i), artifact=f"d{i}")
    every = run_rules(log.acts, EPOCH, P)
    later = run_rules(log.acts, T0 + timedelta(days=1), P)
    assert len([a for a in every if a.rule == "controlled_burst"]) == 2
    assert [a.key for a in later if a.rule == "controlled_burst"] == [
        a.key for a in every if a.rule == "controlled_burst" and a.at >= T0 + timedelta(days=1)
    ]


def test_isolation_forest_waits_for_enough_person_days_and_then_flags_the_odd_one() -> None:
    log = Log()
    assert (
        isolation_alerts(log.acts, EPOCH, P)[1] == "isolation forest skipped: 0 person-days with activity, it needs 200"
    )
    for person in range(10):
        for day in range(40):
            for i in range(2):
                log.add(T0 + timedelta(days=day, hours=i), person=f"p{person}", artifact=f"p{person}-{i}")
    for i in range(60):
        log.add(T0 + timedelta(days=39, hours=3, minutes=i), person="p3", artifact=f"x{i}")
    rows = person_days(log.acts)
    assert len(rows) == 400 and len(rows[0].values) == len(FEATURES)
    found, note = isolation_alerts(log.acts, EPOCH, P)
    assert note is None and [(a.person, a.at.date()) for a in found] == [("p3", (T0 + timedelta(days=39)).date())]
    assert "fetches 62 (typical 2)" in found[0].summary


# -- the parameters ---------------------------------------------------------------------
def test_compliance_parameters_fail_closed_on_unknown_or_missing_keys() -> None:
    import yaml

    from policies.compliance import BUILTIN

    data = yaml.safe_load(BUILTIN.read_text())
    data["anomaly"]["volume"]["sigmaa"] = 1
    with pytest.raises(PolicyError, match="anomaly.volume: expected the keys"):
        parse(data, "x.yaml")
    data = yaml.safe_load(BUILTIN.read_text())
    data["incidents"]["deadlines"][1]["status"] = "V?"
    with pytest.raises(PolicyError, match=r"deadlines\[1\].status: expected V, P or U"):
        parse(data, "x.yaml")
    data = yaml.safe_load(BUILTIN.read_text())
    data["training"]["suspend_grants_on_lapse"] = "yes"
    with pytest.raises(PolicyError, match="training.suspend_grants_on_lapse: expected true or false"):
        parse(data, "x.yaml")
    assert all(d.status == "U" for d in P.deadlines)  # nothing in the reference gives these periods
    data = yaml.safe_load(BUILTIN.read_text())
    data["end_use"]["every_days"] = 0
    with pytest.raises(PolicyError, match="end_use.every_days: expected 1 or more days"):
        parse(data, "x.yaml")
    assert P.training is not None and P.training.status == "U"
    assert P.end_use is not None and P.end_use.status == "U"
