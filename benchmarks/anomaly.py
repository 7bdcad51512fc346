"""Anomaly detection quality: a synthetic lab with injected misuse, scored per scenario.

Generates ``--people`` (default 60) people × ``--days`` (default 180) days of normal
activity as the activity records the product builds from its log (``governance.compliance.
rules.Activity``) — not through the store, which would take hours for ~50,000 fetches — and
injects five scenarios, ``--instances`` (default 6) episodes of each, into randomly chosen
people after a 60-day warm-up:

  insider_exfiltration  one day of 30-60 fetches of controlled artifacts, most new to the person
  shared_credentials    3-5 days on which a second location fetches within minutes of the owner
  travel                4-10 days of normal work from a country the person never worked from
  slow_drip             30-40 days of one or two extra fetches a day of controlled artifacts new to them
  budget_probing        8-14 DP releases on one column within two weeks

``--intensity 0.5`` halves every injected count (and drips a new artifact on half the days)
to show where the rules stop seeing misuse. ``--seeds 11,12,13`` runs several labs and adds
pooled figures. Normal life includes what makes detection hard: people whose volume varies
three-fold, weekends, new projects that bring new artifacts, home and office locations from the start,
occasional refused requests, a few people who release DP statistics every week, grants
renewed every 90 days. Then the product's detectors run (``run_rules`` and
``isolation_alerts``, the same functions ``qgov anomaly scan`` calls). An episode is
*detected* when any alert on its person falls within its days (plus one day). An alert on a
person-day outside every episode is a false alert. Prints one JSON document: recall per
scenario, precision per detector and per scenario (of the alerts from the detectors that
caught that scenario, the share that were on an episode), false alerts per 1,000 person-days.
Run: ``.venv/bin/python benchmarks/anomaly.py [--seed N]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from governance.compliance.isolation import isolation_alerts  # noqa: E402
from governance.compliance.rules import Activity, Alert, run_rules  # noqa: E402
from policies.compliance import load_compliance  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=UTC)
SCENARIOS = ("insider_exfiltration", "shared_credentials", "travel", "slow_drip", "budget_probing")
COUNTRIES = ("US", "DE", "JP", "GB", "FR", "CA", "IN", "BR", "KR", "CN")


@dataclass
class Episode:
    scenario: str
    person: str
    first: date
    last: date


class Lab:
    def __init__(self, seed: int, people: int, days: int, intensity: float = 1.0) -> None:
        self.rng = random.Random(seed)
        self.k = intensity
        self.days = days
        self.people = [f"p{i:03d}" for i in range(people)]
        self.acts: list[Activity] = []
        self.seq = 0
        self.artifacts = [f"a{i:04d}" for i in range(3000)]
        self.controlled = {a for a in self.artifacts if self.rng.random() < 0.4}
        self.columns = [f"ds{i}:col{j}" for i in range(10) for j in range(4)]

    def add(self, person: str, at: datetime, kind: str, **kw: object) -> None:
        self.seq += 1
        self.acts.append(Activity(self.seq, f"e{self.seq}", person, at, kind, **kw))  # type: ignore[arg-type]

    def fetch(self, person: str, at: datetime, artifact: str, location: str) -> None:
        granted = START + timedelta(days=90 * ((at - START).days // 90))
        self.add(
            person,
            at,
            "fetch",
            artifact=artifact,
            controlled=artifact in self.controlled,
            location=location,
            grant=f"g-{person}-{(at - START).days // 90}",
            grant_start=granted,
            grant_end=granted + timedelta(days=90),
        )

    def at(self, day: int, rng: random.Random) -> datetime:
        return START + timedelta(days=day, hours=rng.uniform(8, 19))

    def normal(self) -> None:
        rng = self.rng
        for person in self.people:
            rate = rng.uniform(1.0, 7.0)
            working = rng.sample(self.artifacts, rng.randint(15, 40))
            home = rng.choice(("US", "DE", "GB", "FR"))
            places = [f"{home}/office", f"{home}/home"] if rng.random() < 0.6 else [f"{home}/office"]
            releaser = rng.random() < 0.15
            for day in range(self.days):
                weekend = (START + timedelta(days=day)).weekday() >= 5
                if rng.random() < 0.02:  # a new project brings new artifacts
                    working += rng.sample(self.artifacts, rng.randint(3, 10))
                lam = rate * (0.1 if weekend else 1.0) * rng.uniform(0.5, 1.5)
                for _ in range(_poisson(rng, lam)):
                    self.fetch(person, self.at(day, rng), rng.choice(working[-40:]), rng.choice(places))
                if rng.random() < 0.01:
                    self.add(person, self.at(day, rng), "denied")
                if releaser and not weekend and rng.random() < 0.12:
                    self.add(person, self.at(day, rng), "release", column=rng.choice(self.columns))

    def known(self, person: str) -> tuple[set[str | None], set[str | None]]:
        mine = [a for a in self.acts if a.person == person and a.kind == "fetch"]
        return {a.artifact for a in mine}, {a.location for a in mine}

    def n(self, low: int, high: int) -> int:
        """A count of injected actions, scaled by the intensity (at least one)."""
        return max(1, round(self.rng.randint(low, high) * self.k))

    def inject(self, scenario: str, person: str, day: int) -> Episode:
        rng = self.rng
        seen, places = self.known(person)
        fresh = [a for a in self.artifacts if a in self.controlled and a not in seen]
        rng.shuffle(fresh)
        home = next(iter(sorted(p for p in places if p is not None)), "US/office")
        if scenario == "insider_exfiltration":
            for artifact in fresh[: self.n(30, 60)]:
                self.fetch(person, self.at(day, rng), artifact, home)
            return Episode(scenario, person, _d(day), _d(day))
        if scenario == "shared_credentials":
            span = self.n(3, 5)
            other = rng.choice([c for c in COUNTRIES if not any(str(p).startswith(c) for p in places)])
            mine = [a for a in self.acts if a.person == person and a.kind == "fetch" and a.artifact]
            for d in range(day, day + span):
                for _ in range(self.n(2, 4)):
                    t = self.at(d, rng)
                    self.fetch(person, t, rng.choice(mine).artifact or "", home)
                    self.fetch(
                        person, t + timedelta(minutes=rng.uniform(3, 40)), rng.choice(mine).artifact or "", other
                    )
            return Episode(scenario, person, _d(day), _d(day + span - 1))
        if scenario == "travel":
            span = self.n(4, 10)
            abroad = rng.choice([c for c in COUNTRIES if not any(str(p).startswith(c) for p in places)])
            mine = [a.artifact for a in self.acts if a.person == person and a.kind == "fetch" and a.artifact]
            away = {_d(d) for d in range(day, day + span)}  # away from the office: no fetches from home
            self.acts = [a for a in self.acts if not (a.person == person and a.at.date() in away)]
            for d in range(day, day + span):
                for _ in range(rng.randint(1, 4)):
                    self.fetch(person, self.at(d, rng), rng.choice(mine), abroad)
            return Episode(scenario, person, _d(day), _d(day + span - 1))
        if scenario == "slow_drip":
            span = rng.randint(30, 40)
            for d in range(day, day + span):
                for _ in range(rng.randint(1, 2)):
                    if rng.random() < self.k:  # at intensity 0.5, a new artifact on half the days
                        self.fetch(person, self.at(d, rng), fresh.pop(), home)
            return Episode(scenario, person, _d(day), _d(day + span - 1))
        column = rng.choice(self.columns)
        span = 14
        for _ in range(self.n(8, 14)):
            self.add(person, self.at(day + rng.randrange(span), rng), "release", column=column)
        return Episode(scenario, person, _d(day), _d(day + span - 1))


def _d(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam is small here
    limit, k, prod = pow(2.718281828459045, -lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def score(alerts: list[Alert], episodes: list[Episode]) -> dict[str, object]:
    def on(alert: Alert, ep: Episode) -> bool:
        return alert.person == ep.person and ep.first <= alert.at.date() <= ep.last + timedelta(days=1)

    true_alerts = [a for a in alerts if any(on(a, ep) for ep in episodes)]
    false_alerts = [a for a in alerts if a not in true_alerts]
    per_detector = {}
    for rule in sorted({a.rule for a in alerts}):
        mine = [a for a in alerts if a.rule == rule]
        hits = sum(a in true_alerts for a in mine)
        per_detector[rule] = {"alerts": len(mine), "on_episodes": hits, "precision": round(hits / len(mine), 3)}
    per_scenario = {}
    for scenario in SCENARIOS:
        eps = [e for e in episodes if e.scenario == scenario]
        found = [e for e in eps if any(on(a, e) for a in alerts)]
        catching = {a.rule for e in eps for a in alerts if on(a, e)}
        tp = sum(1 for a in true_alerts if a.rule in catching and any(on(a, e) for e in eps))
        fp = sum(1 for a in false_alerts if a.rule in catching)
        per_scenario[scenario] = {
            "episodes": len(eps),
            "detected": len(found),
            "recall": round(len(found) / len(eps), 3) if eps else None,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "detected_by": dict(Counter(a.rule for e in eps for a in alerts if on(a, e))),
        }
    return {"per_scenario": per_scenario, "per_detector": per_detector, "false_alerts": len(false_alerts)}


def run(seed: int, args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    lab = Lab(seed, args.people, args.days, args.intensity)
    lab.normal()
    episodes = []
    victims = lab.rng.sample(lab.people, min(len(lab.people), len(SCENARIOS) * args.instances))
    for i, person in enumerate(victims):
        scenario = SCENARIOS[i % len(SCENARIOS)]
        episodes.append(lab.inject(scenario, person, lab.rng.randint(60, args.days - 45)))
    generated = time.perf_counter() - started
    policy = load_compliance()
    since = START  # score every day, as a first scan over the whole history would
    t0 = time.perf_counter()
    alerts = run_rules(lab.acts, since, policy)
    rules_s = time.perf_counter() - t0
    forest_note = None
    t0 = time.perf_counter()
    if not args.no_forest:
        forest, forest_note = isolation_alerts(lab.acts, since, policy)
        alerts += forest
    forest_s = time.perf_counter() - t0
    person_days = args.people * args.days
    result = score(alerts, episodes)
    return {
        "seed": seed,
        "person_days": person_days,
        "activities": len(lab.acts),
        "episodes": len(episodes),
        "alerts": len(alerts),
        "false_alerts_per_1000_person_days": round(1000 * result["false_alerts"] / person_days, 3),  # type: ignore[operator]
        **result,
        "forest": forest_note or "ran",
        "seconds": {"generate": round(generated, 2), "rules": round(rules_s, 2), "forest": round(forest_s, 2)},
    }


def pooled(runs: list[dict[str, object]]) -> dict[str, object]:
    person_days = sum(int(r["person_days"]) for r in runs)  # type: ignore[call-overload]
    false_alerts = sum(int(r["false_alerts"]) for r in runs)  # type: ignore[call-overload]
    recall = {}
    for scenario in SCENARIOS:
        found = sum(r["per_scenario"][scenario]["detected"] for r in runs)  # type: ignore[index]
        total = sum(r["per_scenario"][scenario]["episodes"] for r in runs)  # type: ignore[index]
        recall[scenario] = {"detected": found, "episodes": total, "recall": round(found / total, 3)}
    detectors: dict[str, dict[str, float]] = {}
    for r in runs:
        for rule, v in r["per_detector"].items():  # type: ignore[attr-defined]
            d = detectors.setdefault(rule, {"alerts": 0, "on_episodes": 0})
            d["alerts"] += v["alerts"]
            d["on_episodes"] += v["on_episodes"]
    for d in detectors.values():
        d["precision"] = round(d["on_episodes"] / d["alerts"], 3)
    true_alerts = sum(int(d["on_episodes"]) for d in detectors.values())
    return {
        "person_days": person_days,
        "false_alerts": false_alerts,
        "false_alerts_per_1000_person_days": round(1000 * false_alerts / person_days, 3),
        "precision": round(true_alerts / (true_alerts + false_alerts), 3),
        "per_scenario": recall,
        "per_detector": detectors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", help="comma-separated seeds: run each lab and pool the figures")
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--instances", type=int, default=6)
    parser.add_argument("--intensity", type=float, default=1.0, help="scale injected actions (0.5: subtler misuse)")
    parser.add_argument("--no-forest", action="store_true", help="rules only")
    args = parser.parse_args()
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    runs = [run(seed, args) for seed in seeds]
    doc: dict[str, object] = {
        "benchmark": "anomaly",
        "people": args.people,
        "days": args.days,
        "instances_per_scenario": args.instances,
        "intensity": args.intensity,
        "target": "recall >= 0.9 per scenario at <= 1 false alert per 1,000 person-days",
    }
    doc |= {"runs": runs, "pooled": pooled(runs)} if len(runs) > 1 else runs[0]
    print(json.dumps(doc, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
