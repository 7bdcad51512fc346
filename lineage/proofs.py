"""Self-contained proof documents a third party checks offline with only the log's public key.

``qgov.inclusion-proof/v1``: an event's canonical body, its leaf index, an RFC 6962 audit
path and the signed checkpoint it leads to. Verifying recomputes the event hash from the
body, the leaf from the hash, the root from the path, and checks the checkpoint's Ed25519
signature: a changed byte anywhere fails.

``qgov.consistency-proof/v1``: two signed checkpoints and the RFC 6962 proof that the
larger tree extends the smaller one (nothing was rewritten between them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lineage.chain import EVENT_SCHEMAS, body_hash
from lineage.merkle import leaf_hash, verify_consistency, verify_inclusion
from lineage.note import Checkpoint, NoteVerifier, verify_checkpoint
from qgov.errors import InputError, IntegrityError

INCLUSION_SCHEMA = "qgov.inclusion-proof/v1"
CONSISTENCY_SCHEMA = "qgov.consistency-proof/v1"


@dataclass(frozen=True)
class ProofResult:
    kind: str
    tree_size: int
    root_hash: str
    event_id: str | None = None
    seq: int | None = None
    old_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc = {"ok": True, "kind": self.kind, "tree_size": self.tree_size, "root_hash": self.root_hash}
        extra = {"event_id": self.event_id, "seq": self.seq, "old_size": self.old_size}
        return doc | {k: v for k, v in extra.items() if v is not None}


def inclusion_document(
    event: Mapping[str, Any], event_hash: str, size: int, path: Sequence[bytes], note: str
) -> dict[str, Any]:
    return {
        "schema": INCLUSION_SCHEMA,
        "event": dict(event),
        "event_hash": event_hash,
        "leaf_index": int(event["seq"]) - 1,
        "tree_size": size,
        "proof": [h.hex() for h in path],
        "checkpoint": note,
    }


def consistency_document(old_note: str, new_note: str, path: Sequence[bytes]) -> dict[str, Any]:
    return {
        "schema": CONSISTENCY_SCHEMA,
        "old_checkpoint": old_note,
        "checkpoint": new_note,
        "proof": [h.hex() for h in path],
    }


def verify_document(doc: Mapping[str, Any], verifier: NoteVerifier) -> ProofResult:
    """Check a proof document; raise IntegrityError naming what does not hold."""
    schema = doc.get("schema")
    if schema == INCLUSION_SCHEMA:
        return _verify_inclusion(doc, verifier)
    if schema == CONSISTENCY_SCHEMA:
        return _verify_consistency(doc, verifier)
    raise IntegrityError(f"schema: expected {INCLUSION_SCHEMA} or {CONSISTENCY_SCHEMA}, got {schema!r}")


def _verify_inclusion(doc: Mapping[str, Any], verifier: NoteVerifier) -> ProofResult:
    event = _field(doc, "event", dict)
    schemes = {name: number for number, name in EVENT_SCHEMAS.items()}
    if event.get("schema") not in schemes:
        raise IntegrityError(f"event.schema: expected one of {sorted(schemes)}, got {event.get('schema')!r}")
    try:
        recomputed = body_hash(event, schemes[event["schema"]])
    except InputError as exc:
        raise IntegrityError(f"event: {exc.diagnostics()}") from None
    claimed = _field(doc, "event_hash", str)
    if recomputed != claimed:
        raise IntegrityError(
            f"event hash mismatch: the event's content hashes to {recomputed[:16]}…, "
            f"the proof claims {claimed[:16]}… (the event was edited)"
        )
    checkpoint = _checkpoint(_field(doc, "checkpoint", str), verifier)
    index, size = _field(doc, "leaf_index", int), _field(doc, "tree_size", int)
    if size != checkpoint.size:
        raise IntegrityError(f"tree_size {size} does not match the signed checkpoint's size {checkpoint.size}")
    if event.get("seq") != index + 1:
        raise IntegrityError(f"leaf_index {index} does not match the event's sequence number {event.get('seq')}")
    leaf = leaf_hash(bytes.fromhex(recomputed))
    verify_inclusion(leaf, index, size, _hashes(doc), checkpoint.root_hash)
    return ProofResult("inclusion", size, checkpoint.root_hash.hex(), str(event.get("event_id")), index + 1)


def _verify_consistency(doc: Mapping[str, Any], verifier: NoteVerifier) -> ProofResult:
    old = _checkpoint(_field(doc, "old_checkpoint", str), verifier)
    new = _checkpoint(_field(doc, "checkpoint", str), verifier)
    if old.origin != new.origin:
        raise IntegrityError(f"the checkpoints are of different logs ({old.origin!r} and {new.origin!r})")
    verify_consistency(old.size, new.size, _hashes(doc), old.root_hash, new.root_hash)
    return ProofResult("consistency", new.size, new.root_hash.hex(), old_size=old.size)


def _checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    return verify_checkpoint(note, verifier)


def _field(doc: Mapping[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise IntegrityError(f"{name}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _hashes(doc: Mapping[str, Any]) -> list[bytes]:
    proof = _field(doc, "proof", list)
    try:
        return [bytes.fromhex(h) for h in proof]
    except (TypeError, ValueError):
        raise IntegrityError("proof: expected a list of hex-encoded SHA-256 hashes") from None


__all__ = [
    "CONSISTENCY_SCHEMA",
    "INCLUSION_SCHEMA",
    "ProofResult",
    "consistency_document",
    "inclusion_document",
    "verify_document",
]
