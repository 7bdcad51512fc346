"""The application context: settings, database, key and blob store, built once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine

from governance.config import Settings
from governance.db import make_engine, migrate, on_events_appended, sqlite_path
from governance.os_account import resolve_embedded_user
from governance.policy_reader import policy_in_force
from policies.bundle import PolicySet
from qgov.errors import ConfigError
from qgov.private_files import check_private

if TYPE_CHECKING:  # storage (Tink, fsspec) is imported by the first command that reads a blob
    from governance.signing import Signed
    from lineage.note import NoteSigner
    from storage import BlobStore, TinkKeyset


@dataclass
class App:
    """Everything a service needs; services take it as their first argument."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        check_store_private(self.settings)
        engine = make_engine(self.settings)
        migrate(engine)  # automatic on first use; a no-op once at head
        on_events_appended(engine, self._checkpoint, self._witness)
        if self.settings.user is None and self.settings.acting_as is not None:
            # Acting as another (qgov --as): check it and mark the engine before the first
            # transaction, so that every event of this process records the admin.
            self.__dict__["engine"] = engine
            _ = self._embedded_user
        return engine

    @cached_property
    def signer(self) -> NoteSigner:
        """The Ed25519 key that signs checkpoints (created on first use for a new log)."""
        from governance.signing import load_signer

        return load_signer(self)

    def _checkpoint(self, conn: Connection) -> Signed:
        from governance.signing import checkpoint_transaction

        return checkpoint_transaction(self, conn)

    def _witness(self, signed: Signed | None) -> None:
        from governance.signing import witness

        witness(self, signed)

    @cached_property
    def kek(self) -> TinkKeyset:
        from storage import TinkKeyset

        if self.settings.kek_json is not None:
            return TinkKeyset.from_json(self.settings.kek_json.get_secret_value(), "QGOV_KEK")
        if not self.settings.key_file.exists():
            raise ConfigError(
                f"key file {self.settings.key_file} does not exist; run 'qgov init' first (or set QGOV_KEK)"
            )
        return TinkKeyset.load(self.settings.key_file)

    @cached_property
    def blobs(self) -> BlobStore:
        from storage import BlobStore, open_backend

        backend = open_backend(self.settings.storage_url, **self.settings.storage_options)
        return BlobStore(backend, self.kek)

    @property
    def policies(self) -> PolicySet:
        """The policy set in force: the one an admin published into the store (never a
        caller's directory; see :mod:`governance.policy_store`)."""
        return policy_in_force(self.engine)

    @property
    def user(self) -> str:
        """The person this App acts for (see :mod:`governance.os_identity` for embedded mode)."""
        if self.settings.user is not None:
            return self.settings.user
        return self._embedded_user

    @cached_property
    def _embedded_user(self) -> str:
        return resolve_embedded_user(self.engine, self.settings.acting_as)

    def acting_for(self, person: str) -> App:
        """The same store, keys and policies, acting for another (authenticated) person.

        The server builds one per request; the engine, key set, blob store and signer are
        shared, never rebuilt, and checkpointing stays with this instance."""
        other = App(self.settings.model_copy(update={"user": person}))
        for name in ("engine", "kek", "blobs", "signer"):
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


def check_store_private(settings: Settings) -> None:
    """Refuse to open a store that other local accounts can read (``qgov.private_files``)."""
    check_private(settings.home, "QGOV_HOME")
    if settings.is_sqlite and (db := sqlite_path(settings.database_url)) is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            check_private(Path(f"{db}{suffix}"), "database file")
    prefect = settings.home / "prefect"
    check_private(prefect, "Prefect home")
    for suffix in ("", "-wal", "-shm"):
        check_private(prefect / f"prefect.db{suffix}", "Prefect database file")
    if "://" not in settings.storage_url or settings.storage_url.startswith("file://"):
        check_private(Path(settings.storage_url.removeprefix("file://")), "blob store")
    if settings.kek_json is None:
        check_private(settings.key_file.parent, "key directory")


__all__ = ["App", "check_store_private"]
