"""Audit service: verify the provenance log and the stored objects, list events."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, func, select

from governance import signing
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.consistency import Disagreement, recompute
from governance.db import snapshot
from governance.ids import resolve
from governance.keys import readable_key
from lineage import ChainReport, EventLog, StoredEvent, schema
from lineage.chain import EVENT_SCHEMAS
from lineage.checkpoints import CheckpointReport, MerkleStore, check_checkpoints, check_extends
from lineage.note import Checkpoint, NoteVerifier, verify_checkpoint
from lineage.proofs import ProofResult, consistency_document, inclusion_document, verify_document
from lineage.verify import verify_log as fast_verify
from qgov.canonical import as_utc, iso_utc
from qgov.errors import InputError, IntegrityError, NotFoundError, StorageError

T = TypeVar("T")


@dataclass(frozen=True)
class BlobCheck:
    checked: int
    bad: list[dict[str, str]]


@dataclass(frozen=True)
class PrefixCheck:
    """Whether the log extends a checkpoint held outside the database (a witness's, an auditor's)."""

    source: str
    size: int | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class LogReport:
    """The chain, the signed checkpoints, events no checkpoint covers (every transaction signs
    one, so there should be none), and the checkpoints kept outside the database."""

    chain: ChainReport
    checkpoints: CheckpointReport
    log_size: int
    witness: PrefixCheck | None = None
    since: PrefixCheck | None = None
    tables: tuple[Disagreement, ...] = ()  # derived tables that disagree with the log

    @property
    def ok(self) -> bool:
        outside = [c for c in (self.witness, self.since) if c is not None]
        return (
            self.chain.ok
            and self.checkpoints.ok
            and self.unsigned_problem is None
            and all(c.ok for c in outside)
            and not self.tables
        )

    @property
    def uncovered(self) -> int:
        return self.log_size - (self.checkpoints.latest_size or 0)

    @property
    def unsigned_problem(self) -> str | None:
        if not self.checkpoints.ok or self.uncovered <= 0:
            return None
        return (
            f"{self.uncovered} newest event(s) are covered by no signed checkpoint: qgov signs one in every "
            "transaction, so they were written around it or the checkpoints were deleted "
            "(a store written before per-transaction checkpoints: 'qgov audit checkpoint' signs them)"
        )


def trusted_verifiers(app: App | None, keys: Sequence[str] = ()) -> list[NoteVerifier]:
    """The given verifier keys (text or a file holding one), else this store's own key if it has one."""
    out = [NoteVerifier.from_vkey(_read_key(k)) for k in keys]
    if not out and app is not None:
        local = signing.existing_verifier(app)
        if local is not None:
            out.append(local)
    return out


def _read_key(key: str) -> str:
    """A verifier key given as text (name+hash+key) or as a file holding one."""
    if not key.strip():
        raise InputError("--key: empty; expected the log's public key, as 'qgov audit public-key' prints it")
    if "+" in key:
        return key.strip()
    path = Path(key)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise InputError(f"--key {key}: neither a public key (name+hash+key) nor an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--key {key}: cannot be read as a key file ({exc.__class__.__name__})") from None
    if not text:
        raise InputError(f"--key {key}: the file is empty")
    return text


def verify_log(
    app: App,
    keys: Sequence[str] = (),
    workers: int | None = None,
    since: Path | str | None = None,
    witness: bool = True,
    since_text: str | None = None,
) -> LogReport:
    """Recompute the hash chain and every checkpoint's Merkle root in one pass over the log
    (in parallel chunks on large logs; see ``lineage.verify``); then prove that the log extends
    the witness's latest checkpoint and, with ``since``, a checkpoint an auditor kept."""
    verifiers = trusted_verifiers(app, keys)
    kept = read_kept_checkpoint(since, verifiers, since_text) if since is not None else None
    witnessed: Checkpoint | None = None
    witness_problem: str | None = None
    if witness:
        try:
            held = signing.open_witness(app).latest()
            witnessed = held.checkpoint if held is not None else None
        except IntegrityError as exc:
            witness_problem = exc.diagnostics()
        except OSError as exc:
            witness_problem = f"witness {app.settings.witness_dir}: cannot be read ({exc.strerror or exc})"
    url = app.engine.url.render_as_string(hide_password=False)
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        head = EventLog(conn).head()
        merkle = MerkleStore(conn)
        checkpoints = merkle.all()
        check = fast_verify(conn, url, head, [cp.size for cp in checkpoints], workers)
        tables = tuple(recompute(conn))
        if checkpoints and not verifiers:
            report = CheckpointReport(0, False, "no public key to check the checkpoints with: pass --key")
        else:
            report = check_checkpoints(checkpoints, check.roots, verifiers, check.size)
        latest = checkpoints[-1] if checkpoints and report.ok else None

        def extends(cp: Checkpoint | None, what: str, source: str) -> PrefixCheck:
            if cp is None:
                return PrefixCheck(source, None)
            return PrefixCheck(source, cp.size, check_extends(cp, what, latest, check.size, merkle))

        witness_check = (
            PrefixCheck("witness", None, witness_problem)
            if witness_problem is not None
            else extends(witnessed, f"the witness's checkpoint (in {app.settings.witness_dir})", "witness")
            if witness
            else None
        )
        since_check = extends(kept, f"the kept checkpoint {since}", str(since)) if since is not None else None
    return LogReport(check.chain, report, check.size, witness_check, since_check, tables)


def verification_document(report: LogReport) -> dict[str, Any]:
    """The ``qgov audit verify --json`` document for ``report``."""
    chain, cps = report.chain, report.checkpoints
    doc: dict[str, Any] = {
        "ok": report.ok,
        "events_checked": chain.events_checked,
        "head_hash": chain.head_hash,
        "checkpoints_checked": cps.checkpoints_checked,
        "latest_checkpoint": cps.latest_size,
        "events_after_latest_checkpoint": report.uncovered,
    }
    if not chain.ok:
        doc["first_bad_event"] = {
            "seq": chain.first_bad_seq,
            "event_id": chain.first_bad_event_id,
            "problem": chain.problem,
        }
    if not cps.ok:
        doc["bad_checkpoint"] = {"size": cps.bad_size, "problem": cps.problem}
    if report.unsigned_problem is not None:
        doc["unsigned_events"] = {"count": report.uncovered, "problem": report.unsigned_problem}
    for name, outside in (("witness", report.witness), ("since", report.since)):
        if outside is not None:
            doc[name] = {"source": outside.source, "size": outside.size, "ok": outside.ok, "problem": outside.problem}
    doc["tables_disagreeing"] = [d.to_json() for d in report.tables]
    return doc


def read_since(path: Path) -> str:
    """The text of a kept checkpoint file (``--since``)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"--since {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--since {path}: cannot be read ({exc.__class__.__name__})") from None


def read_kept_checkpoint(path: Path | str, verifiers: Sequence[NoteVerifier], text: str | None = None) -> Checkpoint:
    """A checkpoint an auditor kept: the signed note ``qgov audit checkpoint`` prints (or its
    ``--json`` document), checked against the log's public key. ``text`` is the file's content
    when the caller read it (a client of the server sends it); ``path`` names it in messages."""
    if text is None:
        text = read_since(Path(path))
    if text.lstrip().startswith("{"):
        try:
            text = json.loads(text)["note"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"--since {path}: a JSON document without a 'note' (a signed checkpoint)") from None
    if not verifiers:
        raise InputError(f"--since {path}: no public key to check it with: pass --key")
    problems = []
    for verifier in verifiers:
        try:
            return verify_checkpoint(str(text), verifier)
        except IntegrityError as exc:
            problems.append(exc.diagnostics())
    raise IntegrityError(f"--since {path}: not a checkpoint signed by the log's key ({problems[0]})")


def prove_inclusion(app: App, event: str, size: int | None = None) -> dict[str, Any]:
    """An offline-checkable proof that ``event`` (id or sequence number) is in a signed checkpoint."""
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        stored = _find_event(conn, event)
        checkpoint = MerkleStore(conn).get(size) if size is not None else MerkleStore(conn).latest()
    if checkpoint is None or checkpoint.size < stored.body.seq:
        if size is not None:
            raise InputError(f"--checkpoint {size}: that checkpoint does not include event #{stored.body.seq}")
        checkpoint = signing.checkpoint(app)
    with snapshot(app.engine) as conn:
        path = MerkleStore(conn).inclusion(stored.body.seq, checkpoint.size)
    return inclusion_document(stored.body.canonical(), stored.hash, checkpoint.size, path, checkpoint.note)


def prove_consistency(app: App, old_size: int, new_size: int | None = None) -> dict[str, Any]:
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        merkle = MerkleStore(conn)
        old = merkle.get(old_size)
        new = merkle.get(new_size) if new_size is not None else merkle.latest()
        if new is None or new.size < old.size:
            raise InputError(f"checkpoint {new_size}: expected a checkpoint at least as large as {old_size}")
        return consistency_document(old.note, new.note, merkle.consistency(old.size, new.size))


def verify_offline(check: Callable[[NoteVerifier], T], keys: Sequence[str], app: App | None = None) -> T:
    """Run ``check`` with the log's public key — the ones given (text or files), else this store's —
    and return its answer for the first key it accepts; IntegrityError if none does."""
    verifiers = (
        trusted_verifiers(app, keys) if app is not None else [NoteVerifier.from_vkey(_read_key(k)) for k in keys]
    )
    if not verifiers:
        raise InputError("--key: expected the log's public key (text or a file), as printed by 'qgov audit public-key'")
    problems = []
    for verifier in verifiers:
        try:
            return check(verifier)
        except IntegrityError as exc:
            problems.append(exc.diagnostics())
    raise IntegrityError(problems[0])


def verify_proof(doc: dict[str, Any], keys: Sequence[str], app: App | None = None) -> ProofResult:
    """Check a proof document offline against a public key (no database needed)."""
    return verify_offline(lambda verifier: verify_document(doc, verifier), keys, app)


def _find_event(conn: Connection, event: str) -> StoredEvent:
    e = schema.events
    if event.lstrip("#").isdigit():
        where = e.c.seq == int(event.lstrip("#"))
    else:
        where = e.c.event_id == resolve(conn, "event", event)
    row = conn.execute(select(e.c.seq).where(where)).first()
    if row is None:
        raise NotFoundError(f"no event {event!r} in the log")
    found = next(EventLog(conn).iter_events(batch=1, start=int(row.seq) - 1), None)
    if found is None:  # pragma: no cover - the row was just read
        raise NotFoundError(f"no event {event!r} in the log")
    return found


def verify_blobs(app: App, progress: Callable[[int, int], None] | None = None) -> BlobCheck:
    """Decrypt and re-hash every stored object (slow: reads all ciphertext)."""
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        total = conn.execute(
            select(func.count()).select_from(t.blobs).where(t.blobs.c.wrapped_key.is_not(None))
        ).scalar_one()
        rows = conn.execute(
            select(t.blobs.c.object_id, t.blobs.c.wrapped_key, t.blobs.c.kek_key_id)
            .where(t.blobs.c.wrapped_key.is_not(None))
            .order_by(t.blobs.c.object_id)
        ).all()
        # A live artifact whose object's data key was destroyed can never be read again
        # (what an ingest of bytes identical to a deleted artifact's once produced).
        orphans = conn.execute(
            select(t.artifacts.c.id, t.artifacts.c.sha256)
            .join(t.blobs, t.blobs.c.object_id == t.artifacts.c.sha256)
            .where(t.artifacts.c.deleted_at.is_(None), t.blobs.c.wrapped_key.is_(None))
            .order_by(t.artifacts.c.id)
        ).all()
    bad: list[dict[str, str]] = [
        {
            "object_id": o.sha256,
            "error": f"artifact {o.id}: its object {o.sha256}'s data key was destroyed (crypto-shredded) "
            "but the artifact is not deleted; it cannot be read",
        }
        for o in orphans
    ]
    for index, row in enumerate(rows, 1):
        try:
            wrapped: bytes | None = row.wrapped_key
            if row.kek_key_id not in app.kek.key_ids:  # re-wrapped by a rotation since this process loaded its keys
                wrapped = readable_key(app, row.object_id)
            if wrapped is not None:  # None: shredded since the snapshot
                app.blobs.verify(row.object_id, wrapped)
        except (IntegrityError, StorageError) as exc:
            bad.append({"object_id": row.object_id, "error": exc.diagnostics()})
        if progress is not None:
            progress(index, total)
    return BlobCheck(len(rows), bad)


@dataclass(frozen=True)
class EventFilter:
    """Which events to list: all given conditions hold (``until`` is exclusive)."""

    types: tuple[str, ...] = ()
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def iter_events(app: App, subject: str | None = None, where: EventFilter | None = None) -> Iterator[dict[str, Any]]:
    """Every event (or those about ``subject``, or matching ``where``) as plain dicts, oldest
    first, page by page."""
    where = where or EventFilter()
    if where.since and where.until and where.since >= where.until:
        raise InputError(f"--since {iso_utc(where.since)}: expected a time before --until {iso_utc(where.until)}")
    with snapshot(app.engine) as conn:
        # one subject's events are catalog metadata; the whole log is for auditors
        authorize(conn, app.user, "catalog.read" if subject else "audit.read")
        log = EventLog(conn)
        actor_ref = None
        if where.actor is not None:
            actor_ref = conn.execute(select(schema.actors.c.ref).where(schema.actors.c.name == where.actor)).scalar()
            if actor_ref is None:
                return  # nobody of that name ever acted
        page: list[StoredEvent] = []
        for stored in log.iter_events(
            subject=subject,
            types=where.types,
            actor_ref=actor_ref,
            since=as_utc(where.since) if where.since else None,
            until=as_utc(where.until) if where.until else None,
        ):
            page.append(stored)
            if len(page) == 5000:
                yield from _event_dicts(log, page)
                page = []
        yield from _event_dicts(log, page)


def _event_dicts(log: EventLog, events: Sequence[StoredEvent]) -> Iterator[dict[str, Any]]:
    refs = {e.body.actor_ref for e in events}
    # qgov --as: the admin who acted for the actor (governance.os_identity)
    refs |= {str(e.body.payload["acting_admin"]) for e in events if "acting_admin" in e.body.payload}
    names = log.actor_names(sorted(refs))
    for e in events:
        admin = e.body.payload.get("acting_admin")
        acting = {"acting_admin": names.get(str(admin), "[unknown]")} if admin is not None else {}
        yield acting | {
            "seq": e.body.seq,
            "event_id": e.body.event_id,
            "type": e.body.type,
            "occurred_at": iso_utc(e.body.occurred_at),
            "actor": names.get(e.body.actor_ref, "[unknown]"),
            "actor_ref": e.body.actor_ref,
            "schema": EVENT_SCHEMAS[e.body.hash_scheme],
            "subjects": list(e.body.subjects),
            "payload": e.body.payload,
            "hash": e.hash,
            "prev_hash": e.body.prev_hash,
        }


def list_events(
    app: App, subject: str | None = None, limit: int | None = None, where: EventFilter | None = None
) -> list[dict[str, Any]]:
    events = []
    for event in iter_events(app, subject, where):
        events.append(event)
        if limit is not None and len(events) >= limit:
            break
    return events


def export_events(app: App, path: Path, fmt: Literal["csv", "parquet"], subject: str | None = None) -> int:
    """Stream the log to CSV or Parquet (``qgov.events/v1``); the file appears only when complete."""
    from lineage.export import write_events

    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "catalog.read" if subject else "audit.read")  # before the file is touched
    return write_events(iter_events(app, subject), path, fmt)


def list_checkpoints(app: App, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Signed checkpoints, newest first: size (events covered), root, key and time, so an
    auditor can pick the sizes for ``qgov audit consistency``."""
    if not 1 <= limit <= 500:
        raise InputError(f"limit: expected 1 to 500, got {limit}")
    if offset < 0:
        raise InputError(f"offset: expected 0 or more, got {offset}")
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")
        every = MerkleStore(conn).all()
    page = list(reversed(every))[offset : offset + limit]
    return {
        "items": [
            {
                "size": cp.size,
                "root_hash": cp.root_hash,
                "key_name": cp.key_name,
                "key_hash": cp.key_hash,
                "created_at": iso_utc(cp.created_at),
            }
            for cp in page
        ],
        "total": len(every),
        "limit": limit,
        "offset": offset,
    }


__all__ = [
    "BlobCheck",
    "EventFilter",
    "list_checkpoints",
    "verification_document",
    "LogReport",
    "PrefixCheck",
    "export_events",
    "iter_events",
    "list_events",
    "prove_consistency",
    "prove_inclusion",
    "read_kept_checkpoint",
    "trusted_verifiers",
    "verify_blobs",
    "verify_log",
    "verify_offline",
    "verify_proof",
]
