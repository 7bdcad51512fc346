"""The operating-system account this process runs as, and the person it is mapped to.

Below every service: :class:`governance.app.App` resolves its acting person here when no
authenticated person was given (embedded mode). The policy of who acts is in
:mod:`governance.os_identity`; this module imports only the tables and the capability table.
"""

from __future__ import annotations

import os
import pwd
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, event, insert, select

from governance import tables as t
from governance.capabilities import authorize, roles_of
from governance.db import snapshot
from lineage.store import ACTING_ADMIN
from qgov.errors import AccessDenied, InputError


def os_account() -> str:
    """The effective uid's account name (not ``$USER`` or ``$LOGNAME``, which anyone can set)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def person_of_account(conn: Connection, account: str) -> str | None:
    return conn.execute(select(t.os_accounts.c.person).where(t.os_accounts.c.account == account)).scalar_one_or_none()


def resolve_embedded_user(engine: Engine, acting_as: str | None) -> str:
    """The person this process acts for: the OS account's, or with ``--as`` (admins) another."""
    account = os_account()
    target = acting_as
    with snapshot(engine) as conn:
        me = person_of_account(conn, account)
        if me is None:
            raise AccessDenied(
                f"operating-system account {account!r} is not mapped to a registered person: an admin maps it "
                f"with 'qgov person add NAME --os-account {account} …' (on a new store, run 'qgov init')"
            )
        if target is None or target == me:
            return me
        authorize(conn, me, "person.act_as")
        registered = (
            roles_of(conn, target) or conn.execute(select(t.people.c.name).where(t.people.c.name == target)).first()
        )
        if not registered:
            raise AccessDenied(f"--as: user {target!r} is not a registered person; an admin registers people")
    # Every transaction of this process records the admin next to the person acted for.
    event.listen(engine, "begin", lambda c: c.info.__setitem__(ACTING_ADMIN, me))
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


__all__ = ["check_account_name", "map_account", "os_account", "person_of_account", "resolve_embedded_user"]
