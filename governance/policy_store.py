"""The policy set in force comes from the store: published by an admin, versioned, logged.

Every recorded decision (classification at ingest, access decisions, DP releases, retention)
reads :func:`policy_in_force`: the published set with the highest version. A caller's own
directory (``--policy DIR``, ``QGOV_POLICY_DIR``) is read only by what-if evaluation
(:func:`what_if_policies`) and never reaches a recorded decision, so a user who points
``QGOV_POLICY_DIR`` at a weakened copy of the rules changes nothing that is recorded.

A published set stores the YAML texts it was loaded from (the built-in bundles as they were
at publication, and the organisation's files over them), so it loads the same on any qgov
version; ``sha256`` is :attr:`policies.bundle.PolicySet.digest`, the hash of the canonical
content, and parsed sets are cached by it (parsing is ~100 ms, the lookup a primary-key read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.config import Settings
from governance.db import sqlite_path, transaction
from governance.policy_reader import NoPolicyPublishedError, parse_published, policy_in_force, remember
from lineage import EventLog, NewEvent
from policies.bundle import MAX_POLICY_BYTES, ORG_PREFIX, PolicySet, load_policies, load_policy_files, policy_files
from qgov.errors import NotFoundError, PolicyError

# The jurisdiction whose access rules every recorded decision needs (governance.access).
REQUIRED_JURISDICTION = "US-EAR"


@dataclass(frozen=True)
class PublishedPolicy:
    version: int
    sha256: str
    published_by: str
    published_at: datetime
    note: str
    files: tuple[str, ...]
    bundles: dict[str, str]  # jurisdiction -> policy_version
    in_force: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "published_by": self.published_by,
            "published_at": self.published_at.isoformat(),
            "note": self.note,
            "files": list(self.files),
            "policy_versions": self.bundles,
            "in_force": self.in_force,
        }


def _validate(policies: PolicySet, source: str) -> None:
    if REQUIRED_JURISDICTION not in policies.bundles:
        raise PolicyError(f"{source}: no {REQUIRED_JURISDICTION} bundle; recorded decisions need its rules")
    policies.get(REQUIRED_JURISDICTION).require_access()


def _insert(conn: Connection, files: dict[str, str], policies: PolicySet, by: str, note: str) -> PublishedPolicy:
    current = conn.execute(select(func.max(t.policy_bundles.c.version))).scalar_one()
    version = int(current or 0) + 1
    now = datetime.now(UTC)
    conn.execute(
        insert(t.policy_bundles).values(
            version=version, sha256=policies.digest, files=files, published_by=by, published_at=now, note=note
        )
    )
    bundles = {j: b.version for j, b in sorted(policies.bundles.items())}
    EventLog(conn).append(
        NewEvent(
            "policy.published",
            by,
            subjects=[f"policy:{version}"],
            payload={"version": version, "sha256": policies.digest, "policy_versions": bundles, "note": note},
            occurred_at=now,
        )
    )
    remember(policies)
    return PublishedPolicy(version, policies.digest, by, now, note, tuple(sorted(files)), bundles, True)


def publish_policy(app: App, directory: Path, note: str = "") -> tuple[PublishedPolicy, bool]:
    """An admin publishes ``directory`` (over the built-in bundles) as the policy in force.

    Returns the version in force and whether it is new: publishing the content already in
    force changes nothing and records nothing."""
    files = policy_files(directory)
    org = {key: text for key, text in files.items() if key.startswith(ORG_PREFIX)}
    shown = {key: str(directory / key.removeprefix(ORG_PREFIX)) for key in org}
    return publish_policy_files(app, org, note, str(directory), shown)


def publish_policy_files(
    app: App, org_files: dict[str, str], note: str = "", source: str = "policy", shown_as: dict[str, str] | None = None
) -> tuple[PublishedPolicy, bool]:
    """Publish an organisation's policy files (keys ``org/<path>.yaml``, as :func:`policy_files`
    names them) over the built-in bundles: what `qgov policy publish` uploads to the server.
    ``shown_as`` names each file in error messages (the publisher's own paths)."""
    stray = sorted(key for key in org_files if not key.startswith(ORG_PREFIX) or not key.endswith(".yaml"))
    if stray:
        raise PolicyError(f"policy file {stray[0]!r}: expected a name org/<path>.yaml")
    files = {key: text for key, text in policy_files().items() if not key.startswith(ORG_PREFIX)} | org_files
    total = sum(len(text) for text in files.values())
    if total > MAX_POLICY_BYTES:
        raise PolicyError(f"policy directory {source}: {total} bytes of YAML, expected at most {MAX_POLICY_BYTES}")
    policies = load_policy_files(files, shown_as)
    _validate(policies, source)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "policy.publish")
        # Serialise publishers on the log head: two admins publishing at once get two versions.
        EventLog(conn).lock_head()
        latest = conn.execute(select(t.policy_bundles).order_by(t.policy_bundles.c.version.desc()).limit(1)).first()
        if latest is not None and latest.sha256 == policies.digest:
            return _from_row(latest, in_force=True), False
        return _insert(conn, files, policies, app.user, note), True


def publish_default_policy(app: App) -> bool:
    """At ``qgov init``: publish the built-in bundles as version 1 when nothing is published."""
    with transaction(app.engine) as conn:
        EventLog(conn).lock_head()
        if conn.execute(select(func.count()).select_from(t.policy_bundles)).scalar_one():
            return False
        files = policy_files()
        policies = load_policy_files(files)
        _insert(conn, files, policies, app.user, "built-in default, published by qgov init")
    return True


def _from_row(row: Any, in_force: bool, with_files: bool = False) -> PublishedPolicy:
    files = dict(row.files)
    bundles: dict[str, str] = {}
    if with_files:
        policies = parse_published(row.sha256, files, int(row.version))
        bundles = {j: b.version for j, b in sorted(policies.bundles.items())}
    published_at = row.published_at if row.published_at.tzinfo else row.published_at.replace(tzinfo=UTC)
    return PublishedPolicy(
        int(row.version), row.sha256, row.published_by, published_at, row.note, tuple(sorted(files)), bundles, in_force
    )


def list_policies(app: App) -> list[PublishedPolicy]:
    """Every published version, newest first (policy is not secret: anyone may read it)."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        rows = conn.execute(select(t.policy_bundles).order_by(t.policy_bundles.c.version.desc())).all()
    return [_from_row(row, in_force=i == 0) for i, row in enumerate(rows)]


def published_policy(app: App, version: int | None = None) -> tuple[PublishedPolicy, PolicySet]:
    """One published version (default: the one in force) and its parsed rules."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        newest = conn.execute(select(func.max(t.policy_bundles.c.version))).scalar_one()
        query = select(t.policy_bundles).where(t.policy_bundles.c.version == (version or newest))
        row = conn.execute(query).first() if newest is not None else None
    if row is None:
        raise NotFoundError(f"policy version {version}: not published (see 'qgov policy list')")
    record = _from_row(row, in_force=row.version == newest, with_files=True)
    return record, parse_published(row.sha256, dict(row.files), int(row.version))


def what_if_policies(settings: Settings, directory: Path | None = None) -> tuple[PolicySet, str]:
    """The policy a what-if evaluation uses, and where it came from.

    ``--policy DIR`` (or ``QGOV_POLICY_DIR``) over the built-in bundles when given; else the
    store's policy in force; else, with no store or nothing published yet, the built-in
    bundles. Nothing evaluated with it is recorded."""
    directory = directory or settings.policy_dir
    if directory is not None:
        return load_policies(directory), f"directory {directory} (what-if only)"
    if settings.is_sqlite and ((db := sqlite_path(settings.database_url)) is None or not db.exists()):
        return load_policies(), "built-in bundles (no store yet)"
    core = App(settings)
    try:
        return in_force_or_builtin(core.engine)
    finally:
        core.close()


def in_force_or_builtin(engine: Engine) -> tuple[PolicySet, str]:
    """For what-if only: the policy in force, or the built-in one while nothing is published."""
    try:
        return policy_in_force(engine), "the store's policy in force"
    except NoPolicyPublishedError:
        return load_policies(), "built-in bundles (nothing published yet)"


__all__ = [
    "in_force_or_builtin",
    "PublishedPolicy",
    "list_policies",
    "publish_default_policy",
    "publish_policy",
    "published_policy",
    "what_if_policies",
]
