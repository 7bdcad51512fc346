"""Controlled content for a client over the network: verified whole, logged, then streamed.

The same guarantees as ``qgov fetch`` (docs/adr/0004): nothing is sent before the whole
object has been authenticated, and the access is an ``artifact.fetched`` event committed
before the first byte leaves, after the grant and the artifact's deletion state were read
again in that transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, select

from governance import tables as t
from governance.app import App
from governance.catalog import Artifact, _authority, get_artifact
from governance.db import transaction
from governance.keys import readable_key
from lineage import EventLog, NewEvent
from qgov.errors import InputError, NotFoundError


@dataclass(frozen=True)
class Content:
    artifact: Artifact
    chunks: Iterator[bytes]


def _readable(conn: Connection, app: App, artifact: str) -> Artifact:
    """The artifact, if it is not deleted and the acting person holds a valid grant for it."""
    found = get_artifact(conn, artifact)
    row = conn.execute(select(t.artifacts).where(t.artifacts.c.id == found.id)).one()
    if row.deleted_at is not None:
        from governance.deletion import deleted_message

        raise NotFoundError(deleted_message(row))
    _authority(conn, app.user, found.id)
    return found


def open_content(app: App, artifact: str, channel: str = "api") -> Content:
    """Check the grant, authenticate the whole object, record the access, then stream it."""
    with app.engine.connect() as conn:
        found = _readable(conn, app, artifact)
    wrapped = readable_key(app, found.sha256)  # re-read so that a rotation's re-wrap opens here
    if wrapped is None:
        raise InputError(f"artifact {artifact}: its data key was destroyed; it cannot be read")
    app.blobs.verify(found.sha256, wrapped)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()  # the lock a deletion takes: a deletion is either before this or after it
        found = _readable(conn, app, artifact)
        authority = _authority(conn, app.user, found.id)
        log.append(
            NewEvent(
                "artifact.fetched",
                app.user,
                subjects=[found.id, found.sha256],
                payload={
                    "artifact": found.id,
                    "sha256": found.sha256,
                    "size": found.size,
                    "authority": authority,
                    "channel": channel,
                },
            )
        )
    return Content(found, app.blobs.iter_plaintext(found.sha256, wrapped))


__all__ = ["Content", "open_content"]
