"""Database engine and migrations for SQLite (embedded) and PostgreSQL (at scale).

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged event must survive a
power cut) and every transaction is ``BEGIN IMMEDIATE``: writers queue for the lock up
front instead of failing half-way with "database is locked" when a read turns into a
write. The exception is ``snapshot()``, for reads only: a deferred transaction on one WAL
snapshot, which neither waits for a writer nor holds one up (a trace or an audit report
answers while an ingest is committing). Migrations are applied by ``qgov init`` and
automatically on first use.
"""

from __future__ import annotations

import json
import os
import re
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from governance.config import Settings
from qgov.errors import ConfigError
from qgov.private_files import FILE_MODE, make_private_dir

if TYPE_CHECKING:  # alembic costs ~0.3 s to import: only when a migration must run
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"


def _json_text(value: Any) -> str:
    """How JSON columns are stored: sorted keys, no whitespace, UTF-8 as is. For an event with
    no nulls this is exactly the canonical encoding, which lets ``audit verify`` hash the
    stored text without decoding it (``lineage.verify``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        make_private_dir(settings.home)
        _create_private_sqlite_file(settings.database_url)
        engine = create_engine(
            settings.database_url,
            poolclass=NullPool,
            connect_args={"timeout": 60, "isolation_level": None},
            json_serializer=_json_text,
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # JIT off: qgov's statements are short index walks. PostgreSQL compiles a statement when
    # its estimated cost is high, which for a lineage trace on a store without statistics yet
    # (just loaded) cost 10 ms of compilation for a 1 ms query.
    return create_engine(
        settings.database_url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        json_serializer=_json_text,
        connect_args={"options": "-c jit=off"},
    )


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    from sqlalchemy.engine import make_url

    name = make_url(database_url).database
    return Path(name) if name and name != ":memory:" else None


def _create_private_sqlite_file(database_url: str) -> None:
    """Create a new database file 0600 before SQLite opens it: SQLite would create it with the
    process umask (0644), and its ``-wal`` and ``-shm`` files copy the database file's mode."""
    path = sqlite_path(database_url)
    if path is None or path.exists():
        return
    make_private_dir(path.parent)
    with suppress(FileExistsError):  # another process created it first
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


_READ_ONLY = "qgov.read_only"  # set by snapshot() on its connection


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN" if conn.info.get(_READ_ONLY) else "BEGIN IMMEDIATE")


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection for reading only, on one consistent snapshot of the database. On SQLite
    it takes no write lock (a deferred transaction in WAL mode): it does not wait for a
    writer's commit and no writer waits for it. Nothing it executes is committed."""
    with engine.connect() as conn:
        conn.info[_READ_ONLY] = True
        try:
            yield conn
        finally:
            conn.rollback()
            conn.info.pop(_READ_ONLY, None)


def _alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(None|"[^"]*"|'[^']*')""", re.MULTILINE)


def _scanned_head() -> str | None:
    """The single head of the migration files, read as text (no alembic import); None if unsure."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted(_MIGRATIONS.glob("versions/*.py")):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found or "down_revision" not in found:
            return None
        revisions.add(found["revision"].strip("\"'"))
        if found["down_revision"] != "None":
            parents.add(found["down_revision"].strip("\"'"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


def head_revision() -> str:
    scanned = _scanned_head()
    if scanned is not None:
        return scanned
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config_for_script())
    head = script.get_current_head()
    assert head is not None
    return head


def _alembic_config_for_script() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "alembic_version"):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return rows[0] if len(rows) == 1 else None


def migrate(engine: Engine) -> bool:
    """Bring the schema to the newest revision; True when anything was applied."""
    try:
        if current_revision(engine) == head_revision():
            return False
        from alembic import command

        command.upgrade(_alembic_config(engine), "head")
    except OperationalError as exc:
        raise ConfigError(
            f"database {engine.url.render_as_string(hide_password=True)}: cannot be opened ({exc.orig})"
        ) from None
    return True


# Called with the connection just before a transaction that appended events commits (the
# application signs a checkpoint there), then with what that returned once the commit is
# done (the application hands the checkpoint to its witness: a checkpoint of a transaction
# that rolled back must never reach it). Weak, so engines are not kept alive.
BeforeCommit = Callable[[Connection], Any]
AfterCommit = Callable[[Any], None]
_hooks: weakref.WeakKeyDictionary[Engine, tuple[BeforeCommit, AfterCommit | None]] = weakref.WeakKeyDictionary()


def on_events_appended(engine: Engine, before_commit: BeforeCommit, after_commit: AfterCommit | None = None) -> None:
    _hooks[engine] = (before_commit, after_commit)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One unit of work: commits on success, rolls back on any exception."""
    hooks = _hooks.get(engine)
    appended, signed = False, None
    with engine.begin() as conn:
        conn.info.pop("qgov.appended", None)
        yield conn
        appended = bool(conn.info.pop("qgov.appended", False))
        if appended and hooks is not None:
            signed = hooks[0](conn)
    if appended and hooks is not None and hooks[1] is not None:
        hooks[1](signed)


__all__ = [
    "current_revision",
    "head_revision",
    "make_engine",
    "migrate",
    "on_events_appended",
    "snapshot",
    "sqlite_path",
    "transaction",
]
