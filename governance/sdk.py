"""`qgov.Client`: the command line's operations as a typed Python API (docs/python-api.md).

    import qgov

    qg = qgov.Client()                      # QGOV_URL + QGOV_TOKEN: the server; else the local store
    qg = qgov.Client.embedded("~/lab/.qgov")                  # a local store, as its OS account's person
    qg = qgov.Client.embedded("~/lab/.qgov", user="li.wei")   # an admin acting as li.wei (recorded)
    for ds in qg.datasets(): print(ds["name"], ds["artifacts"])
    asked = qg.request_access([artifact_id], purpose="T1 benchmark")
    qg.fetch(artifact_id, "t1.csv")

Every method returns the document ``qgov … --json`` prints (plain dicts and lists) and raises
the errors of :mod:`qgov.errors` with the command line's one-line message: ``InputError`` for
bad input (``NotFoundError`` for an unknown name), ``AccessDenied`` when the capability table
or a missing grant says no (a refused :meth:`Client.fetch` raises
:class:`~governance.grant_status.NoGrantError`, whose ``reason`` is pending, suspended,
revoked, expired, denied or never_requested). The same code runs embedded or against
`qgov serve`; authorization is the service's either way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from governance.client import Client as Backend
from governance.client import EmbeddedClient, settings_client
from governance.config import load_settings
from qgov.errors import ConfigError

Document = dict[str, Any]
Direction = Literal["upstream", "downstream"]


class Client:
    """One person's connection to a qgov store: embedded, or a client of `qgov serve`."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        """With neither argument, read the environment as the command line does (``QGOV_URL``
        and ``QGOV_TOKEN`` for a server; otherwise ``QGOV_HOME``, … for the local store, acting
        as the person mapped to this process's operating-system account). With both, connect
        to that server."""
        if url is None and token is None:
            self._backend: Backend = settings_client(load_settings())
        elif url and token:
            env = dict(os.environ) | {"QGOV_URL": url, "QGOV_TOKEN": token}
            self._backend = settings_client(load_settings(env))
        else:
            raise ConfigError("qgov.Client: give both url and token, or neither (to read QGOV_URL and QGOV_TOKEN)")

    @classmethod
    def embedded(cls, home: str | Path, user: str | None = None) -> Client:
        """The store under ``home`` (created by ``qgov init``), acting as the person an admin
        mapped to this process's operating-system account. With ``user``, that person must be
        an admin and acts as ``user``, like ``qgov --as``: every event it writes records the
        admin beside ``user`` (ADR 0026). ``QGOV_URL`` is ignored."""
        env = {k: v for k, v in os.environ.items() if k not in ("QGOV_URL", "QGOV_TOKEN")}
        env["QGOV_HOME"] = str(Path(home).expanduser())
        from governance.app import App

        settings = load_settings(env).model_copy(update={"acting_as": user.strip() if user else None})
        app = App(settings)
        if user is not None:
            try:
                _ = app.user  # refuse a non-admin (or an unknown person) here, not at the first call
            except BaseException:
                app.close()
                raise
        client = cls.__new__(cls)
        client._backend = EmbeddedClient(app)
        return client

    @property
    def remote(self) -> bool:
        """True when this client talks to `qgov serve`."""
        return not isinstance(self._backend, EmbeddedClient)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- who --------------------------------------------------------------------------
    def whoami(self) -> Document:
        """``{"name", "roles", "authenticated_by"}``."""
        return self._backend.whoami()

    def people(self, limit: int = 50, offset: int = 0) -> Document:
        """A page of registered people: ``{"items": [{name, citizenships, …, roles}], "total", …}``."""
        return self._backend.people(limit, offset)

    def person(self, name: str) -> Document:
        """A person's facts and roles, with ``requests`` and ``grants`` counts by status when
        the caller may see them (their own always)."""
        return self._backend.person(name)

    def grant_role(self, person: str, role: str) -> Document:
        """Admins: give a registered person a role."""
        return self._backend.grant_role(person, role)

    def revoke_role(self, person: str, role: str) -> Document:
        """Admins: take a role away; ``{"revoked": false}`` if the person did not hold it."""
        return self._backend.revoke_role(person, role)

    # -- catalog ----------------------------------------------------------------------
    def datasets(self) -> list[Document]:
        """Every dataset with its ITEM description, ``artifacts`` count and ``bytes``."""
        return self._backend.datasets()

    def dataset(self, name: str) -> Document:
        """One dataset with ``artifact_list`` and ``quarantine``."""
        return self._backend.dataset(name)

    def update_dataset(
        self,
        name: str,
        *,
        subject_type: str | None = None,
        params: Mapping[str, float | int | str | None] | None = None,
        owner: str | None = None,
        description: str | None = None,
        expectations: list[dict[str, Any]] | None = None,
        research: Mapping[str, bool | None] | None = None,
    ) -> Document:
        """Correct a dataset (a ``None`` parameter value removes it); ``{"fields": [changed
        fields], "changed": n, "changes": [reclassified artifacts]}``."""
        from governance.dataset_edit import DatasetChanges

        changes = DatasetChanges(
            subject_type, dict(params or {}), owner, description, expectations, dict(research or {})
        )
        return self._backend.update_dataset(name, changes)

    def ingest(self, path: str | Path, dataset: str) -> Document:
        """Ingest a file, a folder or a DVC repository (embedded only: the files must be where
        the store is). The ``qgov ingest --json`` summary."""
        return self._backend.ingest(Path(path), dataset)

    def artifacts(self, dataset: str | None = None) -> list[Document]:
        """Artifacts (``id``, ``path``, ``sha256``, ``size``, ``media_type``, ``dataset``,
        ``classification``), of one dataset or all."""
        return self._backend.artifacts(dataset)

    def artifact(self, artifact: str) -> Document:
        """One artifact with its classification, basis, format metadata and source."""
        return self._backend.artifact(artifact)

    def classify(self, item: Mapping[str, Any], jurisdiction: str = "US-EAR") -> Document:
        """What-if: classify an ITEM document (DESIGN.md) against the policy in force."""
        return self._backend.classify(dict(item), jurisdiction)

    # -- access -----------------------------------------------------------------------
    def check(self, request: Mapping[str, Any], at: datetime | None = None) -> Document:
        """What-if: decide a REQUEST document as given; nothing is recorded."""
        return self._backend.check(dict(request), at)

    def request_access(
        self, artifacts: str | Iterable[str], purpose: str, days: int = 30, destination: str = "US"
    ) -> Document:
        """Ask for artifacts: ``{"request", "status", "outcome", "grant", "decision"}``."""
        wanted = [artifacts] if isinstance(artifacts, str) else list(artifacts)
        return self._backend.request_access(wanted, purpose, days, destination)

    def my_access(self) -> Document:
        """The caller's ``requests`` (status, rules, waited_hours) and ``grants`` (status)."""
        return self._backend.my_access()

    def queue(self) -> list[Document]:
        """Officers: queued requests, oldest first, with requester facts, classifications,
        screening matches and the time waited against the SLA."""
        return self._backend.queue()

    def approve(self, request: str, licence: str | None = None) -> str:
        """Officers: approve a queued request; returns the grant id."""
        return self._backend.approve(request, licence)

    def deny(self, request: str, reason: str) -> None:
        """Officers: deny a queued request with a reason the requester sees."""
        self._backend.deny(request, reason)

    def fetch(self, artifact: str, output: str | Path) -> Document:
        """Write the verified plaintext to ``output`` (0600) under a valid grant:
        ``{"artifact", "output", "sha256", "size"}``."""
        return self._backend.fetch(artifact, Path(output))

    def release(
        self, dataset: str, stat: str, column: str, epsilon: str | float, purpose: str, **options: Any
    ) -> Document:
        """A differentially private statistic (``options``: delta, mechanism, quantile, artifact)."""
        return self._backend.release(dataset, stat, column, str(epsilon), purpose, **options)

    # -- lineage and audit ------------------------------------------------------------
    def trace(
        self, node: str, direction: Direction = "upstream", depth: int | None = None, as_of: datetime | None = None
    ) -> Document:
        """The ``qgov.trace/v1`` document of a node's lineage."""
        return self._backend.trace(node, direction, depth, as_of)

    def verify(self) -> Document:
        """Recompute the log's hash chain and checkpoints: ``{"ok", "events_checked", …}``."""
        return self._backend.verify()

    def events(
        self,
        subject: str | None = None,
        types: Iterable[str] = (),
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[Document]:
        """Provenance events, oldest first; ``until`` is exclusive."""
        from governance.audit import EventFilter

        return self._backend.events(subject, EventFilter(tuple(types), actor, since, until), limit)

    def checkpoints(self, limit: int = 50, offset: int = 0) -> Document:
        """Signed checkpoints, newest first: ``{"items": [{size, root_hash, created_at, …}], "total"}``."""
        return self._backend.checkpoints(limit, offset)


__all__ = ["Client", "Direction", "Document"]
