"""End-use monitoring: holders of controlled data attest their use; overdue grants are suspended.

A grant that covers a controlled artifact (or one whose classification is unknown — deny when
unsure) needs an attestation every ``every_days`` (``policies/compliance.yaml``, project rule):
the holder confirms that their use matches the approved purpose. The sweep records a notice
when an attestation falls due and, ``grace_days`` later without one, suspends the grant. The
periodic audit draws a reproducible sample of live controlled grants for an officer to review.
Every step is an event.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.compliance.anomaly import compliance_policy
from governance.db import transaction
from lineage import EventLog, NewEvent
from qgov.canonical import as_utc, iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError, PolicyError


def _controlled_live_grants(conn: Connection, at: datetime) -> list[Any]:
    g = t.grants
    rows = conn.execute(select(g).where(g.c.revoked_at.is_(None), g.c.suspended_at.is_(None))).all()
    live = [r for r in rows if as_utc(r.expires_at) > at]
    ids = sorted({a for r in live for a in r.artifacts})
    controlled = {
        r.id
        for r in conn.execute(select(t.artifacts.c.id, t.artifacts.c.controlled).where(t.artifacts.c.id.in_(ids)))
        if r.controlled is not False
    }
    return [r for r in live if controlled & set(r.artifacts)]


def _last_attested(conn: Connection, grant: Any) -> datetime:
    a = ct.attestations
    last = conn.execute(select(func.max(a.c.attested_at)).where(a.c.grant_id == grant.id)).scalar()
    return as_utc(last) if last is not None else as_utc(grant.granted_at)


def attest(app: App, grant_id: str, statement: str, at: datetime | None = None) -> dict[str, Any]:
    """The grant's holder confirms that their use matches the approved purpose."""
    if not statement.strip():
        raise InputError("--statement: say how the data is being used (it is part of the record)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.request")
        grant = conn.execute(select(t.grants).where(t.grants.c.id == grant_id)).first()
        if grant is None:
            raise NotFoundError(f"grant {grant_id!r} does not exist")
        if grant.person != app.user:
            raise AccessDenied(f"user {app.user!r} may not attest grant {grant_id}: only its holder may")
        attestation = str(uuid.uuid4())
        conn.execute(
            insert(ct.attestations).values(
                id=attestation, grant_id=grant_id, person=app.user, statement=statement, attested_at=at
            )
        )
        EventLog(conn).append(
            NewEvent(
                "enduse.attested",
                app.user,
                [attestation, grant_id],
                {"attestation": attestation, "grant": grant_id, "purpose": grant.purpose, "statement": statement},
                at,
            )
        )
    return {"attestation": attestation, "grant": grant_id, "attested_at": iso_utc(at)}


def end_use_sweep(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Notices for attestations falling due; suspension of grants past the grace period."""
    at = as_utc(at) if at else datetime.now(UTC)
    policy = compliance_policy(app).end_use
    if policy is None:
        raise PolicyError("policies/compliance.yaml: no end_use section")
    every, grace = timedelta(days=policy.every_days), timedelta(days=policy.grace_days)
    out: list[dict[str, Any]] = []
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "compliance.sweep")
        log = EventLog(conn)
        n = ct.end_use_notices
        for grant in _controlled_live_grants(conn, at):
            since = _last_attested(conn, grant)
            due = since + every
            if at < due:
                continue
            notice = "suspended" if at >= due + grace else "due"
            if conn.execute(
                select(n.c.grant_id).where(n.c.grant_id == grant.id, n.c.period_start == since, n.c.notice == notice)
            ).first():
                continue
            conn.execute(insert(n).values(grant_id=grant.id, period_start=since, notice=notice, at=at))
            doc = {"grant": grant.id, "due_at": iso_utc(due), "person_ref": log.actor_ref(grant.person)}
            if notice == "suspended":
                conn.execute(update(t.grants).where(t.grants.c.id == grant.id).values(suspended_at=at))
                reason = f"end-use attestation overdue since {due.date()}"
                log.append(
                    NewEvent("access.suspended", "qgov", [grant.id, *grant.artifacts], doc | {"reason": reason}, at)
                )
            else:
                log.append(NewEvent("enduse.due", "qgov", [grant.id], doc, at))
            out.append({"grant": grant.id, "person": grant.person, "notice": notice, "due_at": iso_utc(due)})
    return out


def audit_sample(app: App, fraction: float, seed: str, at: datetime | None = None) -> list[dict[str, Any]]:
    """A reproducible sample of live controlled grants for an officer's review (the periodic audit)."""
    if not 0 < fraction <= 1:
        raise InputError(f"--fraction: expected a share above 0 and at most 1, got {fraction}")
    if not seed.strip():
        raise InputError("--seed: name the audit (e.g. 2026-Q4) so the sample can be drawn again")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.queue")  # officers: the sample is for their review
        grants = _controlled_live_grants(conn, at)
        # a grant is in the sample when its keyed hash falls below the fraction: anyone with the
        # seed draws the same sample, and nobody can steer a grant out of it after the fact
        picked = [
            g
            for g in grants
            if int(hashlib.sha256(f"{seed}:{g.id}".encode()).hexdigest()[:8], 16) < fraction * 0x100000000
        ]
        docs = [
            {"grant": g.id, "person": g.person, "purpose": g.purpose, "last_attested": iso_utc(_last_attested(conn, g))}
            for g in picked
        ]
        EventLog(conn).append(
            NewEvent(
                "enduse.sampled",
                app.user,
                [g.id for g in picked],
                {"seed": seed, "fraction": fraction, "population": len(grants), "grants": [g.id for g in picked]},
                at,
            )
        )
        return docs


__all__ = ["attest", "audit_sample", "end_use_sweep"]
