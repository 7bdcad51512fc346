"""Signed checkpoints of the event log, inclusion and consistency proofs (CT / Rekor style).

The log is an RFC 6962 Merkle tree whose leaf ``i`` is ``SHA-256(0x00 ‖ H_i)`` with ``H_i``
the 32-byte hash of event ``seq = i + 1`` (the event hash already covers the event's
canonical body and its predecessor). A checkpoint commits to the whole log up to a size
in a C2SP ``tlog-checkpoint`` note signed with Ed25519 (C2SP ``signed-note``), so standard
tooling can read it; each new checkpoint is consistent with the previous one (the signer
checks the consistency proof before signing, so it never signs a fork).

Hashes of complete, aligned subtrees of ``2**level`` leaves (``level >= 8``) are kept in
``merkle_tiles``, so a root or a proof reads O(log n) rows plus at most 255 event hashes per
ragged edge. The tiles are a cache: :class:`RootAccumulator` recomputes roots from the events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from lineage import schema
from lineage.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    verify_consistency,
)
from lineage.note import Checkpoint, NoteSigner, NoteVerifier, sign_checkpoint, verify_checkpoint
from lineage.store import EventLog
from qgov.canonical import as_utc
from qgov.errors import IntegrityError, NotFoundError

TILE_LEVEL = 8
TILE = 1 << TILE_LEVEL


def event_leaf(event_hash_hex: str) -> bytes:
    """The Merkle leaf hash of an event, from its stored hex hash."""
    return leaf_hash(bytes.fromhex(event_hash_hex))


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root_hash: str
    note: str
    key_name: str
    key_hash: str
    created_at: datetime


class RootAccumulator:
    """Streams leaf hashes and yields the tree root whenever a wanted size is reached."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, left to right
        self.size = 0

    def add(self, leaf: bytes) -> None:
        self.size += 1
        height, h, stack = 0, leaf, self._stack
        while stack and stack[-1][0] == height:
            h = node_hash(stack.pop()[1], h)
            height += 1
        stack.append((height, h))

    def root(self) -> bytes:
        return root_of_stack(self._stack)

    @property
    def stack(self) -> list[tuple[int, bytes]]:
        """The compact range so far: (height, hash) of perfect subtrees, left to right."""
        return list(self._stack)

    def add_subtree(self, height: int, h: bytes) -> None:
        """Append a perfect subtree of ``2**height`` leaves (aligned: the size is a multiple)."""
        if self.size % (1 << height):
            raise IntegrityError(f"a subtree of height {height} cannot follow {self.size} leaves")
        self.size += 1 << height
        while self._stack and self._stack[-1][0] == height:
            h = node_hash(self._stack.pop()[1], h)
            height += 1
        self._stack.append((height, h))


def root_of_stack(stack: list[tuple[int, bytes]]) -> bytes:
    """The root of the tree whose compact range is ``stack`` (RFC 6962 shape)."""
    if not stack:
        return EMPTY_ROOT
    h = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        h = node_hash(left, h)
    return h


class MerkleStore:
    """The log's Merkle tree in the database: tiles, roots and proofs."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._leaf_cache: tuple[int, list[bytes]] | None = None  # (first index, leaves) of one read

    # -- leaves and tiles ---------------------------------------------------------
    def leaves(self, start: int, end: int) -> list[bytes]:
        cached = self._leaf_cache
        if cached is not None and cached[0] <= start and end <= cached[0] + len(cached[1]):
            return cached[1][start - cached[0] : end - cached[0]]
        e = schema.events
        rows = self.conn.execute(select(e.c.hash).where(e.c.seq > start, e.c.seq <= end).order_by(e.c.seq)).all()
        if len(rows) != end - start:
            raise IntegrityError(f"events #{start + 1}–#{end}: expected {end - start} events, found {len(rows)}")
        return [event_leaf(r.hash) for r in rows]

    def extend_tiles(self, size: int) -> None:
        """Store the hash of every complete aligned subtree of >= 256 leaves within ``size``."""
        t = schema.merkle_tiles
        level = TILE_LEVEL
        counts = {int(r[0]): int(r[1]) for r in self.conn.execute(select(t.c.level, func.count()).group_by(t.c.level))}
        while (size >> level) > 0:
            have = counts.get(level, 0)
            want = size >> level
            if have < want:
                rows = []
                for idx in range(have, want):
                    start = idx << level
                    if level == TILE_LEVEL:
                        acc = RootAccumulator()
                        for leaf in self.leaves(start, start + TILE):
                            acc.add(leaf)
                        h = acc.root()
                    else:
                        h = node_hash(self._tile(level - 1, 2 * idx), self._tile(level - 1, 2 * idx + 1))
                    rows.append({"level": level, "idx": idx, "hash": h.hex()})
                    if len(rows) >= 1000 or idx == want - 1:
                        self.conn.execute(insert(t), rows)
                        rows = []
            level += 1

    def _tile(self, level: int, idx: int) -> bytes:
        t = schema.merkle_tiles
        row = self.conn.execute(select(t.c.hash).where(t.c.level == level, t.c.idx == idx)).first()
        if row is None:
            raise IntegrityError(f"Merkle tile {level}/{idx} is missing")
        return bytes.fromhex(row.hash)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end), from tiles where aligned, else from the events."""
        n = end - start
        if n >= TILE and n & (n - 1) == 0 and start % n == 0:
            t = schema.merkle_tiles
            row = self.conn.execute(
                select(t.c.hash).where(t.c.level == n.bit_length() - 1, t.c.idx == start // n)
            ).first()
            if row is not None:
                return bytes.fromhex(row.hash)
        if n <= TILE:
            acc = RootAccumulator()
            for leaf in self.leaves(start, end):
                acc.add(leaf)
            return acc.root()
        k = 1 << ((n - 1).bit_length() - 1)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    # -- checkpoints --------------------------------------------------------------
    def latest(self) -> StoredCheckpoint | None:
        c = schema.checkpoints
        row = self.conn.execute(select(c).order_by(c.c.size.desc()).limit(1)).first()
        return _stored(row) if row is not None else None

    def covering(self, size: int) -> StoredCheckpoint | None:
        """The smallest checkpoint whose tree includes the first ``size`` events."""
        c = schema.checkpoints
        row = self.conn.execute(select(c).where(c.c.size >= size).order_by(c.c.size).limit(1)).first()
        return _stored(row) if row is not None else None

    def get(self, size: int) -> StoredCheckpoint:
        c = schema.checkpoints
        row = self.conn.execute(select(c).where(c.c.size == size)).first()
        if row is None:
            raise NotFoundError(f"no checkpoint of size {size}")
        return _stored(row)

    def all(self) -> list[StoredCheckpoint]:
        c = schema.checkpoints
        return [_stored(r) for r in self.conn.execute(select(c).order_by(c.c.size))]

    def checkpoint(self, signer: NoteSigner, now: datetime | None = None) -> StoredCheckpoint:
        """Sign the log as it stands (inside the caller's transaction; locks the head)."""
        size, _ = EventLog(self.conn).lock_head()
        previous = self.latest()
        if previous is not None and previous.size == size:
            return previous
        self.extend_tiles(size)
        # Every ragged subtree the root and the proof need lies after the last full tile before
        # the previous checkpoint: one read of those leaves instead of one per subtree.
        first = (min(previous.size if previous is not None else 0, size) // TILE) * TILE
        if size - first <= 4 * TILE:
            self._leaf_cache = (first, self.leaves(first, size))
        memo: dict[tuple[int, int], bytes] = {}

        def subtree(start: int, end: int) -> bytes:  # the root and the proof share most subtrees
            if (start, end) not in memo:
                memo[start, end] = self.subtree(start, end)
            return memo[start, end]

        root = EMPTY_ROOT if size == 0 else subtree(0, size)
        self.last_proof: tuple[int, list[bytes]] | None = None
        if previous is not None and previous.size > 0:
            proof = consistency_proof(previous.size, size, subtree)
            self.last_proof = (previous.size, proof)
            try:
                verify_consistency(previous.size, size, proof, bytes.fromhex(previous.root_hash), root)
            except IntegrityError as exc:
                raise IntegrityError(
                    f"refusing to sign: the log of {size} events does not extend checkpoint {previous.size} "
                    f"({exc.diagnostics()}); run 'qgov audit verify'"
                ) from None
        self._leaf_cache = None
        note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
        stored = StoredCheckpoint(
            size=size,
            root_hash=root.hex(),
            note=note,
            key_name=signer.name,
            key_hash=f"{signer.key_hash:08x}",
            created_at=now or datetime.now(UTC),
        )
        self.conn.execute(insert(schema.checkpoints).values(**stored.__dict__))
        return stored

    # -- proofs -------------------------------------------------------------------
    def inclusion(self, seq: int, size: int) -> list[bytes]:
        return inclusion_proof(seq - 1, size, self.subtree)

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(old_size, new_size, self.subtree)


@dataclass(frozen=True)
class CheckpointReport:
    checkpoints_checked: int
    ok: bool
    problem: str | None = None
    bad_size: int | None = None
    latest_size: int | None = None


def check_checkpoints(
    checkpoints: Iterable[StoredCheckpoint],
    roots: dict[int, bytes],
    verifiers: Iterable[NoteVerifier],
    log_size: int,
) -> CheckpointReport:
    """Check each checkpoint's signature, its note against its row, and its root against ``roots``.

    ``roots`` maps sizes to the roots recomputed from the events (see :class:`RootAccumulator`).
    """
    by_key = {(v.name, f"{v.key_hash:08x}"): v for v in verifiers}
    count, latest = 0, None
    for cp in checkpoints:
        verifier = by_key.get((cp.key_name, cp.key_hash))
        if verifier is None:
            return CheckpointReport(
                count, False, f"checkpoint {cp.size} is signed by an unknown key {cp.key_name}", cp.size
            )
        try:
            signed = verify_checkpoint(cp.note, verifier)
        except IntegrityError as exc:
            return CheckpointReport(count, False, f"checkpoint {cp.size}: {exc.diagnostics()}", cp.size)
        if (signed.size, signed.root_hash.hex()) != (cp.size, cp.root_hash):
            return CheckpointReport(
                count,
                False,
                f"checkpoint {cp.size}: its signed note says size {signed.size}, root "
                f"{signed.root_hash.hex()[:16]}…, but its record says root {cp.root_hash[:16]}…",
                cp.size,
            )
        if cp.size > log_size:
            return CheckpointReport(
                count,
                False,
                f"checkpoint {cp.size} covers more events than the log holds ({log_size}): events were deleted",
                cp.size,
            )
        recomputed = roots.get(cp.size)
        if recomputed is None or recomputed != signed.root_hash:
            got = recomputed.hex()[:16] + "…" if recomputed is not None else "nothing"
            return CheckpointReport(
                count,
                False,
                f"checkpoint {cp.size}: signed root {signed.root_hash.hex()[:16]}… but the events "
                f"give {got}: the log was rewritten after it was signed",
                cp.size,
            )
        count += 1
        latest = cp.size
    return CheckpointReport(count, True, latest_size=latest)


def check_extends(
    kept: Checkpoint, what: str, latest: StoredCheckpoint | None, log_size: int, merkle: MerkleStore
) -> str | None:
    """Why the log does not extend ``kept`` (a checkpoint held outside the database), or None.

    ``latest`` is the log's newest checkpoint, already checked against the events; an RFC 6962
    consistency proof from ``kept`` to it proves the log's first ``kept.size`` events are the
    ones ``kept`` signed.
    """
    if kept.size > log_size:
        return (
            f"{what} covers {kept.size} events but the log holds {log_size}: "
            "the database was rolled back or its newest events deleted"
        )
    if kept.size == 0:
        return None
    if latest is None or latest.size < kept.size:
        return f"{what} covers {kept.size} events but no signed checkpoint of the log covers them"
    try:
        proof = merkle.consistency(kept.size, latest.size)
        verify_consistency(kept.size, latest.size, proof, kept.root_hash, bytes.fromhex(latest.root_hash))
    except IntegrityError as exc:
        return (
            f"the log does not extend {what} of {kept.size} events (consistency proof to checkpoint "
            f"{latest.size}: {exc.diagnostics()}): events it covers were rewritten"
        )
    return None


def _stored(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(
        size=int(row.size),
        root_hash=row.root_hash,
        note=row.note,
        key_name=row.key_name,
        key_hash=row.key_hash,
        created_at=as_utc(row.created_at),
    )


__all__ = [
    "TILE",
    "CheckpointReport",
    "MerkleStore",
    "RootAccumulator",
    "StoredCheckpoint",
    "check_checkpoints",
    "check_extends",
    "event_leaf",
    "root_of_stack",
]
