"""Short ids: any unique prefix of an id stands for it, as in git (docs/adr/0025).

Tables and messages print ids shortened; every service that takes an id resolves it here,
so the command line, the API and the Python client accept the same prefixes:

- the whole id always wins (an id that is also a prefix of another stays itself);
- a prefix of at least :data:`MIN_PREFIX` characters that matches exactly one id is that id;
- a prefix that matches several is :class:`~qgov.errors.AmbiguousIdError` (exit 2) naming
  them (at most :data:`MAX_CANDIDATES`);
- anything else is returned unchanged, and the caller's own NotFoundError names it (exit 4).

Only opaque ids (UUIDs, token ids, event ids, lineage node ids) resolve this way: never a
content digest, which a person may not be allowed to learn by guessing its first characters
(governance.disclosure).
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import Connection, select

from governance import tables as t
from lineage import schema
from qgov.errors import AmbiguousIdError

MIN_PREFIX = 4
MAX_CANDIDATES = 10

Kind = Literal[
    "artifact",
    "dataset",
    "request",
    "grant",
    "release",
    "hold",
    "token",
    "certificate",
    "event",
    "node",
    "alert",
    "incident",
    "appeal",
    "violation",
]

_COLUMNS = {
    "artifact": t.artifacts.c.id,
    "dataset": t.datasets.c.id,
    "request": t.access_requests.c.id,
    "grant": t.grants.c.id,
    "release": t.releases.c.id,
    "hold": t.legal_holds.c.id,
    "token": t.api_tokens.c.id,
    "certificate": t.deletion_certificates.c.id,
    "event": schema.events.c.event_id,
    "node": schema.nodes.c.id,
}
# compliance tables, registered on the same metadata by governance.compliance_tables
_BY_TABLE = {"alert": "anomaly_alerts", "incident": "incidents", "appeal": "appeals", "violation": "violations"}
_NOUNS = {"node": "lineage node", "hold": "legal hold", "certificate": "deletion certificate", "request": "request"}


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def resolve(conn: Connection, kind: Kind, value: str) -> str:
    """The whole id ``value`` stands for (see the module docstring for the rules)."""
    column = _COLUMNS[kind] if kind in _COLUMNS else t.metadata.tables[_BY_TABLE[kind]].c.id
    if conn.execute(select(column).where(column == value)).first() is not None:
        return value
    prefix = value.strip()
    if len(prefix) < MIN_PREFIX:
        return value
    # LIKE, not a range: PostgreSQL's linguistic collations order '-' and ':' unlike bytes.
    # SQLite's LIKE ignores ASCII case, so the prefix is checked again exactly.
    rows = conn.execute(
        select(column)
        .where(column.like(_like_escape(prefix) + "%", escape="\\"))
        .order_by(column)
        .limit(MAX_CANDIDATES + 1)
    ).scalars()
    matches = [str(r) for r in rows if str(r).startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        shown = ", ".join(matches[:MAX_CANDIDATES]) + (", …" if len(matches) > MAX_CANDIDATES else "")
        raise AmbiguousIdError(
            f"{_NOUNS.get(kind, kind)} id {prefix!r} is ambiguous: it begins {shown}; give more characters",
            matches[:MAX_CANDIDATES],
        )
    return value


def resolve_all(conn: Connection, kind: Kind, values: list[str] | tuple[str, ...]) -> list[str]:
    return [resolve(conn, kind, v) for v in values]


__all__ = ["MIN_PREFIX", "resolve", "resolve_all"]
