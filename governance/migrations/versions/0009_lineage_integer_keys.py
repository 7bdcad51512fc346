"""lineage: integer node keys; edges refer to nodes by key (ADR 0012)

``lineage_nodes`` gains an integer primary key ``pk`` (its public ``id`` stays, unique) and
``lineage_edges`` names its two ends by that key (``child_pk``, ``parent_pk``, foreign
keys) instead of by 36-character strings, which halves the time of a recursive trace.

Existing stores are copied across in one transaction: nodes in the order they were
recorded, edges in their original order (their ``id`` order, which traces use to break
ties, is kept). An edge whose end was never registered as a node (possible before this
revision) gets a node of kind ``unknown`` named by its id: exactly how traces showed it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NODE_COLUMNS = "kind, type, name, attributes, created_at, invalidated_at, event_seq"
_EDGE_COLUMNS = "relation, activity, valid_from, valid_to, event_seq"


def _keep_copies() -> None:
    """Plain copies of both tables (no constraints or indexes, so their names are free)."""
    op.execute("CREATE TABLE lineage_nodes_copy AS SELECT * FROM lineage_nodes")
    op.execute("CREATE TABLE lineage_edges_copy AS SELECT * FROM lineage_edges")
    op.drop_table("lineage_edges")
    op.drop_table("lineage_nodes")


def _drop_copies() -> None:
    op.drop_table("lineage_edges_copy")
    op.drop_table("lineage_nodes_copy")


def _node_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("invalidated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
    ]


def _edge_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("relation", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=256), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
    ]


def _copy_edges(new: str, old: str, nodes: str) -> None:
    """Copy the kept edges, in their original order, into the new table whose ends are
    ``child_<new>``/``parent_<new>``, looking each end up in ``nodes`` by its old ``<old>``."""
    columns = ", ".join(f"e.{c}" for c in _EDGE_COLUMNS.split(", "))
    op.execute(
        f"""
        INSERT INTO lineage_edges (child_{new}, parent_{new}, {_EDGE_COLUMNS})
        SELECT c.{new}, p.{new}, {columns}
        FROM lineage_edges_copy e
        JOIN {nodes} c ON c.{old} = e.child_{old}
        JOIN {nodes} p ON p.{old} = e.parent_{old}
        ORDER BY e.id
        """
    )


def _edge_indexes(end: str) -> None:
    """The two covering indexes of the trace, on ends named ``child_<end>``/``parent_<end>``."""
    child, parent = f"child_{end}", f"parent_{end}"
    op.create_index("ix_lineage_edges_up", "lineage_edges", [child, parent, "relation", "valid_from", "valid_to", "id"])
    op.create_index(
        "ix_lineage_edges_down", "lineage_edges", [parent, child, "relation", "valid_from", "valid_to", "id"]
    )


def upgrade() -> None:
    _keep_copies()
    op.create_table(
        "lineage_nodes",
        sa.Column("pk", KEY, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        *_node_columns(),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_lineage_nodes")),
        sa.UniqueConstraint("id", name=op.f("uq_lineage_nodes_id")),
    )
    op.create_table(
        "lineage_edges",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("child_pk", KEY, nullable=False),
        sa.Column("parent_pk", KEY, nullable=False),
        *_edge_columns(),
        sa.ForeignKeyConstraint(
            ["child_pk"], ["lineage_nodes.pk"], name=op.f("fk_lineage_edges_child_pk_lineage_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["parent_pk"], ["lineage_nodes.pk"], name=op.f("fk_lineage_edges_parent_pk_lineage_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_edges")),
    )
    op.execute(
        f"INSERT INTO lineage_nodes (id, {_NODE_COLUMNS}) "
        f"SELECT id, {_NODE_COLUMNS} FROM lineage_nodes_copy ORDER BY event_seq, id"
    )
    # ends no node describes: registered as "unknown", as traces showed them
    empty = "CAST('{}' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'{}'"
    op.execute(
        f"""
        INSERT INTO lineage_nodes (id, {_NODE_COLUMNS})
        SELECT end_id, 'unknown', 'unknown', end_id, {empty}, MIN(valid_from), NULL, MIN(event_seq)
        FROM (
            SELECT child_id AS end_id, valid_from, event_seq FROM lineage_edges_copy
            UNION ALL
            SELECT parent_id AS end_id, valid_from, event_seq FROM lineage_edges_copy
        ) ends
        WHERE end_id NOT IN (SELECT id FROM lineage_nodes)
        GROUP BY end_id
        ORDER BY MIN(event_seq), end_id
        """
    )
    _copy_edges(new="pk", old="id", nodes="lineage_nodes")
    _drop_copies()
    _edge_indexes("pk")


def downgrade() -> None:
    _keep_copies()
    op.create_table(
        "lineage_nodes",
        sa.Column("id", sa.String(length=64), nullable=False),
        *_node_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_nodes")),
    )
    op.create_table(
        "lineage_edges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("child_id", sa.String(length=64), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=False),
        *_edge_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_edges")),
    )
    op.execute(
        f"INSERT INTO lineage_nodes (id, {_NODE_COLUMNS}) "
        f"SELECT id, {_NODE_COLUMNS} FROM lineage_nodes_copy WHERE kind <> 'unknown' ORDER BY pk"
    )
    _copy_edges(new="id", old="pk", nodes="lineage_nodes_copy")
    _drop_copies()
    _edge_indexes("id")
