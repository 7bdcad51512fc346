"""The per-dataset privacy profile and budget ledger (releases: ``governance.releases``).

A researcher asks for a statistic of one column of a tabular artifact. Policy decides
(``policies.privacy``): approve, review by an officer, or deny. An approved release runs in
three steps, each its own transaction, so a crash anywhere fails closed:

1. **reserve** — under a lock on the dataset's budget row (``SELECT … FOR UPDATE`` on
   PostgreSQL; SQLite transactions are ``BEGIN IMMEDIATE``) the remaining budget is checked
   and the release's ε/δ reserved, with a ledger entry and an event;
2. **compute** — the artifact is decrypted into memory (never to disk) and OpenDP releases the
   statistic (``governance.dp``);
3. **commit** — the reservation becomes spending and the result, its lineage and its event are
   stored together. If step 2 fails, the reservation is refunded. If the process dies between
   1 and 3, the reservation stays counted until an admin reconciles it.

The ledger, not OpenDP's in-memory accounting, is the source of truth: every entry is exact
(``fractions.Fraction``), the budget row's running sums always equal the sums of its entries
(:func:`ledger_totals`), and a release charges the ε/δ it requested — never less than OpenDP
reports it spent. Asking the same question again returns the stored release for free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import dp
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_dataset, roles_of
from governance.classification import JURISDICTION, OFFICER
from governance.consistency import check_budget
from governance.db import transaction
from governance.ledger import Budget, BudgetExceededError, fraction_text, parse_delta, parse_epsilon, show
from lineage import EventLog, NewEvent
from policies.privacy import PrivacyPolicy
from qgov.canonical import iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError, PolicyError

_TABULAR = {"text/csv": "csv", "application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet"}
_SEVERE = {"review": "review", "deny": "denied"}


# -- profile and budget ---------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    """What the data manager declares: the privacy unit, per-column bounds or categories, budget."""

    contributions: int
    columns: dict[str, dp.ColumnPolicy]
    epsilon: Fraction
    delta: Fraction

    @classmethod
    def parse(cls, data: Any, policy: PrivacyPolicy, source: str = "privacy profile") -> Profile:
        if not isinstance(data, dict):
            raise InputError(f"{source}: expected a mapping with contributions, columns and (optionally) budget")
        unknown = sorted(set(data) - {"contributions", "columns", "budget"})
        if unknown:
            raise InputError(f"{source}: unknown field {unknown[0]!r}; expected contributions, columns, budget")
        contributions = data.get("contributions")
        if isinstance(contributions, bool) or not isinstance(contributions, int) or contributions < 1:
            raise InputError(f"{source}.contributions: expected the most rows one contributor adds (>= 1)")
        columns_raw = data.get("columns")
        if not isinstance(columns_raw, dict) or not columns_raw:
            raise InputError(f"{source}.columns: expected a mapping of column name to bounds or categories")
        columns = {}
        for name, spec in columns_raw.items():
            where = f"{source}.columns.{name}"
            keys = set(spec) if isinstance(spec, dict) else set()
            if not keys <= {"bounds", "categories", "missing"} or not keys & {"bounds", "categories"}:
                raise InputError(
                    f"{where}: expected bounds: [low, high] and/or categories: [...], and optionally missing: "
                    "drop | {impute: NUMBER}"
                )
            bounds = spec.get("bounds")
            if bounds is not None and (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, int | float) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)
                or bounds[0] >= bounds[1]
            ):
                raise InputError(
                    f"{where}.bounds: expected [low, high] with finite numbers, low < high; got {bounds!r}"
                )
            categories = spec.get("categories")
            if categories is not None and (not isinstance(categories, list) or not categories):
                raise InputError(f"{where}.categories: expected a non-empty list")
            missing, impute = dp.parse_missing(spec.get("missing"), bounds, f"{where}.missing")
            columns[str(name)] = dp.ColumnPolicy(
                bounds=(bounds[0], bounds[1]) if bounds is not None else None,
                categories=tuple(str(c) for c in categories) if categories is not None else None,
                missing=missing,
                impute=impute,
            )
        budget = data.get("budget") or {}
        if not isinstance(budget, dict) or not set(budget) <= {"epsilon", "delta"}:
            raise InputError(f"{source}.budget: expected {{epsilon: …, delta: …}}")
        epsilon = parse_epsilon(budget.get("epsilon", policy.default_epsilon), f"{source}.budget.epsilon")
        delta = parse_delta(budget.get("delta", policy.default_delta), f"{source}.budget.delta")
        return cls(contributions, columns, epsilon, delta)

    def columns_json(self) -> dict[str, Any]:
        return {
            name: {k: list(v) for k, v in (("bounds", c.bounds), ("categories", c.categories)) if v is not None}
            | ({"missing": c.missing_json()} if c.bounds is not None else {})
            for name, c in sorted(self.columns.items())
        }


def privacy_policy(app: App) -> PrivacyPolicy:
    privacy = app.policies.get(JURISDICTION).require_access().privacy
    if privacy is None:
        raise PolicyError(f"jurisdiction {JURISDICTION}: its bundle has no privacy section")
    return privacy


def _budget_of(row: Any) -> Budget:
    return Budget(
        Fraction(row.epsilon),
        Fraction(row.delta),
        Fraction(row.spent_epsilon),
        Fraction(row.spent_delta),
        Fraction(row.reserved_epsilon),
        Fraction(row.reserved_delta),
    )


def budget_values(budget: Budget) -> dict[str, str]:
    return {
        "epsilon": fraction_text(budget.epsilon),
        "delta": fraction_text(budget.delta),
        "spent_epsilon": fraction_text(budget.spent_epsilon),
        "spent_delta": fraction_text(budget.spent_delta),
        "reserved_epsilon": fraction_text(budget.reserved_epsilon),
        "reserved_delta": fraction_text(budget.reserved_delta),
    }


def budget_row(conn: Connection, dataset_id: str, lock: bool = False) -> tuple[Any, Budget]:
    """A dataset's privacy profile row and budget; ``lock`` holds the row for this transaction
    (``SELECT … FOR UPDATE``), which is what keeps concurrent releases from overspending."""
    query = select(t.privacy_budgets).where(t.privacy_budgets.c.dataset_id == dataset_id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        name = conn.execute(select(t.datasets.c.name).where(t.datasets.c.id == dataset_id)).scalar_one()
        raise NotFoundError(
            f"dataset {name!r} has no privacy profile; its data manager sets one with "
            f"'qgov budget set {name} PROFILE.yaml'"
        )
    return row, _budget_of(row)


def write_ledger(
    conn: Connection,
    dataset_id: str,
    release: str | None,
    entry: str,
    eps: Fraction,
    delta: Fraction,
    by: str,
    at: datetime,
    reason: str | None = None,
) -> None:
    conn.execute(
        insert(t.privacy_ledger).values(
            dataset_id=dataset_id,
            release_id=release,
            entry=entry,
            epsilon=fraction_text(eps),
            delta=fraction_text(delta),
            at=at,
            by=by,
            reason=reason,
        )
    )


def store_budget(conn: Connection, dataset_id: str, budget: Budget, by: str, at: datetime) -> None:
    conn.execute(
        update(t.privacy_budgets)
        .where(t.privacy_budgets.c.dataset_id == dataset_id)
        .values(**budget_values(budget), updated_at=at, updated_by=by)
    )


def set_profile(app: App, dataset: str, data: Any, source: str = "privacy profile", reason: str = "") -> dict[str, Any]:
    """The dataset's owner, a data manager or an admin declares its privacy profile and budget.

    After spending, a new privacy unit rescales what was spent (:func:`rescale_factor`), and a
    change that gives budget back — a higher total, or a smaller unit — needs an export-control
    officer and a reason; the ``privacy.configured`` event records both."""
    profile = Profile.parse(data, privacy_policy(app), source)
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        ds = get_dataset(conn, dataset)
        roles = roles_of(conn, app.user)
        if app.user != ds.owner and not roles & {"data_manager", "admin", OFFICER}:
            raise AccessDenied(
                f"user {app.user!r} may not set the privacy budget of {dataset}: not its owner, "
                "a data manager, an officer or an admin"
            )
        existing = conn.execute(
            select(t.privacy_budgets).where(t.privacy_budgets.c.dataset_id == ds.id).with_for_update()
        ).first()
        payload: dict[str, Any] = {}
        changes: dict[str, Fraction] = {}
        if existing is None:
            budget = Budget(profile.epsilon, profile.delta)
        else:
            check_budget(conn, ds.id, ds.name)  # what is rescaled or raised must be what the log says
            old = _budget_of(existing)
            if profile.contributions != existing.contributions:
                if old.reserved_epsilon or old.reserved_delta:
                    raise InputError(
                        f"{source}.contributions: releases of {dataset} are in flight; wait for them (or have an "
                        "admin reconcile them) before changing the privacy unit"
                    )
                changes = _rescaled(conn, ds.id, existing.contributions, profile.contributions)
                payload["rescaled"] = {
                    "contributions": {"from": existing.contributions, "to": profile.contributions},
                    "releases": {r: fraction_text(c) for r, c in sorted(changes.items())},
                    "spent_epsilon": {
                        "from": fraction_text(old.spent_epsilon),
                        "to": fraction_text(old.spent_epsilon + sum(changes.values(), Fraction(0))),
                    },
                    "rule": "laplace: ε × k; gaussian: ε × max(k, k²); k = new unit / unit at release",
                }
            rescaled = replace(old, spent_epsilon=old.spent_epsilon + sum(changes.values(), Fraction(0)))
            raised = profile.epsilon > old.epsilon or profile.delta > old.delta
            if raised or sum(changes.values(), Fraction(0)) < 0:
                what = (
                    f"raising the total of {dataset} from ε {show(old.epsilon)} to ε {show(profile.epsilon)}"
                    if raised
                    else f"a smaller privacy unit for {dataset} (it lowers what was spent)"
                )
                if OFFICER not in roles:
                    raise AccessDenied(
                        f"user {app.user!r} may not make this change: {what} needs an export-control officer"
                    )
                if not reason.strip():
                    raise InputError(f"--reason: {what} needs a reason (it is part of the record)")
            if raised:
                payload["total_raised"] = {
                    "epsilon": {"from": fraction_text(old.epsilon), "to": fraction_text(profile.epsilon)},
                    "delta": {"from": fraction_text(old.delta), "to": fraction_text(profile.delta)},
                }
            same_total = (profile.epsilon, profile.delta) == (old.epsilon, old.delta)
            # a larger unit may leave more spent than the total: that is recorded, never refused
            budget = rescaled if same_total else rescaled.with_total(profile.epsilon, profile.delta)
        if reason.strip():
            payload["reason"] = reason.strip()
        values = budget_values(budget) | {
            "contributions": profile.contributions,
            "columns": profile.columns_json(),
            "source": "data_manager" if isinstance(data, dict) and "budget" in data else "policy",
            "updated_at": now,
            "updated_by": app.user,
        }
        if existing is None:
            conn.execute(insert(t.privacy_budgets).values(dataset_id=ds.id, **values))
        else:
            conn.execute(update(t.privacy_budgets).where(t.privacy_budgets.c.dataset_id == ds.id).values(**values))
        for release, change in sorted(changes.items()):
            write_ledger(conn, ds.id, release, "rescale", change, Fraction(0), app.user, now, reason or None)
        write_ledger(conn, ds.id, None, "total", profile.epsilon, profile.delta, app.user, now)
        log.append(
            NewEvent(
                "privacy.configured",
                app.user,
                [ds.id],
                {
                    "dataset": ds.name,
                    "epsilon": fraction_text(profile.epsilon),
                    "delta": fraction_text(profile.delta),
                    "contributions": profile.contributions,
                    "columns": profile.columns_json(),
                    "budget": budget_values(budget),
                    **payload,
                },
                now,
            )
        )
    return budget_show(app, dataset)


_MARGIN = Fraction(1_000_001, 1_000_000)


def rescale_factor(mechanism: str, k: Fraction) -> Fraction:
    """What a release's charge is multiplied by when the privacy unit becomes ``k`` times the one
    it was released under (never less than the true loss, so a rescale never under-counts).

    Every statistic here (count, sum, mean, histogram, quantile) has a sensitivity linear in the
    number of rows one contributor adds (``governance.dp``: symmetric distance in, L1 / L2 / score
    distance out, each a constant times it). Laplace and the exponential mechanism are pure DP
    with ε = sensitivity / scale: exactly ε·k. The Gaussian is ρ-zCDP with ρ = (sensitivity /
    scale)² / 2, so ρ·k², converted at the same δ: ε(ρ) = ρ + 2·sqrt(ρ·ln(1/δ)) becomes
    k²·ρ + k·2·sqrt(ρ·ln(1/δ)), at most ε·k² for k ≥ 1 and at most ε·k for k < 1; δ stays.

    OpenDP rounds a float sum's sensitivity up, so its map reports up to ~1e-9 (relative) more
    than the linear value: any factor but 1 carries a margin of 1e-6 (tests/unit/test_rescale.py
    checks every statistic and mechanism against OpenDP's map)."""
    if k == 1:
        return k
    return (k if mechanism == "laplace" else max(k, k * k)) * _MARGIN


def _rescaled(conn: Connection, dataset_id: str, old: int, new: int) -> dict[str, Fraction]:
    """Per committed release, how much its charge changes when the unit goes from ``old`` to ``new``."""
    charged: dict[str, Fraction] = {}
    committed: dict[str, Fraction] = {}
    for e in conn.execute(
        select(t.privacy_ledger).where(
            t.privacy_ledger.c.dataset_id == dataset_id, t.privacy_ledger.c.entry.in_(["commit", "rescale"])
        )
    ):
        charged[e.release_id] = charged.get(e.release_id, Fraction(0)) + Fraction(e.epsilon)
        if e.entry == "commit":
            committed[e.release_id] = Fraction(e.epsilon)
    rows = {r.id: r for r in conn.execute(select(t.releases).where(t.releases.c.id.in_(list(committed))))}
    changes = {}
    for release, base in committed.items():
        row = rows[release]
        unit = ((row.result or {}).get("parameters") or {}).get("contributions", old)
        target = base * rescale_factor(row.query["mechanism"], Fraction(new, unit))
        if target != charged[release]:
            changes[release] = target - charged[release]
    return changes


def check_requester_cap(
    conn: Connection, policy: PrivacyPolicy, dataset_id: str, requester: str, epsilon: Fraction
) -> None:
    """Refuse a release that would take one requester past ``per_requester_epsilon`` on this
    dataset; called under the budget row's lock, so concurrent releases cannot both pass."""
    if policy.per_requester_epsilon is None:
        return
    cap = policy.fraction("per_requester_epsilon")
    mine = select(t.releases.c.id).where(t.releases.c.dataset_id == dataset_id, t.releases.c.requester == requester)
    spent = Fraction(0)
    for e in conn.execute(
        select(t.privacy_ledger.c.entry, t.privacy_ledger.c.epsilon).where(
            t.privacy_ledger.c.dataset_id == dataset_id,
            t.privacy_ledger.c.release_id.in_(mine),
            t.privacy_ledger.c.entry.in_(["reserve", "refund", "rescale"]),
        )
    ):
        spent += -Fraction(e.epsilon) if e.entry == "refund" else Fraction(e.epsilon)
    if spent + epsilon > cap:
        raise BudgetExceededError(
            f"this release needs ε {show(epsilon)} but {requester} has already spent ε {show(spent)} of this "
            f"dataset's per-requester cap of ε {show(cap)} (policy access.privacy.per_requester_epsilon)"
        )


def budget_show(app: App, dataset: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        ds = get_dataset(conn, dataset)
        row, budget = budget_row(conn, ds.id)
        rows = conn.execute(
            select(t.releases).where(t.releases.c.dataset_id == ds.id).order_by(t.releases.c.created_at)
        ).all()
        consistent = ledger_totals(conn, ds.id) == budget
    return {
        "dataset": ds.name,
        "epsilon": {
            "total": show(budget.epsilon),
            "spent": show(budget.spent_epsilon),
            "reserved": show(budget.reserved_epsilon),
            "remaining": show(budget.remaining_epsilon),
        },
        "delta": {
            "total": show(budget.delta),
            "spent": show(budget.spent_delta),
            "reserved": show(budget.reserved_delta),
            "remaining": show(budget.remaining_delta),
        },
        "exact": budget_values(budget),
        "contributions": row.contributions,
        "columns": row.columns,
        "ledger_consistent": consistent,
        "releases": [release_summary(r) for r in rows],
    }


def ledger_totals(conn: Connection, dataset_id: str) -> Budget:
    """The budget recomputed from the ledger's entries alone (the row must always agree)."""
    entries = conn.execute(
        select(t.privacy_ledger).where(t.privacy_ledger.c.dataset_id == dataset_id).order_by(t.privacy_ledger.c.id)
    ).all()
    total = (Fraction(0), Fraction(0))
    sums = {
        "reserve": [Fraction(0), Fraction(0)],
        "commit": [Fraction(0), Fraction(0)],
        "refund": [Fraction(0), Fraction(0)],
        "rescale": [Fraction(0), Fraction(0)],  # a new privacy unit rescaled what was spent
    }
    for e in entries:
        if e.entry == "total":
            total = (Fraction(e.epsilon), Fraction(e.delta))
        else:
            sums[e.entry][0] += Fraction(e.epsilon)
            sums[e.entry][1] += Fraction(e.delta)
    reserved = [sums["reserve"][i] - sums["commit"][i] - sums["refund"][i] for i in (0, 1)]
    spent = [sums["commit"][i] + sums["rescale"][i] for i in (0, 1)]
    return Budget(total[0], total[1], spent[0], spent[1], reserved[0], reserved[1])


def release_summary(row: Any) -> dict[str, Any]:
    doc = {
        "release_id": row.id,
        "status": row.status,
        "query": row.query,
        "epsilon": show(Fraction(row.epsilon)),
        "delta": show(Fraction(row.delta)),
        "requester": row.requester,
        "purpose": row.purpose,
        "created_at": iso_utc(row.created_at),
        "classification": row.classification or ("pending officer review" if row.status == "released" else None),
    }
    if row.result:
        doc |= {"value": row.result["value"], "accuracy": row.result["accuracy"]}
    if row.error:
        doc["error"] = row.error
    return {k: v for k, v in doc.items() if v is not None}


__all__ = [
    "Profile",
    "budget_show",
    "budget_values",
    "check_requester_cap",
    "ledger_totals",
    "rescale_factor",
    "budget_row",
    "privacy_policy",
    "release_summary",
    "set_profile",
    "store_budget",
    "write_ledger",
]
