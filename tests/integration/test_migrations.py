"""The Alembic history creates exactly the schema the code describes, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import governance.tables  # noqa: F401 - registers the catalog tables
from governance.db import current_revision, head_revision, migrate
from lineage.schema import metadata


def test_migrations_match_the_models(app) -> None:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_schema_is_migrated_on_first_use_and_migrate_is_idempotent(app) -> None:  # type: ignore[no-untyped-def]
    assert current_revision(app.engine) == head_revision()
    assert migrate(app.engine) is False


def test_integer_node_keys_migration_keeps_every_edge_and_node(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0008 -> 0009 -> 0008: edges keep their ends, times and order; an end no node described
    becomes an 'unknown' node (as traces showed it) and goes again on the way down."""
    from alembic import command
    from sqlalchemy import text

    from governance.config import load_settings
    from governance.db import _alembic_config, make_engine
    from lineage.trace import trace

    engine = make_engine(load_settings({"QGOV_HOME": str(tmp_path / "home"), "QGOV_DATABASE_URL": db_url}))
    cfg = _alembic_config(engine)
    command.upgrade(cfg, "0008")
    t1, t2 = "2026-03-01 12:00:00.000000", "2026-03-02 12:00:00.000000"
    nodes = [("raw", "entity", "artifact", "raw.h5", 1), ("act", "activity", "derivation", "fit", 2)]
    nodes += [("fit", "entity", "artifact", "fit.json", 2)]
    old_edges = [
        ("fit", "act", "wasGeneratedBy", "fit", t1, None, 2),
        ("act", "raw", "used", "fit", t1, t2, 2),
        ("act", "ghost-person", "wasAssociatedWith", "fit", t2, None, 3),  # no node row
        ("fit", "raw", "wasDerivedFrom", "fit", t2, None, 3),
    ]
    with engine.begin() as conn:
        for node in nodes:
            conn.execute(
                text(
                    "INSERT INTO lineage_nodes (id, kind, type, name, attributes, created_at, event_seq) "
                    "VALUES (:i, :k, :t, :n, '{}', :c, :s)"
                ),
                {"i": node[0], "k": node[1], "t": node[2], "n": node[3], "c": t1, "s": node[4]},
            )
        for c, p, r, a, f, to, s in old_edges:
            conn.execute(
                text(
                    "INSERT INTO lineage_edges (child_id, parent_id, relation, activity, valid_from, valid_to, event_seq) "
                    "VALUES (:c, :p, :r, :a, :f, :to, :s)"
                ),
                {"c": c, "p": p, "r": r, "a": a, "f": f, "to": to, "s": s},
            )

    def edges_read(columns: str, source: str) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {columns} FROM {source} ORDER BY e.id")).all()
        return [tuple(str(v)[:19] if v is not None and i >= 4 and i < 6 else v for i, v in enumerate(r)) for r in rows]

    columns = "c.id, p.id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq"
    before = edges_read(
        "e.child_id, e.parent_id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq", "lineage_edges e"
    )
    command.upgrade(cfg, "head")
    joined = "lineage_edges e JOIN lineage_nodes c ON c.pk = e.child_pk JOIN lineage_nodes p ON p.pk = e.parent_pk"
    assert edges_read(columns, joined) == before
    with engine.connect() as conn:
        ghost = conn.execute(text("SELECT kind, type, name FROM lineage_nodes WHERE id = 'ghost-person'")).one()
        assert tuple(ghost) == ("unknown", "unknown", "ghost-person")
        found = trace(conn, "fit", as_of=datetime(2026, 3, 3, tzinfo=UTC))
    assert {(e.child, e.parent, e.relation) for e in found.edges} == {
        ("fit", "act", "wasGeneratedBy"),
        ("act", "ghost-person", "wasAssociatedWith"),
        ("fit", "raw", "wasDerivedFrom"),
    }
    command.downgrade(cfg, "0008")
    assert (
        edges_read(
            "e.child_id, e.parent_id, e.relation, e.activity, e.valid_from, e.valid_to, e.event_seq", "lineage_edges e"
        )
        == before
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lineage_nodes")).scalar_one() == 3
    engine.dispose()
