"""Controlled content for a client over the network: verified whole, logged, then streamed.

The same guarantees as ``qgov fetch`` (docs/adr/0004): nothing is sent before the whole
object has been authenticated, and the access is an ``artifact.fetched`` event committed
before the first byte leaves, after the grant and the artifact's deletion state were read
again in that transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from governance.app import App
from governance.catalog import Artifact, open_for_reading, record_read


@dataclass(frozen=True)
class Content:
    artifact: Artifact
    chunks: Iterator[bytes]


def open_content(app: App, artifact: str, channel: str = "api", client: str | None = None) -> Content:
    """Check the grant, authenticate the whole object, record the access, then stream it.

    ``client`` is the caller's network address; the event keeps only a keyed reference to its
    network (``catalog.network_location``), which anomaly detection compares."""
    found, wrapped = open_for_reading(app, artifact)
    app.blobs.verify(found.sha256, wrapped)
    record_read(app, found, channel, client)
    return Content(found, app.blobs.iter_plaintext(found.sha256, wrapped))


__all__ = ["Content", "open_content"]
