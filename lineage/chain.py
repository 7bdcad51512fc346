"""The hash chain of the provenance log: pure functions over plain data.

Each event's hash is SHA-256 over a canonical encoding of its body, and the body includes
the previous event's hash and the event's sequence number. Which encoding is the event's
hash scheme, named in the body's ``schema`` field so the hash covers it (ADR 0014):

* scheme 1, ``qgov.event/v1``: qgov's own canonical JSON (``qgov.canonical``: nulls
  dropped, floats as Python's ``repr``) — events written before qgov 0012's migration;
* scheme 2, ``qgov.event/v2``: RFC 8785 (JSON Canonicalization Scheme), the body exactly
  as stored and exported (nulls kept) — every new event; standard tools in any language
  recompute it (docs/verify-with-node.md).
So editing, deleting, reordering or inserting any event changes a hash that every later
event depends on, and :func:`verify_chain` names the first event where the stored log
and the recomputed log part ways.

Personal data (a person's name) never enters the hashed body: the body carries
``actor_ref``, a salted hash of the person record kept beside the log, so a person can
be erased later without breaking the chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import rfc8785

from lineage._jcs import jcs_bytes
from qgov.canonical import canonical_hash, iso_utc, sha256_hex
from qgov.errors import InputError

GENESIS_HASH = "0" * 64
EVENT_SCHEMAS = {1: "qgov.event/v1", 2: "qgov.event/v2"}
EVENT_SCHEMA = EVENT_SCHEMAS[1]
CURRENT_HASH_SCHEME = 2


@dataclass(frozen=True)
class EventBody:
    """Everything about an event that its hash covers."""

    seq: int
    event_id: str
    type: str
    occurred_at: datetime
    actor_ref: str
    subjects: tuple[str, ...]
    payload: dict[str, Any]
    prev_hash: str
    hash_scheme: int = 1

    def canonical(self) -> dict[str, Any]:
        return canonical_body(
            self.seq,
            self.event_id,
            self.type,
            iso_utc(self.occurred_at),
            self.actor_ref,
            list(self.subjects),
            self.payload,
            self.prev_hash,
            self.hash_scheme,
        )


def canonical_body(
    seq: int,
    event_id: str,
    type: str,  # noqa: A002 - the event's field name
    occurred_at: str,
    actor_ref: str,
    subjects: list[str],
    payload: dict[str, Any],
    prev_hash: str,
    hash_scheme: int = 1,
) -> dict[str, Any]:
    """The document an event's hash is computed over (``occurred_at`` already in ISO form)."""
    return {
        "schema": EVENT_SCHEMAS[hash_scheme],
        "seq": seq,
        "event_id": event_id,
        "type": type,
        "occurred_at": occurred_at,
        "actor_ref": actor_ref,
        "subjects": subjects,
        "payload": payload,
        "prev_hash": prev_hash,
    }


def event_hash(body: EventBody) -> str:
    return body_hash(body.canonical(), body.hash_scheme)


def body_hash(document: dict[str, Any], hash_scheme: int) -> str:
    """SHA-256 (hex) of a canonical body under its hash scheme."""
    if hash_scheme == 1:
        return canonical_hash(document)
    return sha256_hex(jcs(document))


def jcs(value: Any) -> bytes:
    """RFC 8785 encoding; InputError for what it cannot hold (NaN, integers beyond 2^53)."""
    try:
        return jcs_bytes(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise InputError(f"value cannot be encoded by RFC 8785: {exc}") from None


@dataclass(frozen=True)
class StoredEvent:
    """An event as read back from storage: its body and the hash stored with it."""

    body: EventBody
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """Outcome of a verification: ``ok`` or the first bad event and why."""

    events_checked: int
    ok: bool
    head_hash: str
    first_bad_seq: int | None = None
    first_bad_event_id: str | None = None
    problem: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def verify_chain(
    events: Iterable[StoredEvent], head_seq: int | None = None, head_hash: str | None = None
) -> ChainReport:
    """Recompute the chain over ``events`` (in stored order) and compare with the head.

    ``head_seq``/``head_hash`` are the separately stored tip of the log; they catch the
    deletion of the newest events, which no remaining event can reveal.
    """
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in events:
        body = event.body
        problem = _problem(event, expected_seq, expected_prev)
        if problem is not None:
            return ChainReport(count, False, expected_prev, body.seq, body.event_id, problem)
        count += 1
        expected_prev = event.hash
        expected_seq += 1
    if head_seq is not None and head_hash is not None and (head_seq != expected_seq - 1 or head_hash != expected_prev):
        return ChainReport(
            count,
            False,
            expected_prev,
            expected_seq,
            None,
            f"log ends at event #{expected_seq - 1} but its head records #{head_seq}: "
            "the newest events were deleted or the head was altered",
        )
    return ChainReport(count, True, expected_prev)


def _problem(event: StoredEvent, expected_seq: int, expected_prev: str) -> str | None:
    """Why ``event`` cannot follow a chain that ends at ``expected_seq - 1``/``expected_prev``."""
    body = event.body
    if body.seq != expected_seq:
        if body.seq > expected_seq:
            return f"sequence gap: expected event #{expected_seq}, found #{body.seq} (events deleted or reordered)"
        return f"sequence out of order: expected event #{expected_seq}, found #{body.seq}"
    if body.prev_hash != expected_prev:
        return (
            f"prev_hash {body.prev_hash[:16]}… does not match the hash of event #{expected_seq - 1} "
            f"({expected_prev[:16]}…): an event was removed, inserted or reordered"
        )
    try:
        recomputed = event_hash(body)
    except InputError:
        return f"content cannot be encoded under its hash scheme {body.hash_scheme}: the event was edited"
    if recomputed != event.hash:
        return (
            f"content does not match its hash (stored {event.hash[:16]}…, recomputed {recomputed[:16]}…): "
            "the event was edited"
        )
    return None


__all__ = [
    "CURRENT_HASH_SCHEME",
    "EVENT_SCHEMA",
    "EVENT_SCHEMAS",
    "GENESIS_HASH",
    "ChainReport",
    "EventBody",
    "StoredEvent",
    "body_hash",
    "canonical_body",
    "event_hash",
    "jcs",
    "verify_chain",
]
