"""The statistical detector: scikit-learn's IsolationForest over per-person-day features.

Each person-day with any activity becomes a row of counts, most of them measured against the
person's own history (new artifacts, new locations, the day's fetches over their trailing
mean), so one person's busy day is not another's anomaly. The forest is fitted on every
person-day it is given and the ``contamination`` share (a project rule) with the lowest
scores become alerts; with fewer than ``min_person_days`` rows it does not run at all
(a forest over a handful of days marks arbitrary ones). Deterministic: a fixed seed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from governance.compliance.rules import OFFICER, Activity, Alert, by_person
from policies.compliance import CompliancePolicy

FEATURES = (
    "fetches",
    "distinct_artifacts",
    "controlled_artifacts",
    "new_artifacts",
    "new_locations",
    "locations",
    "denied",
    "releases",
    "fetch_ratio",
)


@dataclass(frozen=True)
class PersonDay:
    person: str
    day: date
    values: tuple[float, ...]
    acts: tuple[Activity, ...]


def person_days(acts: Iterable[Activity]) -> list[PersonDay]:
    """One row per person and day with activity; history-relative features from earlier days."""
    rows = []
    for person, items in by_person(acts).items():
        days: dict[date, list[Activity]] = defaultdict(list)
        for a in items:
            days[a.at.date()].append(a)
        seen_artifacts: set[str | None] = set()
        seen_locations: set[str] = set()
        history: list[tuple[date, int]] = []
        for day in sorted(days):
            todays = days[day]
            fetches = [a for a in todays if a.kind == "fetch"]
            artifacts = {a.artifact for a in fetches}
            locations = {a.location for a in fetches if a.location is not None}
            recent = [n for d, n in history if day - d <= timedelta(days=30)]
            mean = sum(recent) / 30 if recent else 0.0
            values = (
                float(len(fetches)),
                float(len(artifacts)),
                float(len({a.artifact for a in fetches if a.controlled})),
                float(len(artifacts - seen_artifacts)) if history else 0.0,
                float(len(locations - seen_locations)) if seen_locations else 0.0,
                float(len(locations)),
                float(sum(a.kind == "denied" for a in todays)),
                float(sum(a.kind == "release" for a in todays)),
                len(fetches) / (mean + 1.0),
            )
            rows.append(PersonDay(person, day, values, tuple(todays)))
            seen_artifacts |= artifacts
            seen_locations |= locations
            history.append((day, len(fetches)))
    return rows


def isolation_alerts(
    acts: Sequence[Activity], since: datetime, policy: CompliancePolicy
) -> tuple[list[Alert], str | None]:
    """Alerts for the most isolated person-days on or after ``since``, or why the detector did not run."""
    rows = person_days(acts)
    minimum = int(policy.a("isolation_forest", "min_person_days"))
    if len(rows) < minimum:
        return [], f"isolation forest skipped: {len(rows)} person-days with activity, it needs {minimum}"
    from sklearn.ensemble import IsolationForest

    contamination = policy.a("isolation_forest", "contamination")
    forest = IsolationForest(
        n_estimators=int(policy.a("isolation_forest", "trees")), contamination=contamination, random_state=0
    )
    matrix = [list(r.values) for r in rows]
    forest.fit(matrix)
    scores = forest.score_samples(matrix)
    threshold = float(forest.offset_)
    columns = list(zip(*matrix, strict=True))
    centre = [statistics.median(c) for c in columns]
    spread = [statistics.pstdev(c) or 1.0 for c in columns]
    out = []
    for row, score in zip(rows, scores, strict=True):
        if score >= threshold or row.day < since.date():
            continue
        # explain by the features furthest from the typical person-day, in standard deviations
        far = sorted(range(len(FEATURES)), key=lambda i: -(row.values[i] - centre[i]) / spread[i])[:3]
        described = ", ".join(f"{FEATURES[i]} {row.values[i]:.3g} (typical {centre[i]:.3g})" for i in far)
        out.append(
            Alert(
                "isolation_forest",
                row.person,
                max(a.at for a in row.acts),
                "low",
                OFFICER,
                f"an unusual day ({described}); isolation score {float(score):.3f} below {threshold:.3f}",
                tuple((a.seq, a.event_id) for a in row.acts)[:200],
                row.day.isoformat(),
                float(score),
            )
        )
    return out, None


__all__ = ["FEATURES", "PersonDay", "isolation_alerts", "person_days"]
