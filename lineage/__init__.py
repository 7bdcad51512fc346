"""The provenance store: a hash-chained, append-only event log and lineage edges.

A pure core: it imports nothing from ``governance`` or ``flows``; its I/O seam is the
database connection it is handed.
"""

from lineage import schema
from lineage.chain import GENESIS_HASH, ChainReport, EventBody, StoredEvent, event_hash, verify_chain
from lineage.store import EdgeSpec, EventLog, NewEvent, NodeSpec

__all__ = [
    "GENESIS_HASH",
    "ChainReport",
    "EdgeSpec",
    "EventBody",
    "EventLog",
    "NewEvent",
    "NodeSpec",
    "StoredEvent",
    "event_hash",
    "schema",
    "verify_chain",
]
