"""Anomaly rules that explain themselves: pure functions over one person's activity records.

Each rule reads a person's activities in time order (their whole history, so "unusual for
this person" can be judged) and returns alerts for what happened at or after ``since``.
An alert names its rule, the person, when, why in words, which events are its evidence
(log ``seq`` and ``event_id``) and which role should look. Every threshold is a project rule
in ``policies/compliance.yaml`` (status U): nothing here encodes law.
"""

from __future__ import annotations

import hashlib
import statistics
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from policies.compliance import CompliancePolicy

OFFICER = "export_control_officer"
ADMIN = "admin"
DATA_MANAGER = "data_manager"
KINDS = ("fetch", "denied", "release", "screening_hit")


@dataclass(frozen=True)
class Activity:
    """One thing a person did (or that happened to them), as the log records it."""

    seq: int
    event_id: str
    person: str
    at: datetime
    kind: str  # fetch | denied | release | screening_hit
    artifact: str | None = None
    controlled: bool = False
    location: str | None = None  # "CC" or "CC/network": a country, optionally one network in it
    grant: str | None = None
    grant_start: datetime | None = None
    grant_end: datetime | None = None  # the earliest of expiry, revocation and suspension
    grant_covers: bool = True
    column: str | None = None  # "dataset:column" of a DP release


@dataclass(frozen=True)
class Alert:
    rule: str
    person: str
    at: datetime
    severity: str  # low | medium | high
    reviewer: str  # the role that should look
    summary: str
    evidence: tuple[tuple[int, str], ...]
    anchor: str = ""  # what makes this alert distinct from another of the same rule and person
    score: float | None = None
    key: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha256(f"{self.rule}|{self.person}|{self.anchor}".encode()).hexdigest()
        object.__setattr__(self, "key", digest[:40])

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {
            "rule": self.rule,
            "person": self.person,
            "at": self.at.isoformat(),
            "severity": self.severity,
            "reviewer": self.reviewer,
            "summary": self.summary,
            "evidence": [{"seq": s, "event_id": e} for s, e in self.evidence],
            "key": self.key,
        }
        if self.score is not None:
            doc["score"] = round(self.score, 4)
        return doc


Rule = Callable[[Sequence[Activity], datetime, CompliancePolicy], list[Alert]]
_EVIDENCE_CAP = 200  # an alert lists at most this many events (the summary gives the count)


def _ev(acts: Iterable[Activity]) -> tuple[tuple[int, str], ...]:
    return tuple((a.seq, a.event_id) for a in acts)[:_EVIDENCE_CAP]


def _of(acts: Sequence[Activity], kind: str) -> list[Activity]:
    return [a for a in acts if a.kind == kind]


def volume(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Fetches in one day far above the person's own daily history (mean + k·σ and k× the mean)."""
    fetches = _of(acts, "fetch")
    if not fetches:
        return []
    by_day: dict[date, list[Activity]] = defaultdict(list)
    for a in fetches:
        by_day[a.at.date()].append(a)
    first = min(a.at.date() for a in acts)
    hist, min_hist = int(p.a("volume", "history_days")), int(p.a("volume", "min_history_days"))
    out = []
    for day, todays in sorted(by_day.items()):
        if day < since.date() or len(todays) < p.a("volume", "min_fetches"):
            continue
        start = max(first, day - timedelta(days=hist))
        days = [start + timedelta(days=i) for i in range((day - start).days)]
        if len(days) < min_hist:
            continue
        counts = [len(by_day.get(d, ())) for d in days]
        mean, sd = statistics.fmean(counts), statistics.pstdev(counts)
        if len(todays) > mean + p.a("volume", "sigma") * sd and len(todays) >= p.a("volume", "ratio") * max(mean, 1.0):
            out.append(
                Alert(
                    "volume",
                    todays[0].person,
                    todays[-1].at,
                    "medium",
                    OFFICER,
                    f"{len(todays)} fetches on {day}, against {mean:.1f} ± {sd:.1f} a day over the previous "
                    f"{len(days)} days",
                    _ev(todays),
                    day.isoformat(),
                )
            )
    return out


def outside_grant(acts: Sequence[Activity], since: datetime, _p: CompliancePolicy) -> list[Alert]:
    """A fetch not covered by its grant: no grant, another artifact, before it began or after it ended."""
    out = []
    for a in _of(acts, "fetch"):
        if a.at < since:
            continue
        if a.grant is None:
            why = "with no grant named as its authority"
        elif not a.grant_covers:
            why = f"of an artifact that grant {a.grant} does not cover"
        elif a.grant_start is not None and a.at < a.grant_start:
            why = f"before grant {a.grant} began ({a.grant_start.isoformat()})"
        elif a.grant_end is not None and a.at >= a.grant_end:
            why = f"after grant {a.grant} ended ({a.grant_end.isoformat()})"
        else:
            continue
        out.append(
            Alert(
                "outside_grant", a.person, a.at, "high", OFFICER, f"fetch of {a.artifact} {why}", _ev([a]), str(a.seq)
            )
        )
    return out


def new_location(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """The first fetch from a location the person has never fetched from, once they have a history."""
    seen: set[str] = set()
    prior = 0
    out = []
    for a in _of(acts, "fetch"):
        if a.location is None:
            continue
        if a.location not in seen and prior >= p.a("new_location", "min_prior_fetches") and a.at >= since:
            out.append(
                Alert(
                    "new_location",
                    a.person,
                    a.at,
                    "low",
                    OFFICER,
                    f"first fetch from a new location after {prior} fetches from {len(seen)} known location(s)",
                    _ev([a]),
                    a.location,
                )
            )
        seen.add(a.location)
        prior += 1
    return out


def _country(location: str | None) -> str | None:
    return None if location is None else location.split("/", 1)[0]


def concurrent_locations(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Fetches from two countries within minutes of each other: one account, two places (shared
    credentials). Office and home networks in one country are not this."""
    window = timedelta(minutes=p.a("concurrent_locations", "minutes"))
    located = [a for a in _of(acts, "fetch") if a.location is not None]
    out: dict[date, Alert] = {}
    for i, a in enumerate(located):
        if a.at < since or a.at.date() in out:
            continue
        for b in reversed(located[:i]):
            if a.at - b.at > window:
                break
            if _country(b.location) != _country(a.location):
                out[a.at.date()] = Alert(
                    "concurrent_locations",
                    a.person,
                    a.at,
                    "high",
                    ADMIN,
                    f"fetches from {_country(b.location)} and {_country(a.location)} "
                    f"{int((a.at - b.at).total_seconds() // 60)} min apart",
                    _ev([b, a]),
                    a.at.date().isoformat(),
                )
                break
    return list(out.values())


def _bursts(
    items: Sequence[Activity], window: timedelta, threshold: float, key: Callable[[Activity], object]
) -> list[list[Activity]]:
    """Maximal runs where ``threshold`` distinct keys fall within ``window``; one run per crossing."""
    out: list[list[Activity]] = []
    lo = 0
    last_end: datetime | None = None
    for hi, a in enumerate(items):
        while a.at - items[lo].at > window:
            lo += 1
        run = items[lo : hi + 1]
        if len({key(x) for x in run}) >= threshold and (last_end is None or run[0].at > last_end):
            out.append(list(run))
            last_end = a.at
        elif out and last_end is not None and a.at - out[-1][0].at <= window and a.at > last_end:
            out[-1].append(a)
            last_end = a.at
    return out


def denied_burst(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Many refusals in a short time: probing for what the rules let through."""
    window = timedelta(hours=p.a("denied_burst", "hours"))
    out = []
    for run in _bursts(_of(acts, "denied"), window, p.a("denied_burst", "min_denied"), lambda a: a.seq):
        if run[-1].at < since:
            continue
        out.append(
            Alert(
                "denied_burst",
                run[0].person,
                run[-1].at,
                "medium",
                OFFICER,
                f"{len(run)} refused requests within {window.total_seconds() / 3600:g} h",
                _ev(run),
                str(run[0].seq),
            )
        )
    return out


def controlled_burst(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Many distinct controlled artifacts fetched in a short window."""
    window = timedelta(hours=p.a("controlled_burst", "hours"))
    items = [a for a in _of(acts, "fetch") if a.controlled]
    out = []
    for run in _bursts(items, window, p.a("controlled_burst", "min_artifacts"), lambda a: a.artifact):
        if run[-1].at < since:
            continue
        distinct = len({a.artifact for a in run})
        out.append(
            Alert(
                "controlled_burst",
                run[0].person,
                run[-1].at,
                "high",
                OFFICER,
                f"{distinct} distinct controlled artifacts fetched within {window.total_seconds() / 3600:g} h",
                _ev(run),
                str(run[0].seq),
            )
        )
    return out


def expiry_rush(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Many fetches under a grant in its last hours, well above the person's usual rate."""
    hours = p.a("expiry_rush", "hours")
    window = timedelta(hours=hours)
    fetches = _of(acts, "fetch")
    if not fetches:
        return []
    span_days = max(1.0, (fetches[-1].at - acts[0].at).total_seconds() / 86400)
    usual = len(fetches) / span_days * hours / 24  # the person's average fetches per window
    late: dict[str, list[Activity]] = defaultdict(list)
    for a in fetches:
        if a.grant and a.grant_end is not None and timedelta(0) <= a.grant_end - a.at <= window:
            late[a.grant].append(a)
    out = []
    for grant, run in late.items():
        if run[-1].at < since or len(run) < max(p.a("expiry_rush", "min_fetches"), 3 * usual):
            continue
        out.append(
            Alert(
                "expiry_rush",
                run[0].person,
                run[-1].at,
                "medium",
                OFFICER,
                f"{len(run)} fetches in the last {hours:g} h of grant {grant} (usually {usual:.1f} in {hours:g} h)",
                _ev(run),
                grant,
            )
        )
    return out


def after_screening_hit(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Fetches soon after the person matched a restricted-party list."""
    window = timedelta(days=p.a("after_screening_hit", "days"))
    fetches = _of(acts, "fetch")
    out = []
    for hit in _of(acts, "screening_hit"):
        after = [a for a in fetches if timedelta(0) <= a.at - hit.at <= window]
        if after and after[-1].at >= since:
            out.append(
                Alert(
                    "after_screening_hit",
                    hit.person,
                    after[-1].at,
                    "high",
                    OFFICER,
                    f"{len(after)} fetch(es) within {window.days} days after a screening hit",
                    _ev([hit, *after]),
                    str(hit.seq),
                )
            )
    return out


def release_probing(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Many DP releases on one column by one person: together they approach reconstruction."""
    window = timedelta(days=p.a("release_probing", "days"))
    by_column: dict[str, list[Activity]] = defaultdict(list)
    for a in _of(acts, "release"):
        by_column[a.column or "?"].append(a)
    out = []
    for column, items in by_column.items():
        for run in _bursts(items, window, p.a("release_probing", "min_releases"), lambda a: a.seq):
            if run[-1].at < since:
                continue
            out.append(
                Alert(
                    "release_probing",
                    run[0].person,
                    run[-1].at,
                    "medium",
                    DATA_MANAGER,
                    f"{len(run)} DP releases on column {column} within {window.days} days",
                    _ev(run),
                    f"{column}|{run[0].seq}",
                )
            )
    return out


def slow_drip(acts: Sequence[Activity], since: datetime, p: CompliancePolicy) -> list[Alert]:
    """Controlled artifacts new to the person, accumulating over weeks well above their own earlier pace."""
    days = int(p.a("slow_drip", "window_days"))
    window = timedelta(days=days)
    seen: set[str | None] = set()
    firsts: list[Activity] = []
    for a in _of(acts, "fetch"):
        if a.controlled and a.artifact not in seen:
            seen.add(a.artifact)
            firsts.append(a)
    if not firsts:
        return []
    start = acts[0].at
    times = [a.at for a in firsts]
    out = []
    quiet_until: datetime | None = None
    for i, a in enumerate(firsts):
        if a.at < since or a.at - start < 3 * window or (quiet_until and a.at < quiet_until):
            continue  # a person's first weeks are all new; judge only against an earlier pace
        lo = bisect_left(times, a.at - window)
        recent = firsts[lo : i + 1]
        earlier_n = lo - bisect_left(times, a.at - window * 3)
        if len(recent) >= p.a("slow_drip", "min_new_artifacts") and len(recent) >= p.a("slow_drip", "ratio") * max(
            earlier_n / 2, 1.0
        ):
            out.append(
                Alert(
                    "slow_drip",
                    a.person,
                    a.at,
                    "medium",
                    OFFICER,
                    f"{len(recent)} controlled artifacts new to this person in {days} days "
                    f"(previously {earlier_n / 2:.1f} per {days} days)",
                    _ev(recent),
                    str(recent[0].seq),
                )
            )
            quiet_until = a.at + window
    return out


RULES: dict[str, Rule] = {
    "volume": volume,
    "outside_grant": outside_grant,
    "new_location": new_location,
    "concurrent_locations": concurrent_locations,
    "denied_burst": denied_burst,
    "expiry_rush": expiry_rush,
    "after_screening_hit": after_screening_hit,
    "release_probing": release_probing,
    "controlled_burst": controlled_burst,
    "slow_drip": slow_drip,
}


def by_person(acts: Iterable[Activity]) -> dict[str, list[Activity]]:
    grouped: dict[str, list[Activity]] = defaultdict(list)
    for a in acts:
        grouped[a.person].append(a)
    for items in grouped.values():
        items.sort(key=lambda a: (a.at, a.seq))
    return grouped


def run_rules(acts: Iterable[Activity], since: datetime, policy: CompliancePolicy) -> list[Alert]:
    """Every rule over every person; alerts ordered by time."""
    out = [
        alert for items in by_person(acts).values() for rule in RULES.values() for alert in rule(items, since, policy)
    ]
    return sorted(out, key=lambda a: (a.at, a.rule, a.person))


def rule_counts(alerts: Iterable[Alert]) -> dict[str, int]:
    return dict(Counter(a.rule for a in alerts))


__all__ = ["KINDS", "RULES", "Activity", "Alert", "by_person", "rule_counts", "run_rules"]
