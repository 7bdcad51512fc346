"""The grants a person can use now (unexpired, unrevoked, unsuspended), read without the
request machinery: fetch and the disclosure of digests need them, and both run in commands
that must start fast (``dataset list`` imports this, not :mod:`governance.requests`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from governance import tables as t
from qgov.canonical import as_utc


def valid_grant(conn: Connection, person: str, artifact: str, at: datetime) -> Any | None:
    """A grant that lets ``person`` decrypt ``artifact`` now: unexpired, unrevoked, unsuspended."""
    for row in _live_grants(conn, person, at):
        if artifact in row.artifacts:
            return row
    return None


def granted_artifacts(conn: Connection, person: str, at: datetime) -> set[str]:
    """Every artifact a valid grant of ``person`` covers at ``at``."""
    return {a for row in _live_grants(conn, person, at) for a in row.artifacts}


def _live_grants(conn: Connection, person: str, at: datetime) -> list[Any]:
    rows = conn.execute(
        select(t.grants).where(
            t.grants.c.person == person, t.grants.c.revoked_at.is_(None), t.grants.c.suspended_at.is_(None)
        )
    )
    return [row for row in rows if as_utc(row.expires_at) > at]


__all__ = ["granted_artifacts", "valid_grant"]
