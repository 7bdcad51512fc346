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
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

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

# Lineage edges between entities (PROV: child wasDerivedFrom / used parent), each with
# the time it became true and, once invalidated, the time it stopped.
edges = Table(
    "lineage_edges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("child_id", String(64), nullable=False),
    Column("parent_id", String(64), nullable=False),
    Column("relation", String(32), nullable=False),
    Column("activity", String(256), nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True), nullable=True),
    Column("event_seq", BigInteger, nullable=False),
    Index("ix_lineage_edges_child", "child_id", "parent_id"),
    Index("ix_lineage_edges_parent", "parent_id", "child_id"),
)

__all__ = ["actors", "chain_head", "edges", "event_subjects", "events", "metadata"]
