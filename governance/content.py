"""Controlled content for a client over the network: verified whole, logged, then streamed.

The same guarantees as ``qgov fetch`` (docs/adr/0004): nothing is sent before the whole
object has been authenticated, and the access is an ``artifact.fetched`` event committed
before the first byte leaves, after the grant and the artifact's deletion state were read
again in that transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from governance import tables as t
from governance.app import App
from governance.catalog import Artifact, get_artifact, require_not_deleted
from governance.db import transaction
from governance.keys import readable_key
from lineage import EventLog, NewEvent
from qgov.errors import InputError


@dataclass(frozen=True)
class Content:
    artifact: Artifact
    chunks: Iterator[bytes]


def _authority(conn: Connection, person: str, artifact: str) -> str:
    """Decryption needs a valid grant (unexpired, unrevoked, unsuspended) covering the artifact."""
    from governance.live_grants import valid_grant

    now = datetime.now(UTC)
    grant = valid_grant(conn, person, artifact, now)
    if grant is None:
        from governance.grant_status import why_no_grant

        raise why_no_grant(conn, person, artifact, now)  # pending, suspended, revoked, expired, …
    from governance.consistency import check_grant

    check_grant(conn, grant)  # a grant row that does not match its events authorises nothing
    from governance.vendors import require_request_vendor_cleared

    require_request_vendor_cleared(conn, grant.request_id, [artifact], now)  # ADR 0035
    return f"grant:{grant.id}"


def open_for_reading(app: App, artifact: str) -> tuple[Artifact, bytes]:
    """The artifact and its wrapped data key, if it exists, is not deleted and the acting
    person holds a valid grant for it (checked again by :func:`record_read` under the lock)."""
    with app.engine.connect() as conn:
        found = get_artifact(conn, artifact)
        require_not_deleted(conn, found.id)
        _authority(conn, app.user, found.id)
    wrapped = readable_key(app, found.sha256)  # a key rotation may have re-wrapped it since
    if wrapped is None:
        with app.engine.connect() as conn:
            shredded = conn.execute(select(t.blobs.c.shredded_at).where(t.blobs.c.object_id == found.sha256)).scalar()
        raise InputError(f"artifact {artifact}: its data key was destroyed on {shredded}; it cannot be read")
    return found, wrapped


def network_location(log: EventLog, person: str, client: str) -> str | None:
    """A keyed reference to the network ``client`` is on (IPv4 /24, IPv6 /48), for anomaly
    detection's "first access from a new location": equal for one person's fetches from one
    network, unlinkable to the address once the person is erased (``EventLog.personal_ref``)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return None
    network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False)
    return "net/" + log.personal_ref(person, f"network:{network}")[:16]


def record_read(app: App, found: Artifact, channel: str | None = None, client: str | None = None) -> None:
    """Log a release of plaintext before its first byte leaves, under the log's head lock that a
    deletion also takes (ADR 0011, ADR 0016): a deletion that committed meanwhile stops it, and
    one that commits later follows ``artifact.fetched`` in the log. A grant revoked meanwhile
    stops it too."""
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        require_not_deleted(conn, found.id)
        authority = _authority(conn, app.user, found.id)
        payload = {"artifact": found.id, "sha256": found.sha256, "size": found.size, "authority": authority}
        if channel is not None:
            payload["channel"] = channel
        if client is not None and (location := network_location(log, app.user, client)) is not None:
            payload["location"] = location
        log.append(NewEvent("artifact.fetched", app.user, subjects=[found.id, found.sha256], payload=payload))


def fetch(app: App, artifact: str, destination: Path) -> Artifact:
    """Decrypt an artifact to ``destination`` under a valid grant, and log the access first:
    the whole object is verified, then the read is recorded (:func:`record_read`), then the
    plaintext is written into a new 0600 file that is renamed into place."""
    found, wrapped = open_for_reading(app, artifact)
    app.blobs.fetch_to_path(found.sha256, wrapped, destination, before_write=lambda: record_read(app, found))
    return found


def open_content(app: App, artifact: str, channel: str = "api", client: str | None = None) -> Content:
    """Check the grant, authenticate the whole object, record the access, then stream it.

    ``client`` is the caller's network address; the event keeps only a keyed reference to its
    network (:func:`network_location`), which anomaly detection compares."""
    found, wrapped = open_for_reading(app, artifact)
    app.blobs.verify(found.sha256, wrapped)
    record_read(app, found, channel, client)
    return Content(found, app.blobs.iter_plaintext(found.sha256, wrapped))


__all__ = ["Content", "fetch", "network_location", "open_content", "open_for_reading", "record_read"]
