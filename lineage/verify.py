"""Verify the whole log — hash chain and the Merkle root at every checkpoint — in one pass.

The log is cut into aligned chunks of ``2**16`` events. Each chunk is checked on its own
(every event's hash recomputed from its canonical body, the links inside the chunk, the
sequence numbers) and reduced to its Merkle compact range; chunks run in parallel worker
processes when the log is large. The parent then checks the links *between* chunks and
merges the compact ranges in order, which gives the root at any checkpoint size. The result
is the same as :func:`lineage.chain.verify_chain` over the events in order, first problem
first, with the same messages.

Rows are read raw (text on SQLite, values on PostgreSQL) and encoded with
:func:`qgov.canonical.canonical_json_decoded`: measured, that is 3x faster than building
:class:`EventBody` objects through the ORM layer, and verification is where it counts.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote  # the C encoder json.dumps uses
from multiprocessing import get_context
from typing import Any

from sqlalchemy import BigInteger, Connection, create_engine, text
from sqlalchemy.pool import NullPool

from lineage.chain import (
    EVENT_SCHEMA,
    GENESIS_HASH,
    ChainReport,
    EventBody,
    StoredEvent,
    _problem,
    canonical_body,
    jcs,
)
from lineage.checkpoints import RootAccumulator, root_of_stack
from qgov.canonical import as_utc, canonical_json_decoded, iso_utc
from qgov.errors import InputError, IntegrityError

CHUNK_BITS = 16
PAGE = 10_000
# JSON read as its stored text (CAST: PostgreSQL's json type keeps the text it was given).
_ROWS = text(
    "SELECT seq, event_id, type, occurred_at, actor_ref, CAST(subjects AS TEXT), CAST(payload AS TEXT), "
    "prev_hash, hash, hash_scheme FROM events WHERE seq > :after AND seq <= :until ORDER BY seq LIMIT :page"
).columns(seq=BigInteger())
_SCHEMA = _quote(EVENT_SCHEMA)


def _stored_text_hash(row: Any, iso: str) -> str:
    """SHA-256 of the canonical body assembled from the stored JSON text, without decoding it.

    Every scalar is JSON-encoded here; only ``payload`` and ``subjects`` are inserted as stored.
    When the stored text is the canonical encoding (rows written with sorted, compact JSON and
    no nulls) this equals the event hash; anything else takes the decoding path, which decides.
    Keys in canonical order: actor_ref, event_id, occurred_at, payload, prev_hash, schema, seq,
    subjects, type.
    """
    body = (
        f'{{"actor_ref":{_quote(row[4])},"event_id":{_quote(row[1])},"occurred_at":{_quote(iso)},'
        f'"payload":{row[6]},"prev_hash":{_quote(row[7])},"schema":{_SCHEMA},"seq":{int(row[0])},'
        f'"subjects":{row[5]},"type":{_quote(row[2])}}}'
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass
class ChunkResult:
    """One chunk, reduced: its first link, last hash, first problem, and Merkle compact range."""

    start: int
    count: int = 0
    first: StoredEvent | None = None
    last_hash: str | None = None
    problem: tuple[int, str | None, str, int] | None = None  # seq, event id, message, events before it
    stack: list[tuple[int, bytes]] = field(default_factory=list)
    partial: dict[int, list[tuple[int, bytes]]] = field(default_factory=dict)


@dataclass(frozen=True)
class LogCheck:
    chain: ChainReport
    size: int
    roots: dict[int, bytes]


def _iso(value: Any) -> str:
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"  # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return iso_utc(as_utc(moment))


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _body(row: Any, seq: int, iso: str) -> dict[str, Any]:
    return canonical_body(seq, row[1], row[2], iso, row[4], _decoded(row[5]), _decoded(row[6]), row[7], int(row[9]))


def _jcs_or_none(body: dict[str, Any]) -> bytes | None:
    try:
        return jcs(body)
    except InputError:
        return None  # the slow path below names the event


def _stored(row: Any) -> StoredEvent:
    moment = datetime.fromisoformat(_iso(row[3]).replace("Z", "+00:00")).astimezone(UTC)
    body = EventBody(
        int(row[0]),
        row[1],
        row[2],
        moment,
        row[4],
        tuple(_decoded(row[5])),
        dict(_decoded(row[6])),
        row[7],
        int(row[9]),
    )
    return StoredEvent(body, row[8])


def check_rows(rows: Iterable[Any], start: int, wanted: Iterable[int]) -> ChunkResult:
    """Check events ``start + 1 …`` in order; record the compact range at each wanted size."""
    want = set(wanted)
    out = ChunkResult(start)
    acc = RootAccumulator()
    expected_seq, prev = start + 1, None
    sha256 = hashlib.sha256
    for row in rows:
        seq, stored_hash = int(row[0]), row[8]
        if out.first is None:
            out.first = _stored(row)
        if out.problem is None:
            scheme = int(row[9])
            body = _body(row, seq, _iso(row[3]))
            encoded = canonical_json_decoded(body) if scheme == 1 else _jcs_or_none(body)
            ok = (
                seq == expected_seq
                and (prev is None or row[7] == prev)
                and encoded is not None
                and sha256(encoded).hexdigest() == stored_hash
            )
            if not ok:  # the slow path names the problem exactly as verify_chain would
                event = _stored(row)
                message = _problem(event, expected_seq, prev if prev is not None else event.body.prev_hash)
                out.problem = (seq, row[1], message or "event does not verify", out.count)
        acc.add(sha256(b"\x00" + bytes.fromhex(stored_hash)).digest())
        out.count += 1
        if start + out.count in want:
            out.partial[start + out.count] = acc.stack
        expected_seq, prev = expected_seq + 1, stored_hash
    out.last_hash = prev
    out.stack = acc.stack
    return out


def _page(conn: Connection, after: int, until: int) -> Iterator[Any]:
    while after < until:
        rows = conn.execute(_ROWS, {"after": after, "until": until, "page": PAGE}).all()
        if not rows:
            return
        yield from rows
        after = int(rows[-1][0])


def check_chunk(url: str, start: int, end: int, wanted: Sequence[int]) -> ChunkResult:
    """Worker entry point: a chunk read on a connection of its own."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return check_rows(_page(conn, start, end), start, wanted)
    finally:
        engine.dispose()


def verify_log(
    conn: Connection,
    url: str,
    head: tuple[int, str],
    sizes: Iterable[int],
    workers: int | None = None,
    chunk_bits: int = CHUNK_BITS,
) -> LogCheck:
    """Chain report and the Merkle roots at ``sizes``, over every event stored."""
    top = conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM events")).scalar_one()
    chunk = 1 << chunk_bits
    starts = list(range(0, max(int(top), 1), chunk))
    wanted = sorted(set(sizes))
    jobs = [(s, s + chunk, [w for w in wanted if s < w <= s + chunk]) for s in starts]
    workers = workers if workers is not None else min(len(jobs), os.cpu_count() or 1, 4)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            results: Iterable[ChunkResult] = pool.map(check_chunk, *zip(*[(url, *j) for j in jobs], strict=True))
            return _combine(results, head, wanted)
    return _combine((check_rows(_page(conn, s, e), s, w) for s, e, w in jobs), head, wanted)


def _combine(results: Iterable[ChunkResult], head: tuple[int, str], wanted: Sequence[int]) -> LogCheck:
    prefix = RootAccumulator()
    roots: dict[int, bytes] = {0: root_of_stack([])} if 0 in wanted else {}
    report: ChainReport | None = None
    expected_prev, checked, size, aligned = GENESIS_HASH, 0, 0, True
    for part in results:
        first = part.first
        if report is None and first is not None:  # the link into this chunk, from the one before
            message = _problem(first, checked + 1, expected_prev)
            if message is not None:
                report = ChainReport(checked, False, expected_prev, first.body.seq, first.body.event_id, message)
        if report is None and part.problem is not None:
            seq, event_id, message, before = part.problem
            report = ChainReport(checked + before, False, expected_prev, seq, event_id, message)
        if aligned:  # a chunk with events missing shifts every later leaf: no root can match after it
            for at, stack in part.partial.items():
                roots[at] = root_of_stack(prefix.stack + stack)
            try:
                for height, h in part.stack:
                    prefix.add_subtree(height, h)
            except IntegrityError:
                aligned = False
        size += part.count
        if report is None:
            checked += part.count
            expected_prev = part.last_hash or expected_prev
    if report is None:
        head_seq, head_hash = head
        if (head_seq, head_hash) != (checked, expected_prev):
            report = ChainReport(
                checked,
                False,
                expected_prev,
                checked + 1,
                None,
                f"log ends at event #{checked} but its head records #{head_seq}: "
                "the newest events were deleted or the head was altered",
            )
        else:
            report = ChainReport(checked, True, expected_prev)
    return LogCheck(report, size, roots)


__all__ = ["CHUNK_BITS", "ChunkResult", "LogCheck", "check_chunk", "check_rows", "verify_log"]
