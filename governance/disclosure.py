"""What a person learns about an artifact's content: its SHA-256 only under a grant.

An artifact's SHA-256 confirms a guess of its content (a small file, a template with one value
changed: hash each candidate and compare). So the digest is shown only to those who may read
the content anyway or who administer it:

- holders of a valid grant covering the artifact (they can fetch the bytes);
- the dataset's owner, and the roles that run the store: admin, data manager (ingests the
  files and sees their digests then), export-control officer (reviews and overrides what is in
  them), auditor (verifies the log, whose events carry digests);

everyone else sees a keyed reference, ``hmac-sha256:…``: HMAC-SHA256 of the digest under a
secret derived from the store's signing key (``NoteSigner.derive_secret``). It is stable (two
listings, or two artifacts with the same content, show the same reference), and cannot be
computed offline from a guessed content. The same holds for a DVC file's MD5 (``dvc_md5``).

A lookup by digest (``audit events --subject SHA``) by someone who may not see it answers as for
an unknown id, so that the answer itself confirms nothing.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.catalog import roles_of
from governance.live_grants import granted_artifacts
from qgov.chunks import chunked

ADMINISTERING_ROLES = frozenset({"admin", "auditor", "data_manager", "export_control_officer"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MD5_KEYS = frozenset({"dvc_md5"})


class Disclosure:
    """Redacts content digests from documents shown to ``app.user``."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._secret: bytes | None = None
        self._administers: bool | None = None

    def keyed(self, digest: str) -> str:
        if self._secret is None:
            self._secret = self.app.signer.derive_secret("content-ref/v1")
        return "hmac-sha256:" + hmac.new(self._secret, digest.encode("ascii"), sha256).hexdigest()

    def administers(self) -> bool:
        if self._administers is None:
            with self.app.engine.connect() as conn:
                self._administers = bool(roles_of(conn, self.app.user) & ADMINISTERING_ROLES)
        return self._administers

    def hidden(self, digests: Iterable[str]) -> set[str]:
        """Those of ``digests`` that are artifact contents the user may not see."""
        wanted = sorted({d for d in digests if _SHA256.fullmatch(d)})
        if not wanted or self.administers():
            return set()
        by_digest: dict[str, set[str]] = {}
        owned: set[str] = set()
        with self.app.engine.connect() as conn:
            granted = granted_artifacts(conn, self.app.user, datetime.now(UTC))
            for part in chunked(wanted, 500):
                rows = conn.execute(
                    select(t.artifacts.c.id, t.artifacts.c.sha256, t.datasets.c.owner)
                    .join(t.datasets, t.datasets.c.id == t.artifacts.c.dataset_id)
                    .where(t.artifacts.c.sha256.in_(list(part)))
                )
                for r in rows:
                    by_digest.setdefault(r.sha256, set()).add(r.id)
                    if r.owner == self.app.user:
                        owned.add(r.sha256)
                quarantined = conn.execute(  # refused files: nobody holds a grant for them
                    select(t.quarantine.c.sha256, t.datasets.c.owner)
                    .join(t.datasets, t.datasets.c.id == t.quarantine.c.dataset_id)
                    .where(t.quarantine.c.sha256.in_(list(part)))
                )
                for r in quarantined:
                    by_digest.setdefault(r.sha256, set())
                    if r.owner == self.app.user:
                        owned.add(r.sha256)
        return {d for d, ids in by_digest.items() if d not in owned and not ids & granted}

    def may_look_up(self, subject: str | None) -> bool:
        """False for a digest the user may not see: the lookup must answer as for an unknown id."""
        return subject is None or not self.hidden([subject])

    def redact(self, doc: Any) -> Any:
        """``doc`` with every hidden digest (and, for non-administrators, DVC MD5) keyed."""
        found: set[str] = set()
        _strings(doc, found)
        hidden = self.hidden(found)
        md5 = not self.administers()
        if not hidden and not (md5 and _has_md5(doc)):
            return doc
        return _replace(doc, {d: self.keyed(d) for d in hidden}, self if md5 else None)


def _strings(doc: Any, out: set[str]) -> None:
    if isinstance(doc, str):
        if len(doc) == 64:
            out.add(doc)
    elif isinstance(doc, dict):
        for value in doc.values():
            _strings(value, out)
    elif isinstance(doc, (list, tuple)):
        for value in doc:
            _strings(value, out)


def _has_md5(doc: Any) -> bool:
    if isinstance(doc, dict):
        return any(k in _MD5_KEYS and isinstance(v, str) for k, v in doc.items()) or any(
            _has_md5(v) for v in doc.values()
        )
    if isinstance(doc, (list, tuple)):
        return any(_has_md5(v) for v in doc)
    return False


def _replace(doc: Any, keyed: dict[str, str], md5: Disclosure | None) -> Any:
    if isinstance(doc, str):
        return keyed.get(doc, doc)
    if isinstance(doc, dict):
        return {
            k: (md5.keyed(v) if md5 is not None and k in _MD5_KEYS and isinstance(v, str) else _replace(v, keyed, md5))
            for k, v in doc.items()
        }
    if isinstance(doc, (list, tuple)):
        return [_replace(v, keyed, md5) for v in doc]
    return doc


__all__ = ["ADMINISTERING_ROLES", "Disclosure"]
