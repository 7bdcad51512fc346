"""Differential-privacy releases: request, decide, reserve, compute, commit (see ``governance.privacy``).

An approved release runs in three transactions so that a crash anywhere fails closed:
reserve (budget row locked, remaining checked, ε/δ reserved), compute (the artifact decrypted
into memory, OpenDP releases the statistic), commit (reservation → spending, result, lineage
and event together). A failure before the data are read refunds, one after keeps the charge and
names nothing (ADR 0020); a process that dies leaves the reservation counted until an admin
reconciles it. The same question asked again returns the stored release without spending anything.
"""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from governance import dp
from governance import tables as t
from governance.access import screen_requester
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import ArtifactDeletedError, get_artifact, get_dataset, require_not_deleted
from governance.classification import JURISDICTION
from governance.consistency import check_budget
from governance.db import transaction
from governance.ids import resolve
from governance.keys import readable_key
from governance.ledger import Budget, BudgetExceededError, fraction_text, parse_delta, parse_epsilon, show
from governance.privacy import (
    budget_row,
    budget_show,
    budget_values,
    check_requester_cap,
    privacy_policy,
    release_summary,
    store_budget,
    write_ledger,
)
from governance.requests import get_person
from governance.screening import screening_warnings
from governance.vocabulary import check_classification
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec
from policies.license_policy import PRESUMPTION_OF_DENIAL, normalize_license_policy
from policies.privacy import decide_release
from qgov.canonical import canonical_hash
from qgov.errors import AccessDenied, InputError, NotFoundError, PolicyError, QgovError

_TABULAR = {"text/csv": "csv", "application/vnd.apache.parquet": "parquet", "application/x-parquet": "parquet"}


# -- releases -------------------------------------------------------------------------
def _tabular_artifact(conn: Connection, dataset_id: str, dataset: str, artifact: str | None) -> Any:
    rows = conn.execute(
        select(t.artifacts).where(t.artifacts.c.dataset_id == dataset_id, t.artifacts.c.media_type.in_(list(_TABULAR)))
    ).all()
    if artifact is not None:
        found = [r for r in rows if artifact in (r.id, r.path)]
        if not found:
            raise NotFoundError(f"--artifact {artifact}: no CSV or Parquet artifact with that id or path in {dataset}")
        return found[0]
    if len(rows) != 1:
        paths = ", ".join(sorted(r.path for r in rows)[:5]) or "none"
        raise InputError(f"--artifact: dataset {dataset} has {len(rows)} tables ({paths}); name one")
    return rows[0]


def request_release(
    app: App,
    dataset: str,
    stat: str,
    column: str,
    epsilon: object,
    delta: object = "0",
    mechanism: str | None = None,
    quantile: float | None = None,
    purpose: str = "",
    artifact: str | None = None,
    alpha: float = 0.05,
    preview: bool = False,
    size: int | None = None,
) -> dict[str, Any]:
    """The acting person asks for one DP statistic; decided by policy and, if approved, released now.
    ``preview`` answers what the statistic's accuracy would be (``size``: an assumed row count)
    from public parameters only: no data is read, nothing is recorded or spent."""
    policy = privacy_policy(app)
    eps, dlt = parse_epsilon(epsilon), parse_delta(delta)
    mechanism = mechanism or policy.default_mechanism
    if mechanism not in policy.mechanisms:
        raise InputError(f"--mechanism: expected one of {', '.join(policy.mechanisms)}, got {mechanism!r}")
    if stat not in dp.STATS:
        raise InputError(f"--stat: expected one of {', '.join(dp.STATS)}, got {stat!r}")
    if size is not None and not preview:
        raise InputError("--size: an assumed row count is only for --preview")
    if not purpose.strip() and not preview:
        raise InputError("--purpose: say what the statistic is for (it is part of the record)")
    with app.engine.connect() as conn:
        person = get_person(conn, app.user)
        ds = get_dataset(conn, dataset)
        row, current = budget_row(conn, ds.id)
        art = _tabular_artifact(conn, ds.id, dataset, artifact)
        found = get_artifact(conn, art.id)
    if column not in row.columns:
        raise InputError(
            f"--column {column}: not declared in {dataset}'s privacy profile "
            f"(declared: {', '.join(sorted(row.columns))})"
        )
    query = {"stat": stat, "column": column, "mechanism": mechanism, "alpha": alpha}
    if quantile is not None:
        query["quantile"] = quantile
    # validate everything OpenDP will need before anything is recorded
    dp.check(_column_policy(row.columns[column]), _dp_query(query, eps, dlt), row.contributions)
    if preview:
        return _preview(row, column, query, eps, dlt, size, current)
    key = canonical_hash(
        {
            "artifact": found.id,
            "sha256": found.sha256,
            "query": query,
            "epsilon": fraction_text(eps),
            "delta": fraction_text(dlt),
            "contributions": row.contributions,
            "column": row.columns[column],
        }
    )
    screening, records = screen_requester(app, person.as_requester())  # before the write transaction
    # compared by meaning: the CSL writes "Presumption of denial." (policies/license_policy.py)
    denial = any(
        m["exact"] and normalize_license_policy(m.get("license_policy")) == PRESUMPTION_OF_DENIAL for m in screening
    )
    controlled = found.controlled  # None (not yet known) is treated as controlled by the policy
    # a stale list cannot clear the requester: the release is reviewed, like a potential match
    _, list_check = screening_warnings(app)
    decision = decide_release(policy, controlled, eps, denial, bool(screening) or list_check.stale)
    release_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        _, budget = budget_row(conn, ds.id, lock=True)
        again = conn.execute(
            select(t.releases)
            .where(
                t.releases.c.query_key == key, t.releases.c.status.in_(["released", "reserved", "review", "approved"])
            )
            .order_by(t.releases.c.created_at)
        ).first()
        if again is not None:
            return _answer(again, budget, repeat=True)
        status = {"approve": "approved", "review": "review", "deny": "denied"}[decision.outcome]
        doc = {
            "outcome": decision.outcome,
            "reasons": [decision.to_json()],
            "policy_version": _version(app),
            "screening": records,
            "controlled": controlled,
            "list_warnings": list(list_check.warnings),
        }
        conn.execute(
            insert(t.releases).values(
                id=release_id,
                dataset_id=ds.id,
                artifact_id=found.id,
                query_key=key,
                query=query,
                epsilon=fraction_text(eps),
                delta=fraction_text(dlt),
                requester=person.name,
                purpose=purpose,
                status=status,
                decision=doc,
                created_at=now,
                updated_at=now,
            )
        )
        log.append(
            NewEvent(
                "release.requested",
                app.user,
                [release_id, found.id, ds.id],
                {
                    "release": release_id,
                    "dataset": ds.name,
                    "artifact": found.id,
                    "query": query,
                    "epsilon": fraction_text(eps),
                    "delta": fraction_text(dlt),
                    "purpose": purpose,
                    "outcome": decision.outcome,
                    "rule": decision.rule,
                    "policy_version": doc["policy_version"],
                },
                now,
            )
        )
    if status != "approved":
        return _answer(_release_row(app, release_id), budget)
    return run_release(app, release_id)


def _column_policy(spec: dict[str, Any]) -> dp.ColumnPolicy:
    bounds = spec.get("bounds")
    categories = spec.get("categories")
    missing, impute = dp.parse_missing(spec.get("missing"), bounds, "privacy profile missing")
    return dp.ColumnPolicy(
        bounds=(bounds[0], bounds[1]) if bounds else None,
        categories=tuple(categories) if categories else None,
        missing=missing,
        impute=impute,
    )


def _preview(
    row: Any, column: str, query: dict[str, Any], eps: Fraction, dlt: Fraction, size: int | None, budget: Budget
) -> dict[str, Any]:
    """A what-if from public parameters: the profile, the query, the budget. Reads no data."""
    doc = dp.preview(_column_policy(row.columns[column]), _dp_query(query, eps, dlt), row.contributions, size)
    fits = eps <= budget.remaining_epsilon and (query["mechanism"] != "gaussian" or dlt <= budget.remaining_delta)
    return doc | {
        "status": "preview",
        "epsilon": show(eps),
        "delta": show(dlt if query["mechanism"] == "gaussian" else Fraction(0)),
        "epsilon_spent": 0.0,
        "fits_budget": fits,
        "budget": {
            "epsilon_remaining": show(budget.remaining_epsilon),
            "delta_remaining": show(budget.remaining_delta),
            "epsilon_total": show(budget.epsilon),
        },
    }


def _dp_query(query: dict[str, Any], eps: Fraction, dlt: Fraction) -> dp.Query:
    return dp.Query(
        stat=query["stat"],
        column=query["column"],
        epsilon=eps,
        delta=dlt,
        mechanism=query["mechanism"],
        quantile=query.get("quantile"),
        alpha=query["alpha"],
    )


def _version(app: App) -> str:
    return app.policies.get(JURISDICTION).version


def _release_row(app: App, release_id: str) -> Any:
    with app.engine.connect() as conn:
        row = conn.execute(select(t.releases).where(t.releases.c.id == resolve(conn, "release", release_id))).first()
    if row is None:
        raise NotFoundError(f"no release {release_id!r}")
    return row


def _answer(row: Any, budget: Budget, repeat: bool = False, charged: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "release_id": row.id,
        "status": row.status,
        "repeat": repeat,
        "budget_remaining": float(budget.remaining_epsilon),
        "budget": {
            "epsilon_remaining": show(budget.remaining_epsilon),
            "delta_remaining": show(budget.remaining_delta),
            "epsilon_total": show(budget.epsilon),
        },
        "decision": row.decision.get("reasons", []),
    }
    if row.result and "warnings" in row.result:
        doc["warnings"] = row.result["warnings"]
    if row.status == "released":
        doc |= {
            "value": row.result["value"],
            "accuracy": row.result["accuracy"],
            "epsilon_spent": 0.0 if repeat else float(Fraction(row.epsilon)),
            "delta_spent": 0.0 if repeat else float(Fraction(row.delta)),
            "mechanism": row.result["mechanism"],
            "classification": row.classification or "pending officer review",
        }
    else:
        doc["epsilon_spent"] = float(Fraction(row.epsilon)) if charged else 0.0
    if row.error:
        doc["error"] = row.error
    return doc


def run_release(app: App, release_id: str) -> dict[str, Any]:
    """Reserve, compute, commit an approved release (see the module docstring)."""
    row = _release_row(app, release_id)
    if row.status != "approved":
        raise InputError(f"release {release_id} is {row.status}, not approved: nothing to run")
    eps, dlt = Fraction(row.epsilon), Fraction(row.delta)
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        current = conn.execute(select(t.releases.c.status).where(t.releases.c.id == release_id)).scalar_one()
        if current != "approved":  # another worker took it meanwhile
            raise InputError(f"release {release_id} is {current}, not approved: nothing to run")
        _, budget = budget_row(conn, row.dataset_id, lock=True)
        check_budget(conn, row.dataset_id)  # the row must add up to the log, or nothing is reserved
        try:
            check_requester_cap(conn, privacy_policy(app), row.dataset_id, row.requester, eps)
            reserved = budget.reserve(eps, dlt)
        except BudgetExceededError as exc:
            refused = "refused"
            conn.execute(
                update(t.releases)
                .where(t.releases.c.id == release_id)
                .values(status=refused, error=exc.diagnostics(), updated_at=now)
            )
            log.append(
                NewEvent(
                    "release.refused",
                    app.user,
                    [release_id, row.artifact_id],
                    {
                        "release": release_id,
                        "reason": exc.diagnostics(),
                        "remaining_epsilon": fraction_text(budget.remaining_epsilon),
                    },
                    now,
                )
            )
            refused_row = conn.execute(select(t.releases).where(t.releases.c.id == release_id)).one()
            return _answer(refused_row, budget)
        store_budget(conn, row.dataset_id, reserved, app.user, now)
        write_ledger(conn, row.dataset_id, release_id, "reserve", eps, dlt, app.user, now)
        conn.execute(update(t.releases).where(t.releases.c.id == release_id).values(status="reserved", updated_at=now))
        log.append(
            NewEvent(
                "budget.reserved",
                app.user,
                [release_id, row.dataset_id],
                {
                    "release": release_id,
                    "dataset": row.dataset_id,
                    "epsilon": fraction_text(eps),
                    "delta": fraction_text(dlt),
                    "budget": budget_values(reserved),
                },
                now,
            )
        )
    try:
        result = _compute(app, row)
    except dp.DataDependentError as exc:  # the outcome may depend on the data: keep the charge
        _refund(app, row, exc, charge=True)
        with app.engine.connect() as conn:
            return _answer(_release_row(app, release_id), budget_row(conn, row.dataset_id)[1], charged=True)
    except Exception as exc:  # noqa: BLE001 - any failure before a value exists refunds, then re-raises
        _refund(app, row, exc)
        raise
    try:
        return _commit(app, row, result)
    except ArtifactDeletedError as exc:  # shredded while it was computed: nothing is published, all refunded
        _refund(app, row, exc)
        raise


def _compute(app: App, row: Any) -> dp.Release:
    with app.engine.connect() as conn:
        art = get_artifact(conn, row.artifact_id)
        profile, _ = budget_row(conn, row.dataset_id)
    key = readable_key(app, art.sha256)  # opens under this process's keys, even mid-rotation
    if key is None:
        raise InputError(f"artifact {art.id}: its data key was destroyed; it cannot be read")
    buffer = io.BytesIO()  # plaintext stays in memory: never a temp file
    app.blobs.decrypt_into(art.sha256, key, buffer.write)
    buffer.seek(0)
    kind = _TABULAR.get(art.media_type)
    column = row.query["column"]
    categorical = row.query["stat"] == "histogram"  # categories are compared as the text in the file
    try:  # cells are read as text and parsed by governance.dp, so no cell can fail the read
        if kind == "parquet":
            frame = pd.read_parquet(buffer)
            if categorical and column in frame.columns:
                frame[column] = frame[column].astype(str)
        else:
            frame = pd.read_csv(buffer, dtype=str, keep_default_na=False, na_filter=False)
    except Exception as exc:  # noqa: BLE001 - a malformed table: where it is malformed may depend on one row
        raise dp.DataDependentError(
            f"--column {column} of {art.path}: the table could not be read as {kind} ({type(exc).__name__}); "
            "no detail is given because it could depend on the data, and the budget stays charged"
        ) from None
    if column not in frame.columns:
        raise InputError(
            f"--column {column}: {art.path} has no such column (it has {', '.join(map(str, frame.columns))})"
        )
    values = frame[column].tolist()
    del frame, buffer
    spec = profile.columns[column]
    try:
        return dp.release(
            values,
            _column_policy(spec),
            _dp_query(row.query, Fraction(row.epsilon), Fraction(row.delta)),
            profile.contributions,
        )
    except InputError as exc:  # raised before any value is read: the column's policy or the query
        raise InputError(f"--column {column} of {art.path}: {exc.diagnostics()}") from None


def _refund(app: App, row: Any, exc: BaseException, charge: bool = False) -> None:
    """Settle a release that failed after reserving: refund it, or (``charge``, a failure that may
    depend on the data) spend it, so the failure discloses nothing for free (ADR 0020)."""
    now = datetime.now(UTC)
    message = exc.diagnostics() if isinstance(exc, QgovError) else f"{type(exc).__name__}: {exc}"
    eps, dlt = Fraction(row.epsilon), Fraction(row.delta)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        _, budget = budget_row(conn, row.dataset_id, lock=True)
        after = budget.commit(eps, dlt) if charge else budget.refund(eps, dlt)
        store_budget(conn, row.dataset_id, after, app.user, now)
        write_ledger(conn, row.dataset_id, row.id, "commit" if charge else "refund", eps, dlt, app.user, now, message)
        entry = "charged" if charge else "refunded"
        conn.execute(
            update(t.releases).where(t.releases.c.id == row.id).values(status="failed", error=message, updated_at=now)
        )
        log.append(
            NewEvent(
                "release.failed",
                app.user,
                [row.id, row.artifact_id, row.dataset_id],
                {
                    "release": row.id,
                    "error": message,
                    f"{entry}_epsilon": fraction_text(eps),
                    f"{entry}_delta": fraction_text(dlt),
                    "budget": budget_values(after),
                },
                now,
            )
        )


def _commit(app: App, row: Any, result: dp.Release) -> dict[str, Any]:
    eps, dlt = Fraction(row.epsilon), Fraction(row.delta)
    if result.epsilon > eps or result.delta > dlt:  # never charge less than OpenDP says was spent
        raise PolicyError(f"release {row.id}: OpenDP reports ε {result.epsilon} > the ε {eps} reserved")
    now = datetime.now(UTC)
    stored = {
        "value": result.value,
        "accuracy": result.accuracy,
        "mechanism": result.mechanism,
        "scale": result.scale,
        "parameters": result.parameters,
        "warnings": list(result.warnings),
        "opendp": {
            "version": result.opendp_version,
            "features": list(result.features),
            "charged_epsilon": fraction_text(result.epsilon),
            "charged_delta": fraction_text(result.delta),
        },
    }
    activity = str(uuid.uuid5(uuid.UUID(row.id), "dp-release"))
    name = f"DP {row.query['stat']} of {row.query['column']}"
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        require_not_deleted(conn, row.artifact_id)  # under the lock a deletion takes (ADR 0011)
        _, budget = budget_row(conn, row.dataset_id, lock=True)
        charged = budget.commit(eps, dlt)
        store_budget(conn, row.dataset_id, charged, app.user, now)
        write_ledger(conn, row.dataset_id, row.id, "commit", eps, dlt, app.user, now)
        conn.execute(
            update(t.releases).where(t.releases.c.id == row.id).values(status="released", result=stored, updated_at=now)
        )
        person = NodeSpec.person(log.actor_ref(row.requester))
        log.append(
            NewEvent(
                "release.published",
                app.user,
                [row.id, row.artifact_id, row.dataset_id],
                {
                    "release": row.id,
                    "artifact": row.artifact_id,
                    "query": row.query,
                    "value": result.value,
                    "epsilon": fraction_text(eps),
                    "delta": fraction_text(dlt),
                    "mechanism": result.mechanism,
                    "accuracy": result.accuracy,
                    "opendp": stored["opendp"],
                    "policy_version": row.decision.get("policy_version"),
                    "remaining_epsilon": fraction_text(charged.remaining_epsilon),
                    "budget": budget_values(charged),
                },
                now,
                nodes=[
                    NodeSpec.entity(
                        row.id,
                        "release",
                        f"{name} (ε {show(eps)})",
                        stat=row.query["stat"],
                        column=row.query["column"],
                        epsilon=fraction_text(eps),
                        mechanism=result.mechanism,
                    ),
                    NodeSpec.activity(activity, "release", name),
                    person,
                ],
                edges=[
                    EdgeSpec(row.id, activity, "wasGeneratedBy", name),
                    EdgeSpec(activity, row.artifact_id, "used", name),
                    EdgeSpec(row.id, row.artifact_id, "wasDerivedFrom", name),
                    EdgeSpec(activity, person.id, "wasAssociatedWith", name),
                ],
            )
        )
        final = conn.execute(select(t.releases).where(t.releases.c.id == row.id)).one()
    return _answer(final, charged)


# -- officers and admins --------------------------------------------------------------
def decide_review(app: App, release_id: str, approve: bool, reason: str) -> dict[str, Any]:
    """An officer approves (then it runs) or denies a release that policy sent to review."""
    if not reason.strip():
        raise InputError("--reason: a decision on a release needs a reason (it is part of the record)")
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        authorize(conn, app.user, "release.decide")
        release_id = resolve(conn, "release", release_id)
        row = conn.execute(select(t.releases).where(t.releases.c.id == release_id)).first()
        if row is None:
            raise NotFoundError(f"no release {release_id!r}")
        if row.status != "review":
            raise InputError(f"release {release_id} is not waiting for review")
        if row.requester == app.user:
            raise AccessDenied("an officer may not decide their own release request")
        status = "approved" if approve else "denied"
        conn.execute(
            update(t.releases)
            .where(t.releases.c.id == release_id)
            .values(status=status, reviewed_by=app.user, updated_at=now)
        )
        log.append(
            NewEvent(
                f"release.{status}",
                app.user,
                [release_id, row.artifact_id],
                {"release": release_id, "reason": reason},
                now,
            )
        )
    if approve:
        return run_release(app, release_id)
    with app.engine.connect() as conn:
        return _answer(_release_row(app, release_id), budget_row(conn, row.dataset_id)[1])


def review_classification(app: App, release_id: str, classification: str, reason: str) -> dict[str, Any]:
    """An officer classifies a released statistic before it is published."""
    if not reason.strip() or not classification.strip():
        raise InputError("--as and --reason: a release's classification needs a value and a reason")
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "release.decide")
        release_id = resolve(conn, "release", release_id)
        check_classification(app.policies.get(JURISDICTION), classification.strip())  # EAR-99 is a typo
        row = conn.execute(select(t.releases).where(t.releases.c.id == release_id)).first()
        if row is None:
            raise NotFoundError(f"no release {release_id!r}")
        if row.status != "released":
            raise InputError(f"release {release_id} has not been released")
        conn.execute(
            update(t.releases)
            .where(t.releases.c.id == release_id)
            .values(classification=classification.strip(), reviewed_by=app.user, updated_at=now)
        )
        EventLog(conn).append(
            NewEvent(
                "release.reviewed",
                app.user,
                [release_id],
                {"release": release_id, "classification": classification.strip(), "reason": reason},
                now,
            )
        )
    return release_summary(_release_row(app, release_id))


def reconcile(app: App, dataset: str, release_id: str, action: str, reason: str) -> dict[str, Any]:
    """An admin settles a reservation left by a process that died: refund it or charge it."""
    if action not in ("refund", "charge"):
        raise InputError(f"--action: expected refund or charge, got {action!r}")
    if not reason.strip():
        raise InputError("--reason: a reconciliation needs a reason (it is part of the record)")
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        authorize(conn, app.user, "budget.reconcile")
        ds = get_dataset(conn, dataset)
        _, budget = budget_row(conn, ds.id, lock=True)
        release_id = resolve(conn, "release", release_id)
        row = conn.execute(
            select(t.releases).where(t.releases.c.id == release_id, t.releases.c.dataset_id == ds.id)
        ).first()
        if row is None or row.status != "reserved":
            raise InputError(f"release {release_id} holds no reservation in {dataset}")
        eps, dlt = Fraction(row.epsilon), Fraction(row.delta)
        after = budget.refund(eps, dlt) if action == "refund" else budget.commit(eps, dlt)
        store_budget(conn, ds.id, after, app.user, now)
        write_ledger(
            conn, ds.id, release_id, "refund" if action == "refund" else "commit", eps, dlt, app.user, now, reason
        )
        conn.execute(
            update(t.releases)
            .where(t.releases.c.id == release_id)
            .values(status="failed", error=f"reconciled ({action}): {reason}", updated_at=now)
        )
        log.append(
            NewEvent(
                "budget.reconciled",
                app.user,
                [release_id, ds.id],
                {
                    "release": release_id,
                    "action": action,
                    "reason": reason,
                    "epsilon": fraction_text(eps),
                    "budget": budget_values(after),
                },
                now,
            )
        )
    return budget_show(app, dataset)


def queued(app: App, status: str = "approved") -> list[str]:
    with app.engine.connect() as conn:
        rows = conn.execute(
            select(t.releases.c.id).where(t.releases.c.status == status).order_by(t.releases.c.created_at)
        ).all()
    return [r.id for r in rows]


__all__ = [
    "decide_review",
    "queued",
    "reconcile",
    "request_release",
    "review_classification",
    "run_release",
]
