"""The provenance log in the database: append under a lock, read in order, verify.

Appends happen inside the caller's transaction, so an event commits or rolls back with
the state change it records. The head row is locked (``SELECT … FOR UPDATE`` on
PostgreSQL; SQLite transactions are ``BEGIN IMMEDIATE``, which serialises writers), so
concurrent writers never fork the chain.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lineage import schema
from lineage.chain import (
    CURRENT_HASH_SCHEME,
    GENESIS_HASH,
    ChainReport,
    EventBody,
    StoredEvent,
    event_hash,
    verify_chain,
)
from qgov.canonical import as_utc, sha256_hex
from qgov.chunks import chunked
from qgov.errors import InputError


@dataclass(frozen=True)
class EdgeSpec:
    """A PROV relation ``child -relation-> parent`` (see ``lineage.schema.edges``)."""

    child_id: str
    parent_id: str
    relation: str
    activity: str


NODE_KINDS = {"entity", "activity", "agent"}
RELATIONS = {"used", "wasGeneratedBy", "wasDerivedFrom", "wasAssociatedWith"}
_CHUNK = 5000  # ids per IN (...) list


@dataclass(frozen=True)
class NodeSpec:
    """A PROV node to register; registering an existing id again changes nothing."""

    id: str
    kind: str
    type: str
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def entity(cls, id: str, type: str, name: str, **attributes: Any) -> NodeSpec:  # noqa: A002 - PROV's words
        return cls(id, "entity", type, name, attributes)

    @classmethod
    def activity(cls, id: str, type: str, name: str, **attributes: Any) -> NodeSpec:  # noqa: A002
        return cls(id, "activity", type, name, attributes)

    @classmethod
    def person(cls, actor_ref: str) -> NodeSpec:
        """A person agent, named by the salted actor ref (the name stays erasable, outside the graph)."""
        return cls(actor_ref, "agent", "person", "")

    @classmethod
    def flow(cls, name: str) -> NodeSpec:
        return cls(f"flow:{name}", "agent", "flow", name)


@dataclass(frozen=True)
class NewEvent:
    """An event to append: what happened, to which objects, by whom."""

    type: str
    actor: str
    subjects: Sequence[str] = ()
    payload: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None
    edges: Sequence[EdgeSpec] = ()  # lineage this event records
    nodes: Sequence[NodeSpec] = ()


class HeadLockWait:
    """How long this process's transactions waited for the log's head lock (always on).

    Two clock reads per ``lock_head`` beside a database round trip: cheap enough to leave on.
    On PostgreSQL this is the wait for ``SELECT … FOR UPDATE``; on SQLite writers queue at
    ``BEGIN IMMEDIATE`` instead, before ``lock_head`` runs, so the wait shows there as ~0.
    ``benchmarks/scale.py`` reads it; ``snapshot(reset=True)`` starts a new measurement."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self.count = 0
        self.seconds = 0.0
        self.longest = 0.0

    def add(self, waited: float) -> None:
        with self._mutex:
            self.count += 1
            self.seconds += waited
            self.longest = max(self.longest, waited)

    def snapshot(self, reset: bool = False) -> dict[str, float]:
        with self._mutex:
            out = {"locks": self.count, "wait_s": self.seconds, "longest_wait_s": self.longest}
            if reset:
                self.count, self.seconds, self.longest = 0, 0.0, 0.0
        return out


HEAD_LOCK_WAIT = HeadLockWait()

# Set in ``Connection.info`` by a process acting for another person (``qgov --as``): every
# event appended on that connection records the acting admin beside its actor.
ACTING_ADMIN = "qgov.acting_admin"


class EventLog:
    """Append and read provenance events on one database connection."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._actor_cache: dict[str, str] = {}

    # -- people -------------------------------------------------------------------
    def actor_ref(self, name: str) -> str:
        """The salted reference that stands for ``name`` inside hashed events."""
        if name in self._actor_cache:
            return self._actor_cache[name]
        row = self.conn.execute(select(schema.actors.c.ref).where(schema.actors.c.name == name)).first()
        if row is None:
            salt = secrets.token_hex(16)
            ref = sha256_hex(f"qgov/actor/v1:{salt}:{name}".encode())
            self.conn.execute(insert(schema.actors).values(ref=ref, name=name, salt=salt, created_at=datetime.now(UTC)))
        else:
            ref = row.ref
        self._actor_cache[name] = ref
        return ref

    def personal_ref(self, name: str, text: str) -> str:
        """A reference to personal text (a screened name, an affiliation) that stands for it in
        hashed events: keyed by the person's secret salt, which erasure replaces, so the
        reference can no longer be linked to the text afterwards."""
        self.actor_ref(name)
        salt = self.conn.execute(select(schema.actors.c.salt).where(schema.actors.c.name == name)).scalar_one()
        return sha256_hex(f"qgov/personal/v1:{salt}:{text}".encode())

    # -- appending ----------------------------------------------------------------
    def lock_head(self) -> tuple[int, str]:
        """Lock the tip of the log for this transaction and return it (seq, hash)."""
        started = time.perf_counter()
        row = self.conn.execute(
            select(schema.chain_head.c.seq, schema.chain_head.c.hash)
            .where(schema.chain_head.c.id == 1)
            .with_for_update()
        ).first()
        HEAD_LOCK_WAIT.add(time.perf_counter() - started)
        if row is None:
            self.conn.execute(insert(schema.chain_head).values(id=1, seq=0, hash=GENESIS_HASH))
            return 0, GENESIS_HASH
        return int(row.seq), str(row.hash)

    def append(self, event: NewEvent) -> StoredEvent:
        return self.append_many([event])[0]

    def append_many(
        self, new_events: Sequence[NewEvent], edges: Sequence[EdgeSpec] = (), nodes: Sequence[NodeSpec] = ()
    ) -> list[StoredEvent]:
        """Append events (and the lineage nodes and edges the last of them records) in order."""
        if not new_events:
            return []
        for node in [*nodes, *(n for e in new_events for n in e.nodes)]:
            if node.kind not in NODE_KINDS:
                raise InputError(f"node {node.id}: kind {node.kind!r} is not one of {sorted(NODE_KINDS)}")
        for edge in [*edges, *(x for e in new_events for x in e.edges)]:
            if edge.relation not in RELATIONS:
                raise InputError(f"edge {edge.child_id}->{edge.parent_id}: relation {edge.relation!r} is not PROV")
        seq, prev = self.lock_head()
        now = datetime.now(UTC)
        stored: list[StoredEvent] = []
        rows: list[dict[str, Any]] = []
        subject_rows: list[dict[str, Any]] = []
        acting_admin = self.conn.info.get(ACTING_ADMIN)
        for new in new_events:
            seq += 1
            payload = dict(new.payload)
            if acting_admin is not None and acting_admin != new.actor:
                payload["acting_admin"] = self.actor_ref(acting_admin)
            body = EventBody(
                seq=seq,
                event_id=str(uuid.uuid4()),
                type=new.type,
                occurred_at=as_utc(new.occurred_at or now),
                actor_ref=self.actor_ref(new.actor),
                subjects=tuple(new.subjects),
                payload=payload,
                prev_hash=prev,
                hash_scheme=CURRENT_HASH_SCHEME,
            )
            digest = event_hash(body)
            stored.append(StoredEvent(body, digest))
            rows.append(
                {
                    "seq": seq,
                    "event_id": body.event_id,
                    "type": body.type,
                    "occurred_at": body.occurred_at,
                    "actor_ref": body.actor_ref,
                    "subjects": list(body.subjects),
                    "payload": body.payload,
                    "prev_hash": prev,
                    "hash": digest,
                    "hash_scheme": body.hash_scheme,
                }
            )
            subject_rows.extend({"subject_id": s, "seq": seq} for s in dict.fromkeys(body.subjects))
            prev = digest
        self.conn.execute(insert(schema.events), rows)
        if subject_rows:
            self.conn.execute(insert(schema.event_subjects), subject_rows)
        node_rows: dict[str, dict[str, Any]] = {}
        edge_specs: list[tuple[EdgeSpec, datetime, int]] = []
        attached = [(event, new.nodes, new.edges) for event, new in zip(stored, new_events, strict=True)]
        attached.append((stored[-1], nodes, edges))
        for event, its_nodes, its_edges in attached:
            at, at_seq = event.body.occurred_at, event.body.seq
            for n in its_nodes:
                node_rows.setdefault(
                    n.id,
                    {
                        "id": n.id,
                        "kind": n.kind,
                        "type": n.type,
                        "name": n.name,
                        "attributes": n.attributes,
                        "created_at": at,
                        "event_seq": at_seq,
                    },
                )
            edge_specs += [(e, at, at_seq) for e in its_edges]
        if node_rows:
            self._insert_nodes(list(node_rows.values()))
        if edge_specs:
            keys = self.node_keys({x for e, _, _ in edge_specs for x in (e.child_id, e.parent_id)})
            self.conn.execute(
                insert(schema.edges),
                [
                    {
                        "child_pk": keys[e.child_id],
                        "parent_pk": keys[e.parent_id],
                        "relation": e.relation,
                        "activity": e.activity,
                        "valid_from": at,
                        "event_seq": at_seq,
                    }
                    for e, at, at_seq in edge_specs
                ],
            )
        self.conn.execute(update(schema.chain_head).where(schema.chain_head.c.id == 1).values(seq=seq, hash=prev))
        self.conn.info["qgov.appended"] = True  # lets the transaction checkpoint before it commits
        return stored

    def _insert_nodes(self, rows: list[dict[str, Any]]) -> None:
        """Register nodes; an id already registered keeps its first record (idempotent re-runs)."""
        if self.conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            self.conn.execute(pg_insert(schema.nodes).on_conflict_do_nothing(index_elements=["id"]), rows)
        else:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            self.conn.execute(sqlite_insert(schema.nodes).on_conflict_do_nothing(index_elements=["id"]), rows)

    def node_keys(self, ids: Iterable[str]) -> dict[str, int]:
        """The integer key of each registered node id; an unregistered id is refused (an edge
        must not point at something the graph cannot describe)."""
        wanted = sorted(set(ids))
        keys: dict[str, int] = {}
        n = schema.nodes
        for chunk in chunked(wanted, _CHUNK):
            keys.update((r.id, int(r.pk)) for r in self.conn.execute(select(n.c.id, n.c.pk).where(n.c.id.in_(chunk))))
        missing = [i for i in wanted if i not in keys]
        if missing:
            raise InputError(f"lineage edge: {missing[0]!r} is not a registered lineage node (register it first)")
        return keys

    # -- reading ------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        row = self.conn.execute(
            select(schema.chain_head.c.seq, schema.chain_head.c.hash).where(schema.chain_head.c.id == 1)
        ).first()
        return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.hash))

    def iter_events(
        self,
        batch: int = 5000,
        subject: str | None = None,
        start: int = 0,
        types: Sequence[str] = (),
        actor_ref: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[StoredEvent]:
        """Events after ``start`` in log order, read in pages so memory stays flat; optionally
        only those of ``types``, by ``actor_ref``, or that occurred in [``since``, ``until``)."""
        last = start
        t = schema.events
        while True:
            query = select(t).where(t.c.seq > last).order_by(t.c.seq).limit(batch)
            if types:
                query = query.where(t.c.type.in_(list(types)))
            if actor_ref is not None:
                query = query.where(t.c.actor_ref == actor_ref)
            if since is not None:
                query = query.where(t.c.occurred_at >= since)
            if until is not None:
                query = query.where(t.c.occurred_at < until)
            if subject is not None:
                query = query.where(
                    t.c.seq.in_(
                        select(schema.event_subjects.c.seq).where(schema.event_subjects.c.subject_id == subject)
                    )
                )
            rows = self.conn.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield StoredEvent(
                    EventBody(
                        seq=int(row.seq),
                        event_id=row.event_id,
                        type=row.type,
                        occurred_at=as_utc(row.occurred_at),
                        actor_ref=row.actor_ref,
                        subjects=tuple(row.subjects),
                        payload=dict(row.payload),
                        prev_hash=row.prev_hash,
                        hash_scheme=int(row.hash_scheme),
                    ),
                    row.hash,
                )
            last = int(rows[-1].seq)

    def actor_names(self, refs: Sequence[str]) -> dict[str, str]:
        if not refs:
            return {}
        rows = self.conn.execute(
            select(schema.actors.c.ref, schema.actors.c.name).where(schema.actors.c.ref.in_(set(refs)))
        ).all()
        return {r.ref: (r.name or "[erased]") for r in rows}

    def verify(self) -> ChainReport:
        head_seq, head_hash = self.head()
        return verify_chain(self.iter_events(), head_seq, head_hash)


__all__ = [
    "ACTING_ADMIN",
    "HEAD_LOCK_WAIT",
    "HeadLockWait",
    "NODE_KINDS",
    "RELATIONS",
    "EdgeSpec",
    "EventLog",
    "NewEvent",
    "NodeSpec",
]
