"""The policy in force: the published set with the highest version, read and cached by hash.

Below every service (:class:`governance.app.App` reads it for each recorded decision); it
imports only the tables, the database helpers and the policy core. Publishing and listing
versions is :mod:`governance.policy_store`.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select

from governance import tables as t
from governance.db import snapshot
from policies.bundle import PolicySet, load_policy_files
from qgov.errors import ConfigError, PolicyError

_CACHE_SIZE = 8
_parsed: dict[str, PolicySet] = {}
_lock = threading.Lock()


class NoPolicyPublishedError(ConfigError):
    """The store has no published policy (a store upgraded from before the policy store)."""


def parse_published(sha256: str, files: dict[str, str], version: int) -> PolicySet:
    with _lock:
        cached = _parsed.get(sha256)
    if cached is not None:
        return cached
    policies = load_policy_files(files, {k: f"published policy v{version}: {k}" for k in files})
    if policies.digest != sha256:
        # The row was edited after publication (or by hand): refuse rather than decide on it.
        raise PolicyError(
            f"published policy v{version}: content hash {policies.digest[:16]}… does not match "
            f"the recorded {sha256[:16]}…; publish the policy again"
        )
    with _lock:
        if len(_parsed) >= _CACHE_SIZE:
            _parsed.pop(next(iter(_parsed)))
        _parsed[sha256] = policies
    return policies


def policy_in_force(engine: Engine) -> PolicySet:
    """The published set with the highest version (what every recorded decision uses).

    Read on a snapshot: callers are often inside a writing transaction of their own."""
    with snapshot(engine) as conn:
        row = conn.execute(
            select(t.policy_bundles.c.version, t.policy_bundles.c.sha256)
            .order_by(t.policy_bundles.c.version.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NoPolicyPublishedError(
                "no policy is published in this store: run 'qgov init' (it publishes the built-in one)"
            )
        with _lock:
            cached = _parsed.get(row.sha256)
        if cached is not None:
            return cached
        files = conn.execute(
            select(t.policy_bundles.c.files).where(t.policy_bundles.c.version == row.version)
        ).scalar_one()
    return parse_published(row.sha256, dict(files), int(row.version))


def remember(policies: PolicySet) -> None:
    """Cache a set just published (its hash is its digest)."""
    with _lock:
        _parsed.setdefault(policies.digest, policies)


__all__ = ["NoPolicyPublishedError", "parse_published", "policy_in_force", "remember"]
