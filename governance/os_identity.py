"""Who acts in embedded mode: the operating-system account, mapped to a registered person.

Without a server, qgov runs as the person whose operating-system account (the effective
uid's) an admin mapped to them; ``qgov init`` maps the account that creates the store to its
first admin. No environment variable names the acting person (``QGOV_USER`` is gone: the
log recorded whatever name was typed). Acting as someone else is for admins only, explicit
(``qgov --as NAME``) and recorded: every event written while acting as another carries
``acting_admin``, the admin's actor reference, next to the actor it was done for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, func, insert, select

from governance import tables as t
from governance.app import App
from governance.capabilities import roles_of
from governance.db import transaction
from governance.os_account import map_account
from governance.requests import Person
from lineage import EventLog, NewEvent
from policies.access import check_request
from qgov.errors import InputError


def register_initial_admin(app: App, name: str, account: str, facts: Person | None = None) -> bool:
    """``qgov init`` on a store with no role yet: ``name`` becomes its admin, mapped to the OS
    account that ran init (with the facts access rules need, when given). False otherwise."""
    if not name.strip():
        raise InputError("--name: expected a person's name")
    if facts is not None:
        check_request({"requester": facts.as_requester(), "item": {}, "destination": "US"}, "person")
    with transaction(app.engine) as conn:
        if conn.execute(select(func.count()).select_from(t.role_assignments)).scalar_one():
            return _map_upgraded_admin(conn, name, account)
        now = datetime.now(UTC)
        conn.execute(insert(t.role_assignments).values(person=name, role="admin", granted_at=now, granted_by=name))
        map_account(conn, name, account, name)
        if facts is not None:
            conn.execute(insert(t.people).values(**facts.as_requester(), created_at=now))
        log = EventLog(conn)
        log.append(NewEvent("role.granted", name, [], {"role": "admin", "reason": "initial admin at qgov init"}))
        log.append(
            NewEvent(
                "person.registered",
                name,
                [],
                {
                    "person_ref": log.actor_ref(name),
                    "roles": ["admin"],
                    "facts": facts is not None,
                    "os_account_ref": log.personal_ref(name, account),
                },
            )
        )
    return True


def _map_upgraded_admin(conn: Connection, name: str, account: str) -> bool:
    """A store from before accounts were mapped (no mapping at all): the account that holds its
    files maps itself to an existing admin, once. After that only admins map accounts."""
    if conn.execute(select(func.count()).select_from(t.os_accounts)).scalar_one():
        return False
    if "admin" not in roles_of(conn, name):
        raise InputError(f"--name {name!r}: this store has admins already and {name!r} is not one of them")
    map_account(conn, name, account, name)
    log = EventLog(conn)
    log.append(
        NewEvent(
            "person.registered",
            name,
            [],
            {"person_ref": log.actor_ref(name), "os_account_ref": log.personal_ref(name, account), "upgrade": True},
        )
    )
    return True


__all__ = ["register_initial_admin"]
