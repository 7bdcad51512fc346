"""The Alembic history creates exactly the schema the code describes, on both databases."""

from __future__ import annotations

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
