"""Access workflow: people, requests, the officer queue, grants, revocation and expiry.

A request is decided at once by the access policy (``policies.access``) over each
requested artifact's effective classification; the strictest outcome wins. ``approve``
grants at once; ``review`` and ``license_required`` wait in the officer queue (oldest first,
against the review SLA in policy); ``deny`` closes the request. An officer approves (with a
licence or licence-exception reference when a licence is required) or denies with a
reason, never for their own request. Every step is a provenance event.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import tables as t
from governance.access import screen_requester
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_artifact, require_not_deleted
from governance.classification import JURISDICTION
from governance.consistency import check_classification
from governance.db import transaction
from governance.email_address import check_email
from governance.ids import resolve
from governance.info_requests import review_waited_hours
from governance.jurisdictions import as_one_decision, decide_artifact
from governance.mailer import notifies
from governance.os_account import check_account_name, map_account
from governance.screening import screening_warnings
from governance.screening_clearance import clear_for_review, without_cleared
from governance.vendors import (
    any_not_known_uncontrolled,
    require_cleared_vendor,
    require_request_vendor_cleared,
    vendor_jurisdiction,
)
from lineage import EventLog, NewEvent
from policies.access import SEVERITY, check_request
from qgov.canonical import as_utc
from qgov.errors import AccessDenied, InputError, NotFoundError

OFFICER = "export_control_officer"


@dataclass(frozen=True)
class Person:
    name: str
    citizenships: list[str]
    us_permanent_resident: bool
    permanent_residence: str | None
    location: str
    affiliation: str
    training_completed_on: str | None

    def as_requester(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "citizenships": self.citizenships,
            "us_permanent_resident": self.us_permanent_resident,
            "permanent_residence": self.permanent_residence,
            "location": self.location,
            "affiliation": self.affiliation,
            "training_completed_on": self.training_completed_on,
        }


def register_person(
    app: App, person: Person, roles: list[str], os_account: str | None = None, email: str | None = None
) -> Person:
    """An admin registers a person with the facts access rules need, their roles, and (when given)
    the operating-system account they run qgov as and the address decision e-mails go to."""

    if os_account is not None:
        check_account_name(os_account)
    check_request({"requester": person.as_requester(), "item": {}, "destination": "US"}, "person")
    for role in roles:
        if role not in t.ROLES:
            raise InputError(f"--role {role!r}: expected one of {', '.join(t.ROLES)}")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "person.register")
        exists = conn.execute(select(t.people.c.name).where(t.people.c.name == person.name)).first()
        values = person.as_requester() | {"created_at": datetime.now(UTC)}
        if email is not None:
            values["email"] = check_email(email)
        if exists:
            conn.execute(update(t.people).where(t.people.c.name == person.name).values(**values))
        else:
            conn.execute(insert(t.people).values(**values))
        now = datetime.now(UTC)
        for role in roles:
            if not conn.execute(
                select(t.role_assignments.c.role).where(
                    t.role_assignments.c.person == person.name, t.role_assignments.c.role == role
                )
            ).first():
                conn.execute(
                    insert(t.role_assignments).values(
                        person=person.name, role=role, granted_at=now, granted_by=app.user
                    )
                )
        log = EventLog(conn)
        payload = {"person_ref": log.actor_ref(person.name), "roles": roles, "updated": bool(exists)}
        if os_account is not None:
            map_account(conn, person.name, os_account, app.user)
            payload["os_account_ref"] = log.personal_ref(person.name, os_account)
        if email is not None:
            payload["email_ref"] = log.personal_ref(person.name, email)
        log.append(NewEvent("person.registered", app.user, [], payload))
    return person


def get_person(conn: Connection, name: str) -> Person:
    row = conn.execute(select(t.people).where(t.people.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"person {name!r} is not registered; an admin registers them with 'qgov person add'")
    return Person(
        row.name,
        list(row.citizenships),
        bool(row.us_permanent_resident),
        row.permanent_residence,
        row.location,
        row.affiliation,
        row.training_completed_on,
    )


@notifies
def request_access(
    app: App,
    artifacts: list[str],
    purpose: str,
    days: int,
    destination: str,
    at: datetime | None = None,
    vendor: str | None = None,
) -> dict[str, Any]:
    """The acting person asks for artifacts; decided at once, granted, queued or denied.

    ``vendor`` names a registered third-party service the data goes to (a remote quantum
    processor, say): its jurisdiction is the destination, and controlled data is refused
    unless the vendor is cleared (ADR 0035)."""
    if not artifacts:
        raise InputError("--artifact: name at least one artifact")
    if days <= 0 or days > 3650:
        raise InputError(f"--days: expected 1 to 3650, got {days}")
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        person = get_person(conn, app.user)
        if vendor is not None:
            destination = vendor_jurisdiction(conn, vendor)
    bundle = app.policies.get(JURISDICTION)
    request = check_request(
        {"requester": person.as_requester(), "item": {}, "purpose": purpose, "destination": destination}
    )
    # Screen before the write transaction: the list in force is read on its own connection.
    screening, records = screen_requester(app, request["requester"], at)
    _, list_check = screening_warnings(app, at)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()  # ordered against deletions: nothing is granted that is already shredded
        # the screened name and affiliation are personal: the record keeps a reference to them
        records = [
            {k: v for k, v in r.items() if k != "query"} | {"query_ref": log.personal_ref(person.name, r["query"])}
            for r in records
        ]
        screening = without_cleared(conn, person.name, screening, records)  # an officer's findings hold
        per_artifact = []
        for artifact in artifacts:
            art = get_artifact(conn, artifact)
            check_classification(conn, art.id)  # the decision reads it: it must be what the log says
            require_not_deleted(conn, art.id)
            # every jurisdiction the artifact's dataset names decides; the strictest wins (ADR 0024)
            per_artifact.append((art, decide_artifact(app, conn, request, art, screening, at, list_check)))
        artifacts = [art.id for art, _ in per_artifact]  # whole ids, whatever prefixes were given
        if vendor is not None and any_not_known_uncontrolled(conn, artifacts):
            require_cleared_vendor(conn, vendor, at)
        outcome = max((c.outcome for _, c in per_artifact), key=SEVERITY.__getitem__)
        decision = {
            "outcome": outcome,
            "decision_id": str(uuid.uuid4()),
            "policy_version": bundle.version,
            "artifacts": [
                {"artifact": a.id, "classification": d.classification}
                | {"outcome": d.outcome, "reasons": c.reasons(), "input_hash": d.input_hash}
                | {"deciding": list(c.deciding), "jurisdictions": c.to_json()["jurisdictions"]}
                for a, c in per_artifact
                for d in [as_one_decision(c)]
            ],
            "screening": records,
        } | ({"vendor": vendor} if vendor is not None else {})
        request_id = str(uuid.uuid4())
        status = {"approve": "granted", "deny": "denied"}.get(outcome, "queued")
        conn.execute(
            insert(t.access_requests).values(
                id=request_id,
                requester=person.name,
                artifacts=artifacts,
                purpose=purpose,
                destination=destination,
                duration_days=days,
                status=status,
                outcome=outcome,
                decision=decision,
                created_at=at,
                decided_at=at if status != "queued" else None,
                decided_by="policy" if status != "queued" else None,
            )
        )
        log.append_many(
            [
                NewEvent(
                    "access.requested",
                    app.user,
                    [request_id, *artifacts],
                    {
                        "request": request_id,
                        "artifacts": artifacts,
                        "purpose": purpose,
                        "destination": destination,
                        "days": days,
                    }
                    | ({"vendor": vendor} if vendor is not None else {}),
                    at,
                ),
                NewEvent("access.screened", app.user, [request_id], {"request": request_id, "screening": records}, at),
                NewEvent(
                    "access.decided",
                    app.user,
                    [request_id, *artifacts],
                    {
                        "request": request_id,
                        "outcome": outcome,
                        "decision_id": decision["decision_id"],
                        "policy_version": bundle.version,
                        "input_hashes": [a["input_hash"] for a in decision["artifacts"]],
                        "by": "policy",
                    },
                    at,
                ),
            ]
        )
        grant = (
            _grant(conn, log, request_id, person.name, artifacts, purpose, None, days, at, app.user)
            if status == "granted"
            else None
        )
    return {"request": request_id, "status": status, "outcome": outcome, "grant": grant, "decision": decision}


def _grant(
    conn: Connection,
    log: EventLog,
    request_id: str,
    person: str,
    artifacts: list[str],
    purpose: str,
    licence: str | None,
    days: int,
    at: datetime,
    actor: str,
) -> str:
    grant_id = str(uuid.uuid4())
    expires = at + timedelta(days=days)
    conn.execute(
        insert(t.grants).values(
            id=grant_id,
            request_id=request_id,
            person=person,
            artifacts=artifacts,
            purpose=purpose,
            licence=licence,
            granted_at=at,
            expires_at=expires,
        )
    )
    log.append(
        NewEvent(
            "access.granted",
            actor,
            [grant_id, request_id, *artifacts],
            {
                "grant": grant_id,
                "request": request_id,
                "artifacts": artifacts,
                "purpose": purpose,
                "licence": licence,
                "expires_at": expires.isoformat(),
                "person_ref": log.actor_ref(person),  # whose grant (the name stays outside the hash)
            },
            at,
        )
    )
    return grant_id


def queue(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Queued requests, oldest first, with the time each has waited against the SLA."""
    at = at or datetime.now(UTC)
    sla = app.policies.get(JURISDICTION).require_access().review_sla_hours
    with app.engine.connect() as conn:
        authorize(conn, app.user, "access.queue")
        rows = conn.execute(
            select(t.access_requests)
            .where(t.access_requests.c.status == "queued")
            .order_by(t.access_requests.c.created_at)
        ).all()
        facts = {
            p.name: p
            for p in conn.execute(select(t.people).where(t.people.c.name.in_(sorted({r.requester for r in rows}))))
        }
    out = []
    for r in rows:
        waited = review_waited_hours(r, at)  # time spent waiting for the requester's answer left out
        reasons = [
            reason["text"] for a in r.decision["artifacts"] for reason in a["reasons"] if reason["outcome"] == r.outcome
        ]
        out.append(
            {
                "request": r.id,
                "requester": r.requester,
                "outcome": r.outcome,
                "artifacts": r.artifacts,
                "purpose": r.purpose,
                "destination": r.destination,
                "days": r.duration_days,
                "waited_hours": waited,
                "sla_hours": sla,
                "overdue": waited > sla,
                "reasons": sorted(set(reasons)),
                "question": r.info_question,
                "answer": r.info_answer,
            }
            | _review_context(r, facts.get(r.requester))
        )
    return out


def _review_context(r: Any, person: Any) -> dict[str, Any]:
    """What an officer weighs: the requester's facts, each item's classification and the
    screening matches (listed entry, score, list version) recorded with the decision."""
    return {
        "citizenships": list(person.citizenships) if person is not None else [],
        "permanent_residence": person.permanent_residence if person is not None else None,
        "location": person.location if person is not None else None,
        "classifications": [
            {"artifact": a["artifact"], "classification": a["classification"]} for a in r.decision["artifacts"]
        ],
        "screening": [
            {"field": rec.get("field"), "list_version": rec.get("list_version")} | m
            for rec in r.decision.get("screening", [])
            for m in rec.get("matches", [])
        ],
    }


def _queued(conn: Connection, request_id: str) -> Any:
    row = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
    if row is None:
        raise NotFoundError(f"request {request_id!r} does not exist")
    if row.status != "queued":
        raise InputError(f"request {request_id} is already {row.status}")
    return row


def _decide_once(conn: Connection, request_id: str, **values: Any) -> None:
    """Move a queued request to its decision, or refuse if another decision got there first.

    The status is part of the statement's condition: of two officers deciding at the same
    moment, the second one's update waits for the first's row lock (PostgreSQL) or its write
    lock (SQLite), then matches nothing, so one request never ends both denied and granted."""
    done = conn.execute(
        update(t.access_requests)
        .where(t.access_requests.c.id == request_id, t.access_requests.c.status == "queued")
        .values(**values)
    )
    if done.rowcount != 1:
        status = conn.execute(
            select(t.access_requests.c.status).where(t.access_requests.c.id == request_id)
        ).scalar_one()
        raise InputError(f"request {request_id} is already {status}: another decision was recorded first")


@notifies
def approve(app: App, request_id: str, licence: str | None, at: datetime | None = None) -> str:
    """An officer approves a queued request; a licence reference is required when one is."""
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.decide")
        request_id = resolve(conn, "request", request_id)
        row = _queued(conn, request_id)
        if row.requester == app.user:
            raise AccessDenied(f"user {app.user!r} may not approve their own request {request_id}")
        log = EventLog(conn)
        # a re-screening review: the suspended grant comes back as it was, never re-issued
        reinstated = clear_for_review(conn, log, row, app.user, at)
        if reinstated is not None:
            return reinstated
        if row.outcome == "license_required" and not (licence and licence.strip()):
            raise InputError(
                "--licence: this request needs a licence or licence-exception reference (e.g. a BIS licence number)"
            )
        require_request_vendor_cleared(conn, request_id, list(row.artifacts), at)  # lapsed while queued
        _decide_once(conn, request_id, status="granted", decided_at=at, decided_by=app.user, licence=licence)
        log.append(NewEvent("access.approved", app.user, [request_id], {"request": request_id, "licence": licence}, at))
        return _grant(
            conn,
            log,
            request_id,
            row.requester,
            list(row.artifacts),
            row.purpose,
            licence,
            row.duration_days,
            at,
            app.user,
        )


@notifies
def deny(app: App, request_id: str, reason: str, at: datetime | None = None) -> None:
    if not reason.strip():
        raise InputError("--reason: a denial needs a reason (the requester sees it)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.decide")
        request_id = resolve(conn, "request", request_id)
        row = _queued(conn, request_id)
        if row.requester == app.user:
            raise AccessDenied(f"user {app.user!r} may not decide their own request {request_id}")
        _decide_once(conn, request_id, status="denied", decided_at=at, decided_by=app.user, reason=reason)
        EventLog(conn).append(
            NewEvent("access.denied", app.user, [request_id], {"request": request_id, "reason": reason}, at)
        )


@notifies
def revoke(app: App, grant_id: str, reason: str, at: datetime | None = None) -> None:
    if not reason.strip():
        raise InputError("--reason: a revocation needs a reason")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "access.revoke")
        grant_id = resolve(conn, "grant", grant_id)
        row = conn.execute(select(t.grants).where(t.grants.c.id == grant_id)).first()
        if row is None:
            raise NotFoundError(f"grant {grant_id!r} does not exist")
        if row.revoked_at is not None:
            return
        conn.execute(update(t.grants).where(t.grants.c.id == grant_id).values(revoked_at=at))
        EventLog(conn).append(
            NewEvent("access.revoked", app.user, [grant_id, *row.artifacts], {"grant": grant_id, "reason": reason}, at)
        )


@notifies
def sweep_expired(app: App, at: datetime | None = None) -> list[str]:
    """Record the expiry of every grant that has run out (idempotent)."""
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        rows = [
            r
            for r in conn.execute(select(t.grants).where(t.grants.c.expired_recorded.is_(False)))
            if as_utc(r.expires_at) <= at
        ]
        for r in rows:
            conn.execute(update(t.grants).where(t.grants.c.id == r.id).values(expired_recorded=True))
        EventLog(conn).append_many(
            [
                NewEvent(
                    "access.expired",
                    "qgov",
                    [r.id, *r.artifacts],
                    {"grant": r.id, "expired_at": as_utc(r.expires_at).isoformat()},
                    at,
                )
                for r in rows
            ]
        )
    return [r.id for r in rows]


def training_date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(f"--training-completed-on: expected a date YYYY-MM-DD, got {text!r}") from None


__all__ = [
    "Person",
    "approve",
    "deny",
    "get_person",
    "queue",
    "register_person",
    "request_access",
    "revoke",
    "sweep_expired",
]
