"""Who acts in embedded mode: the operating-system account, mapped to a registered person.

Without a server, qgov runs as the person whose operating-system account (the effective
uid's) an admin mapped to them; ``qgov init`` maps the account that creates the store to its
first admin. No environment variable names the acting person (``QGOV_USER`` is gone: the
log recorded whatever name was typed). Acting as someone else is for admins only, explicit
(``qgov --as NAME``) and recorded: every event written while acting as another carries
``acting_admin``, the admin's actor reference, next to the actor it was done for.
"""

from __future__ import annotations

import os
import pwd
from datetime import UTC, datetime

from sqlalchemy import Connection, event, func, insert, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import roles_of
from governance.db import snapshot, transaction
from governance.identity import AuthenticationError, principal_for
from governance.requests import Person
from lineage import EventLog, NewEvent
from lineage.store import ACTING_ADMIN
from policies.access import check_request
from qgov.errors import InputError


def os_account() -> str:
    """The effective uid's account name (not ``$USER`` or ``$LOGNAME``, which anyone can set)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def person_of_account(conn: Connection, account: str) -> str | None:
    return conn.execute(select(t.os_accounts.c.person).where(t.os_accounts.c.account == account)).scalar_one_or_none()


def resolve_embedded_user(app: App) -> str:
    """The person this process acts for: the OS account's, or with ``--as`` (admins) another."""
    account = os_account()
    target = app.settings.acting_as
    with snapshot(app.engine) as conn:
        me = person_of_account(conn, account)
        if me is None:
            raise AuthenticationError(
                f"operating-system account {account!r} is not mapped to a registered person: an admin maps it "
                f"with 'qgov person add NAME --os-account {account} …' (on a new store, run 'qgov init')"
            )
        if target is None or target == me:
            return me
        authorize(conn, me, "person.act_as")
        principal_for(conn, target, f"as:{me}")  # refuses a person nobody registered
    # Every transaction of this process records the admin next to the person acted for.
    event.listen(app.engine, "begin", lambda c: c.info.__setitem__(ACTING_ADMIN, me))
    return target


def check_account_name(account: str) -> None:
    if not account.strip() or any(c.isspace() for c in account) or len(account) > 256:
        raise InputError(f"--os-account: expected an account name without spaces, got {account!r}")


def map_account(conn: Connection, person: str, account: str, by: str) -> None:
    """Map ``account`` to ``person`` (replacing the person's earlier account); the caller has
    authorized it. An account mapped to someone else is refused."""
    holder = person_of_account(conn, account)
    if holder is not None and holder != person:
        raise InputError(f"--os-account {account!r}: already mapped to {holder!r}")
    if holder == person:
        return
    conn.execute(t.os_accounts.delete().where(t.os_accounts.c.person == person))
    conn.execute(
        insert(t.os_accounts).values(account=account, person=person, mapped_at=datetime.now(UTC), mapped_by=by)
    )


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


__all__ = [
    "check_account_name",
    "map_account",
    "os_account",
    "person_of_account",
    "register_initial_admin",
    "resolve_embedded_user",
]
