"""Personal-data erasure: a person's name and facts leave the store; the hash chain stays valid.

Events never hold names — only a salted reference to the person (``lineage.store``) — so
erasing the name beside the log (``actors.name``) changes no hashed byte: ``audit verify``
still passes and every event by that person now reads "[erased]". In the catalog the person
becomes a pseudonym (``erased-<ref>``) wherever a name stood, and their registered facts
(citizenships, residence, location, affiliation, training) are deleted. A legal hold on the
person blocks erasure. Signed deletion certificates are left as issued: they are records of an
official act, and altering them would break their signatures.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, delete, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.db import transaction
from lineage import EventLog, NewEvent, schema
from qgov.errors import AccessDenied, InputError, NotFoundError

# Every catalog column that may hold a person's name.
NAME_COLUMNS: tuple[Column[Any], ...] = (
    t.datasets.c.owner,
    t.artifacts.c.deleted_by,
    t.classifications.c.decided_by,
    t.role_assignments.c.person,
    t.role_assignments.c.granted_by,
    t.access_requests.c.requester,
    t.access_requests.c.decided_by,
    t.grants.c.person,
    t.screening_lists.c.loaded_by,
    t.person_screenings.c.person,
    t.screening_clearances.c.person,
    t.screening_clearances.c.cleared_by,
    t.privacy_budgets.c.updated_by,
    t.privacy_ledger.c.by,
    t.releases.c.requester,
    t.releases.c.reviewed_by,
    t.legal_holds.c.placed_by,
    t.legal_holds.c.released_by,
    t.legal_holds.c.target,
)


def erase_person(app: App, name: str, reason: str) -> dict[str, Any]:
    """An admin erases a person's personal data (e.g. on an erasure request)."""
    if not reason.strip():
        raise InputError("--reason: an erasure needs a reason (it is part of the record)")
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        authorize(conn, app.user, "person.erase")
        if name == app.user:
            raise AccessDenied("an admin may not erase themselves")
        actor = conn.execute(select(schema.actors).where(schema.actors.c.name == name)).first()
        person = conn.execute(select(t.people).where(t.people.c.name == name)).first()
        if actor is None and person is None:
            raise NotFoundError(f"no person {name!r} in this store")
        held = conn.execute(
            select(t.legal_holds.c.id).where(
                t.legal_holds.c.scope == "person",
                t.legal_holds.c.target == name,
                t.legal_holds.c.released_at.is_(None),
            )
        ).first()
        if held is not None:
            raise AccessDenied(f"{name!r} is under legal hold {held.id}: their data cannot be erased while it holds")
        ref = actor.ref if actor is not None else log.actor_ref(name)
        pseudonym = f"erased-{ref[:12]}"
        if person is not None:  # a stand-in row first: requests reference people by name
            conn.execute(
                insert(t.people).values(
                    name=pseudonym,
                    citizenships=[],
                    us_permanent_resident=False,
                    permanent_residence=None,
                    location="",
                    affiliation="[erased]",
                    training_completed_on=None,
                    created_at=person.created_at,
                )
            )
        changed = 0
        for column in NAME_COLUMNS:
            changed += conn.execute(
                update(column.table).where(column == name).values({column.name: pseudonym})
            ).rowcount
        if person is not None:
            conn.execute(delete(t.people).where(t.people.c.name == name))
        # a new secret salt: references to their screened name and affiliation become unlinkable
        conn.execute(
            update(schema.actors)
            .where(schema.actors.c.ref == ref)
            .values(name=None, erased_at=now, salt=secrets.token_hex(16))
        )
        log.append(NewEvent("person.erased", app.user, [ref], {"person_ref": ref, "reason": reason}, now))
    return {"person_ref": ref, "pseudonym": pseudonym, "rows_pseudonymised": changed, "erased_at": now.isoformat()}


__all__ = ["NAME_COLUMNS", "erase_person"]
