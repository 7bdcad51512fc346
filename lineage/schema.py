"""Tables of the provenance store (SQLAlchemy Core, shared by SQLite and PostgreSQL).

The application's migrations (``governance/migrations``) create these together with
the catalog tables; this module only describes them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.sql import Subquery

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The append-only log. ``seq`` is assigned by the appender under the head lock, so it
# has no gaps; the hash covers every column but ``hash`` itself.
events = Table(
    "events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(64), nullable=False, index=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor_ref", String(64), nullable=False),
    Column("subjects", JSON, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # how the hash is computed: 1 = qgov's canonical JSON, 2 = RFC 8785 (lineage.chain)
    Column("hash_scheme", SmallInteger, nullable=False, server_default="1"),
)

# Index of which events concern which object (derived from events.subjects; not hashed).
event_subjects = Table(
    "event_subjects",
    metadata,
    Column("subject_id", String(64), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
)

# The tip of the log, kept apart so that deleting the newest events is detectable.
chain_head = Table(
    "chain_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Personal data referenced from events by a salted hash (erasable without breaking the chain).
actors = Table(
    "actors",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("name", String(256), nullable=True, unique=True),
    Column("salt", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
)

# PROV nodes: entities (artifacts, dataset versions, releases), activities (ingest, DVC
# stage, derivation, release, deletion) and agents (people by their salted actor ref,
# flows). A node is never removed: a deleted artifact keeps its row with
# ``invalidated_at`` set, so a trace "as of" an earlier time still shows it as it was.
# ``id`` is the public identifier (an artifact id, an activity's UUID, a salted actor ref);
# ``pk`` is the integer the edges refer to, so the recursive trace compares and joins
# integers (half the time of 36-character ids, ADR 0012).
KEY = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid
nodes = Table(
    "lineage_nodes",
    metadata,
    Column("pk", KEY, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("type", String(32), nullable=False),
    Column("name", String(1024), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("invalidated_at", DateTime(timezone=True), nullable=True),
    Column("event_seq", BigInteger, nullable=False),
)

# Lineage edges (PROV, subject -> object): child ``used`` parent (activity -> entity),
# child ``wasGeneratedBy`` parent (entity -> activity), child ``wasDerivedFrom`` parent
# (entity -> entity), child ``wasAssociatedWith`` parent (activity -> agent); each with
# the time it became true and, once invalidated, the time it stopped. Both ends are
# registered nodes (``pk``). The two covering indexes serve the recursive trace in either
# direction without touching the table.
edges = Table(
    "lineage_edges",
    metadata,
    Column("id", KEY, primary_key=True, autoincrement=True),
    Column("child_pk", KEY, ForeignKey("lineage_nodes.pk"), nullable=False),
    Column("parent_pk", KEY, ForeignKey("lineage_nodes.pk"), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("activity", String(256), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=True),
    Column("event_seq", BigInteger, nullable=False),
    Index("ix_lineage_edges_up", "child_pk", "parent_pk", "relation", "valid_from", "valid_to", "id"),
    Index("ix_lineage_edges_down", "parent_pk", "child_pk", "relation", "valid_from", "valid_to", "id"),
)


def edges_by_id() -> Subquery:
    """``lineage_edges`` with both ends named by node id (``child_id``, ``parent_id``), for
    readers off the hot path (the trace itself joins on the integer keys)."""
    child, parent = nodes.alias("child_node"), nodes.alias("parent_node")
    return (
        select(edges, child.c.id.label("child_id"), parent.c.id.label("parent_id"))
        .join(child, child.c.pk == edges.c.child_pk)
        .join(parent, parent.c.pk == edges.c.parent_pk)
        .subquery("edges_by_id")
    )


# Signed checkpoints of the log (C2SP tlog-checkpoint notes over the RFC 6962 Merkle tree
# whose leaves are the event hashes, in sequence order). ``size`` is the number of events.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", String(64), nullable=False),
    Column("note", Text, nullable=False),
    Column("key_name", String(256), nullable=False),
    Column("key_hash", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Hashes of complete, aligned Merkle subtrees of 2**level leaves (level >= 8), kept so that
# roots and proofs need O(log n) rows instead of every event hash. A cache: ``audit verify``
# recomputes everything from the events, and proofs are checked against signed checkpoints.
merkle_tiles = Table(
    "merkle_tiles",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
)

__all__ = [
    "actors",
    "chain_head",
    "checkpoints",
    "edges",
    "edges_by_id",
    "event_subjects",
    "events",
    "merkle_tiles",
    "metadata",
    "nodes",
]
