"""Audit service: verify the provenance log and the stored objects, list events."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy import Connection, func, select

from governance import signing
from governance import tables as t
from governance.app import App
from governance.consistency import Disagreement, recompute
from governance.db import snapshot
from lineage import ChainReport, EventLog, StoredEvent, schema
from lineage.checkpoints import CheckpointReport, MerkleStore, check_checkpoints
from lineage.note import NoteVerifier
from lineage.proofs import ProofResult, consistency_document, inclusion_document, verify_document
from lineage.verify import verify_log as fast_verify
from qgov.canonical import iso_utc
from qgov.errors import InputError, IntegrityError, NotFoundError, StorageError

T = TypeVar("T")


@dataclass(frozen=True)
class BlobCheck:
    checked: int
    bad: list[dict[str, str]]


@dataclass(frozen=True)
class LogReport:
    """The chain, the signed checkpoints, and how many newest events no checkpoint covers yet."""

    chain: ChainReport
    checkpoints: CheckpointReport
    log_size: int
    tables: tuple[Disagreement, ...] = ()  # derived tables that disagree with the log

    @property
    def ok(self) -> bool:
        return self.chain.ok and self.checkpoints.ok and not self.tables

    @property
    def uncovered(self) -> int:
        return self.log_size - (self.checkpoints.latest_size or 0)


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


def verify_log(app: App, keys: Sequence[str] = (), workers: int | None = None) -> LogReport:
    """Recompute the hash chain and every checkpoint's Merkle root in one pass over the log
    (in parallel chunks on large logs; see ``lineage.verify``)."""
    verifiers = trusted_verifiers(app, keys)
    url = app.engine.url.render_as_string(hide_password=False)
    with snapshot(app.engine) as conn:
        head = EventLog(conn).head()
        checkpoints = MerkleStore(conn).all()
        check = fast_verify(conn, url, head, [cp.size for cp in checkpoints], workers)
        tables = tuple(recompute(conn))
    if checkpoints and not verifiers:
        report = CheckpointReport(0, False, "no public key to check the checkpoints with: pass --key")
    else:
        report = check_checkpoints(checkpoints, check.roots, verifiers, check.size)
    return LogReport(check.chain, report, check.size, tables)


def prove_inclusion(app: App, event: str, size: int | None = None) -> dict[str, Any]:
    """An offline-checkable proof that ``event`` (id or sequence number) is in a signed checkpoint."""
    with snapshot(app.engine) as conn:
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
    where = e.c.seq == int(event.lstrip("#")) if event.lstrip("#").isdigit() else e.c.event_id == event
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
        total = conn.execute(
            select(func.count()).select_from(t.blobs).where(t.blobs.c.wrapped_key.is_not(None))
        ).scalar_one()
        rows = conn.execute(
            select(t.blobs.c.object_id, t.blobs.c.wrapped_key)
            .where(t.blobs.c.wrapped_key.is_not(None))
            .order_by(t.blobs.c.object_id)
        ).all()
    bad: list[dict[str, str]] = []
    for index, row in enumerate(rows, 1):
        try:
            app.blobs.verify(row.object_id, row.wrapped_key)
        except (IntegrityError, StorageError) as exc:
            bad.append({"object_id": row.object_id, "error": exc.diagnostics()})
        if progress is not None:
            progress(index, total)
    return BlobCheck(len(rows), bad)


def iter_events(app: App, subject: str | None = None) -> Iterator[dict[str, Any]]:
    """Every event (or those about ``subject``) as plain dicts, oldest first, page by page."""
    with snapshot(app.engine) as conn:
        log = EventLog(conn)
        page: list[StoredEvent] = []
        for stored in log.iter_events(subject=subject):
            page.append(stored)
            if len(page) == 5000:
                yield from _event_dicts(log, page)
                page = []
        yield from _event_dicts(log, page)


def _event_dicts(log: EventLog, events: Sequence[StoredEvent]) -> Iterator[dict[str, Any]]:
    names = log.actor_names(sorted({e.body.actor_ref for e in events}))
    for e in events:
        yield {
            "seq": e.body.seq,
            "event_id": e.body.event_id,
            "type": e.body.type,
            "occurred_at": iso_utc(e.body.occurred_at),
            "actor": names.get(e.body.actor_ref, "[unknown]"),
            "subjects": list(e.body.subjects),
            "payload": e.body.payload,
            "hash": e.hash,
            "prev_hash": e.body.prev_hash,
        }


def list_events(app: App, subject: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    events = []
    for event in iter_events(app, subject):
        events.append(event)
        if limit is not None and len(events) >= limit:
            break
    return events


def export_events(app: App, path: Path, fmt: Literal["csv", "parquet"], subject: str | None = None) -> int:
    """Stream the log to CSV or Parquet (``qgov.events/v1``); the file appears only when complete."""
    from lineage.export import write_events

    return write_events(iter_events(app, subject), path, fmt)


__all__ = [
    "BlobCheck",
    "LogReport",
    "export_events",
    "iter_events",
    "list_events",
    "prove_consistency",
    "prove_inclusion",
    "trusted_verifiers",
    "verify_blobs",
    "verify_log",
    "verify_offline",
    "verify_proof",
]
