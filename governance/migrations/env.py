"""Alembic environment: runs on the engine qgov hands over (never reads alembic.ini)."""

from __future__ import annotations

from alembic import context

import governance.tables  # noqa: F401 - registers the catalog tables on the shared metadata
from lineage.schema import metadata

engine = context.config.attributes.get("engine")


def run() -> None:
    if engine is None:  # offline SQL generation: `alembic upgrade --sql`
        context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        context.run_migrations()


run()
