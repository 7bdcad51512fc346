"""Verifiable deletion by crypto-shredding, with a signed certificate.

Deleting an artifact destroys its data key (the wrapped key is erased from the database:
the ciphertext can never be decrypted again), marks the artifact and its lineage node as
deleted — a tombstone with id, hash, classification and dates stays — and records the deletion
in the log; all in one transaction under the log's head lock, the same lock a legal hold takes,
so a hold and a deletion of the same lineage are ordered: the deletion either sees the hold and
refuses, or happens first and the hold then covers only what still exists. The ciphertext is
removed from the store right after; if the process dies before, the next sweep finishes it.

Content-addressed storage means one stored object can back several artifacts (the same bytes
at two paths): all of them are deleted together, and the dry run says so. Deleting before the
end of an artifact's retention needs ``before_retention_end`` and is recorded as such.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import ArtifactDeletedError, deleted_message, get_artifact
from governance.classification import JURISDICTION
from governance.consistency import check_holds
from governance.db import transaction
from governance.ids import resolve
from governance.retention import downstream_artifacts, holds_covering, retention_of
from lineage import EventLog, NewEvent, schema
from lineage.certificates import CERTIFICATE_SCHEMA, sign_certificate, verify_certificate
from qgov.canonical import iso_utc, parse_iso
from qgov.errors import AccessDenied, InputError, NotFoundError

DELETE_ROLES = {"admin", "data_manager"}


class HeldError(AccessDenied):
    """A deletion refused because a legal hold covers what it would destroy (``hold`` names it).

    A verdict on what was asked (exit 1), not a missing permission: nobody may delete it."""

    exit_code = 1
    code = "held"

    def __init__(self, message: str, hold: dict[str, Any]) -> None:
        super().__init__(message)
        self.hold = hold


def _plan(conn: Connection, app: App, artifact: str, at: datetime) -> dict[str, Any]:
    art = get_artifact(conn, artifact)
    row = conn.execute(select(t.artifacts).where(t.artifacts.c.id == art.id)).one()
    if row.deleted_at is not None:
        raise ArtifactDeletedError(deleted_message(row))
    same = conn.execute(
        select(t.artifacts).where(t.artifacts.c.sha256 == art.sha256, t.artifacts.c.deleted_at.is_(None))
    ).all()
    members = sorted(same, key=lambda r: r.id != art.id)  # the named artifact first
    holds = {h["hold"]: h for r in members for h in holds_covering(conn, r.id)}
    losing = sorted({d for r in members for d in downstream_artifacts(conn, r.id)} - {r.id for r in members})
    downstream = conn.execute(
        select(t.artifacts.c.id, t.artifacts.c.path).where(
            t.artifacts.c.id.in_(losing), t.artifacts.c.deleted_at.is_(None)
        )
    ).all()
    return {
        "artifact": art.id,
        "sha256": art.sha256,
        "deletes": [
            {
                "id": r.id,
                "path": r.path,
                "dataset_id": r.dataset_id,
                "sha256": r.sha256,
                "size": r.size,
                "classification": r.classification,
                "created_at": iso_utc(r.created_at),
            }
            for r in members
        ],
        "downstream_losing_a_source": [{"id": d.id, "path": d.path} for d in downstream],
        "holds": list(holds.values()),
    }


def plan_deletion(app: App, artifact: str) -> dict[str, Any]:
    """What ``delete`` would do (the default, a dry run): what goes, what loses a source, what blocks."""
    now = datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "artifact.delete")
        check_holds(conn)  # a hold row removed behind the log's back must not let a deletion through
        plan = _plan(conn, app, artifact, now)
    kept = retention_of(app, plan["artifact"], now)
    return plan | {
        "retention": {"keep_until": kept["keep_until"], "action": kept["action"], "schedule": kept["schedule"]},
        "dry_run": True,
    }


def delete_artifact(
    app: App, artifact: str, reason: str, before_retention_end: bool = False, as_of: datetime | None = None
) -> dict[str, Any]:
    """Crypto-shred an artifact (and any sharing its content); returns the signed certificate.
    ``as_of`` is the time retention is judged at (the sweep's); the deletion itself happens now."""
    if not reason.strip():
        raise InputError("--reason: a deletion needs a reason (it is part of the record and the certificate)")
    signer = app.signer
    judged_at = as_of or datetime.now(UTC)
    kept = retention_of(app, artifact, judged_at)
    if parse_iso(kept["keep_until"]) > judged_at and not before_retention_end:
        raise AccessDenied(
            f"artifact {kept['artifact']} is under retention until {kept['keep_until'][:10]} "
            f"({kept['schedule']}); an admin may delete it earlier with --before-retention-end"
        )
    certificate_id = str(uuid.uuid4())
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()  # ordered against legal holds on the same lineage
        now = datetime.now(UTC)  # read under the lock, so times follow the log's order
        authorize(conn, app.user, "artifact.delete")
        if before_retention_end:
            authorize(conn, app.user, "artifact.delete_early")
        check_holds(conn)  # a hold row removed behind the log's back must not let a deletion through
        plan = _plan(conn, app, artifact, now)
        if plan["holds"]:
            h = plan["holds"][0]
            raise HeldError(
                f"artifact {plan['artifact']} is held by legal hold {h['hold']} on {h['scope']} {h['target']} "
                f"({h['reason']}): nothing it covers can be deleted",
                h,
            )
        ids = [d["id"] for d in plan["deletes"]]
        conn.execute(
            update(t.blobs)
            .where(t.blobs.c.object_id == plan["sha256"])
            .values(wrapped_key=None, kek_key_id=None, shredded_at=now)
        )
        conn.execute(
            update(t.artifacts)
            .where(t.artifacts.c.id.in_(ids))
            .values(deleted_at=now, deleted_by=app.user, deletion_certificate=certificate_id)
        )
        conn.execute(update(schema.nodes).where(schema.nodes.c.id.in_(ids)).values(invalidated_at=now))
        version = app.policies.get(JURISDICTION).version
        event = log.append(
            NewEvent(
                "artifact.deleted",
                app.user,
                [*ids, plan["sha256"], certificate_id],
                {
                    "certificate": certificate_id,
                    "artifacts": plan["deletes"],
                    "reason": reason,
                    "policy_version": version,
                    "before_retention_end": before_retention_end,
                    "method": "crypto-shredding: data key destroyed, ciphertext removed",
                },
                now,
            )
        )
        document = {
            "schema": CERTIFICATE_SCHEMA,
            "certificate_id": certificate_id,
            "log": signer.name,
            "artifacts": plan["deletes"],
            "deleted_at": iso_utc(now),
            "deleted_by": app.user,
            "reason": reason,
            "policy_version": version,
            "retention": {
                "keep_until": kept["keep_until"],
                "schedule": kept["schedule"],
                "before_retention_end": before_retention_end,
            },
            "method": "crypto-shredding (AES-256-GCM-HKDF data key destroyed), ciphertext removed from storage",
            "event": {"event_id": event.body.event_id, "seq": event.body.seq, "hash": event.hash},
        }
        signed = sign_certificate(document, signer)
        conn.execute(
            insert(t.deletion_certificates).values(
                id=certificate_id, document=document, signature=signed["signed_note"], created_at=now
            )
        )
    complete_removals(app)
    return signed


def complete_removals(app: App) -> int:
    """Remove the ciphertext of every shredded object still in the store (idempotent)."""
    with app.engine.connect() as conn:
        shredded = [
            r.object_id for r in conn.execute(select(t.blobs.c.object_id).where(t.blobs.c.shredded_at.is_not(None)))
        ]
    removed = 0
    for object_id in shredded:
        if app.blobs.exists(object_id):
            with transaction(app.engine) as conn:
                log = EventLog(conn)
                log.lock_head()  # an ingest re-creating identical bytes publishes under this lock
                still = conn.execute(
                    select(t.blobs.c.object_id).where(
                        t.blobs.c.object_id == object_id, t.blobs.c.shredded_at.is_not(None)
                    )
                ).first()
                if still is None:  # re-created under a fresh key since it was listed: not ours to remove
                    continue
                app.blobs.delete(object_id)
                removed += 1
                log.append(NewEvent("artifact.ciphertext_removed", app.user, [object_id], {"sha256": object_id}))
    return removed


def get_certificate(app: App, certificate_id: str) -> dict[str, Any]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        row = conn.execute(
            select(t.deletion_certificates).where(
                t.deletion_certificates.c.id == resolve(conn, "certificate", certificate_id)
            )
        ).first()
    if row is None:
        raise NotFoundError(f"no deletion certificate {certificate_id!r}")
    return {"certificate": dict(row.document), "signed_note": row.signature}


def check_certificate(signed: Any, keys: list[str], app: App | None) -> dict[str, Any]:
    """Verify a certificate offline with the log's public key (given, or this store's)."""
    from governance.audit import verify_offline

    return verify_offline(lambda verifier: verify_certificate(signed, verifier), keys, app)


__all__ = [
    "HeldError",
    "check_certificate",
    "complete_removals",
    "delete_artifact",
    "deleted_message",
    "get_certificate",
    "plan_deletion",
]
