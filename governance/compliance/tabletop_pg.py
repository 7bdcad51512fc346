"""The scratch database of a tabletop exercise on a PostgreSQL store (ADR 0040).

``CREATE DATABASE qgov_tabletop_<id> TEMPLATE <store>`` copies the store file by file in one
step, but PostgreSQL allows it only while nobody else is connected to the store. When that
fails (a server or another command is connected), an empty scratch database gets the schema
from the migrations and every table's rows are copied through the client, in dependency order
and batches, from one repeatable-read, read-only snapshot of the store: the store itself is
only read. Nothing removes the scratch database automatically: the exercise prints the
``DROP DATABASE`` that does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import Engine, MetaData, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from qgov.errors import ConfigError

BATCH = 1000
PREFIX = "qgov_tabletop_"


def scratch_url(database_url: str, name: str, hide_password: bool = False) -> str:
    """The store's URL with the database ``name`` (same server, same credentials)."""
    return make_url(database_url).set(database=name).render_as_string(hide_password=hide_password)


def _admin(database_url: str) -> Engine:
    """A connection to the server that is not to the store (the template must have no other
    sessions): the ``postgres`` maintenance database when it exists, else the store itself."""
    for database in ("postgres", make_url(database_url).database):
        engine = create_engine(
            scratch_url(database_url, str(database)), poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect():
                return engine
        except DBAPIError:
            engine.dispose()
    raise ConfigError(f"QGOV_DATABASE_URL: cannot connect to the server of {scratch_url(database_url, '', True)}")


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__


def drop_statement(name: str) -> str:
    return f'DROP DATABASE "{name}";'


def copy_database(store: Engine, database_url: str, migrated_target: Callable[[str], Engine]) -> tuple[str, str]:
    """Copy the store into a new scratch database; returns its name and how it was copied
    (``template`` or ``rows``). ``migrated_target(url)`` returns an engine on the scratch
    database with the schema migrated (the application's own migration path)."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    source = str(make_url(database_url).database)
    store.dispose()  # this process's pooled sessions would block the template
    admin = _admin(database_url)
    quote = admin.dialect.identifier_preparer.quote
    try:
        with admin.connect() as conn:
            try:
                conn.execute(text(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(source)}"))
                return name, "template"
            except DBAPIError:
                pass  # other sessions on the store: copy the rows instead
            try:
                conn.execute(text(f"CREATE DATABASE {quote(name)}"))
            except DBAPIError as exc:
                raise ConfigError(
                    f"QGOV_DATABASE_URL: cannot create the scratch database {name} ({_first_line(exc)}); "
                    "a tabletop exercise on PostgreSQL needs the CREATEDB privilege"
                ) from None
        try:
            target = migrated_target(scratch_url(database_url, name))
            try:
                _copy_rows(store, target)
            finally:
                target.dispose()
        except BaseException:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {quote(name)}"))
            raise
        return name, "rows"
    finally:
        admin.dispose()


def _copy_rows(store: Engine, target: Engine) -> None:
    meta = MetaData()
    with target.connect() as conn:
        meta.reflect(conn)
    tables = [table for table in meta.sorted_tables if table.name != "alembic_version"]
    quote = target.dialect.identifier_preparer.quote
    with store.connect() as src, target.begin() as dst:
        src.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        for table in reversed(tables):  # rows the migrations seed (the chain head) come from the store
            dst.execute(table.delete())
        for table in tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = src.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
            for batch in rows.mappings().partitions(BATCH):
                dst.execute(table.insert(), [dict(row) for row in batch])
            for column in table.primary_key.columns:
                sequence = dst.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
                ).scalar()
                if sequence:
                    dst.execute(
                        text(
                            f"SELECT setval(:s, (SELECT COALESCE(MAX({quote(column.name)}), 0) + 1 "
                            f"FROM {quote(table.name)}), false)"
                        ),
                        {"s": sequence},
                    )
        src.rollback()


__all__ = ["PREFIX", "copy_database", "drop_statement", "scratch_url"]
