"""Build the audit report document (``qgov.audit-report/v1``) for one output.

Everything in it comes from the hash-chained log and the lineage graph: the upstream
trace, each node's classification with the rules and citations behind it, every access
decision, grant, fetch and release touching any node of the trace (followed through the
requests and grants they belong to), retention and deletion events, and the integrity
status — the chain and the signed checkpoints verified, and an inclusion proof of every
listed event checked against the latest checkpoint. ``governance.report`` renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from governance import signing
from governance import tables as t
from governance.app import App
from governance.audit import trusted_verifiers, verify_log
from governance.capabilities import authorize
from governance.db import snapshot
from governance.provenance import trace_lineage
from lineage import EventLog, StoredEvent, schema
from lineage.checkpoints import MerkleStore
from lineage.proofs import inclusion_document, verify_document
from qgov.canonical import iso_utc
from qgov.chunks import chunked
from qgov.errors import IntegrityError

REPORT_SCHEMA = "qgov.audit-report/v1"
ACCESS_TYPES = ("access.", "artifact.fetched", "release.", "grant.")
RETENTION_TYPES = ("retention.", "hold.", "artifact.deleted", "deletion.", "person.erased")
# officers' changes to what the lineage says: declassifications, overrides, retracted derivations
CHANGE_TYPES = ("classification.declassified", "classification.overridden", "lineage.retracted")
_SUMMARY_KEYS = ("outcome", "request", "grant", "licence", "purpose", "reason", "expires_at", "epsilon", "path")
_CHUNK = 2000


def build_report(app: App, node_id: str, keys: Sequence[str] = ()) -> dict[str, Any]:
    with snapshot(app.engine) as conn:
        authorize(conn, app.user, "audit.read")  # before the trace: a refusal reveals nothing
    trace = trace_lineage(app, node_id, "upstream")
    root = next(n for n in trace["nodes"] if n["id"] == node_id)
    ids = [n["id"] for n in trace["nodes"]]
    checkpoint = signing.checkpoint(app)  # proofs below need a checkpoint that covers the newest events
    with snapshot(app.engine) as conn:
        log = EventLog(conn)
        touching = _events_touching(conn, log, ids)
        access = [e for e in touching if e.body.type.startswith(ACCESS_TYPES)]
        retention = [e for e in touching if e.body.type.startswith(RETENTION_TYPES)]
        retention = _with_hold_releases(conn, log, retention)
        changes = [e for e in touching if e.body.type in CHANGE_TYPES]
        names = log.actor_names(sorted({e.body.actor_ref for e in [*access, *retention, *changes]}))
        merkle = MerkleStore(conn)
        proofs = [
            (
                e,
                inclusion_document(
                    e.body.canonical(),
                    e.hash,
                    checkpoint.size,
                    merkle.inclusion(e.body.seq, checkpoint.size),
                    checkpoint.note,
                ),
            )
            for e in [*access, *retention, *changes]
        ]
        classifications = _classifications(conn, trace["nodes"], trace["as_of"])
    verifiers = trusted_verifiers(app, keys)
    log_report = verify_log(app, keys)
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": iso_utc(datetime.now(UTC)),
        "generated_by": app.user,
        "subject": {
            "id": node_id,
            "name": root["name"],
            "type": root["type"],
            "dataset": root["attributes"].get("dataset"),
        },
        "trace": trace,
        "classifications": classifications,
        "access": [_event_row(e, names) for e in access],
        "retention": [_event_row(e, names) for e in retention],
        "changes": [_event_row(e, names) for e in changes],
        "keep_until": _keep_until(app, [n for n in trace["nodes"] if n["type"] == "artifact"]),
        "integrity": {
            "chain_ok": log_report.chain.ok,
            "checkpoint_ok": log_report.checkpoints.ok,
            "events_checked": log_report.chain.events_checked,
            "head_hash": log_report.chain.head_hash,
            **({"problem": log_report.chain.problem or log_report.checkpoints.problem} if not log_report.ok else {}),
            "checkpoint": {
                "size": checkpoint.size,
                "root_hash": checkpoint.root_hash,
                "note": checkpoint.note,
                "signature_ok": log_report.checkpoints.ok,
            },
            "inclusion": [
                {"event_seq": e.body.seq, "event_id": e.body.event_id, "verified": _verifies(doc, verifiers)}
                for e, doc in proofs
            ],
            "public_key": app.signer.verifier_key(),
        },
    }


def _with_hold_releases(conn: Connection, log: EventLog, retention: list[StoredEvent]) -> list[StoredEvent]:
    """A hold's release names only the hold: follow each hold placed on the lineage to it."""
    holds = sorted({str(e.body.payload["hold"]) for e in retention if e.body.type == "hold.placed"})
    seen = {e.body.seq for e in retention}
    released = [e for e in _events_touching(conn, log, holds) if e.body.type == "hold.released"]
    return sorted([*retention, *(e for e in released if e.body.seq not in seen)], key=lambda e: e.body.seq)


def _keep_until(app: App, artifacts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each artifact's keep-until date, end action and the holds keeping it (deleted ones: none)."""
    from governance.catalog import ArtifactDeletedError
    from governance.retention import retention_of

    out = []
    for node in artifacts:
        try:
            kept = retention_of(app, node["id"])
        except ArtifactDeletedError:
            continue  # deleted: its tombstone and certificate are in the retention events
        out.append(
            {
                "artifact": node["id"],
                "name": node["name"],
                "keep_until": kept["keep_until"],
                "action": kept["action"],
                "schedule": kept["schedule"],
                "holds": [h["hold"] for h in kept["holds"]],
            }
        )
    return sorted(out, key=lambda k: (str(k["name"]), k["artifact"]))


def _events_touching(conn: Connection, log: EventLog, ids: Sequence[str]) -> list[StoredEvent]:
    """Events about any of ``ids``, then about the requests and grants those events name."""
    seqs = _seqs_about(conn, ids)
    found = _load(log, seqs)
    related = {
        str(e.body.payload[k])
        for e in found
        if e.body.type.startswith(ACCESS_TYPES)
        for k in ("request", "grant")
        if isinstance(e.body.payload.get(k), str)
    }
    more = _seqs_about(conn, sorted(related)) - seqs
    return sorted([*found, *_load(log, more)], key=lambda e: e.body.seq)


def _seqs_about(conn: Connection, ids: Sequence[str]) -> set[int]:
    s = schema.event_subjects
    out: set[int] = set()
    for chunk in chunked(ids, _CHUNK):
        out |= {int(r.seq) for r in conn.execute(select(s.c.seq).where(s.c.subject_id.in_(chunk)))}
    return out


def _load(log: EventLog, seqs: Iterable[int]) -> list[StoredEvent]:
    found = (next(log.iter_events(batch=1, start=seq - 1), None) for seq in sorted(seqs))
    return [e for e in found if e is not None]


def _classifications(conn: Connection, nodes: Sequence[dict[str, Any]], as_of: str) -> list[dict[str, Any]]:
    """Each classified node's decision with the rules and citations it rests on; an officer's
    override shows who decided and why, above the automatic answer it replaced."""
    classified = [n for n in nodes if n.get("classification", {}).get("decision_id")]
    wanted = sorted({n["classification"]["decision_id"] for n in classified})
    ids = sorted({n["id"] for n in classified})
    c = t.classifications
    decisions: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    for start in range(0, max(len(wanted), len(ids)), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        decisions |= {r.decision_id: r for r in conn.execute(select(c).where(c.c.decision_id.in_(chunk)))}
        query = (
            select(c)
            .where(c.c.artifact_id.in_(ids[start : start + _CHUNK]), c.c.source == "override")
            .order_by(c.c.decided_at)
        )
        for r in conn.execute(query):
            if iso_utc(r.decided_at) <= as_of:
                overrides[r.artifact_id] = r
    out = []
    for node in classified:
        cls = node["classification"]
        automatic = decisions.get(cls["decision_id"])
        officer = overrides.get(node["id"]) if cls.get("basis") == "override" else None
        reasons = [
            {"rule": r.get("rule", ""), "citation": r.get("citation", ""), "text": r.get("text", "")}
            for r in (dict(automatic.result).get("reasons", []) if automatic is not None else [])
        ]
        if officer is not None:
            reasons.insert(
                0,
                {
                    "rule": "officer override",
                    "citation": f"replaces the automatic answer {automatic.classification if automatic else '?'}",
                    "text": officer.reason or "",
                },
            )
        decided = officer if officer is not None else automatic
        out.append(
            {
                "artifact": node["id"],
                "name": node["name"],
                "classification": cls.get("classification"),
                "controlled": cls.get("controlled"),
                "basis": cls.get("basis"),
                "source": decided.source if decided is not None else "automatic",
                "policy_version": cls.get("policy_version"),
                "decided_at": iso_utc(decided.decided_at) if decided is not None else cls.get("decided_at"),
                "decided_by": decided.decided_by if decided is not None else "qgov",
                "reasons": reasons,
            }
        )
    return sorted(out, key=lambda c: (str(c["name"]), c["artifact"]))


def _event_row(event: StoredEvent, names: dict[str, str]) -> dict[str, Any]:
    p = event.body.payload
    summary = ", ".join(
        f"{k} {p[k]}" for k in _SUMMARY_KEYS if isinstance(p.get(k), str | int | float) and p.get(k) != ""
    )
    return {
        "seq": event.body.seq,
        "event_id": event.body.event_id,
        "type": event.body.type,
        "occurred_at": iso_utc(event.body.occurred_at),
        "actor": names.get(event.body.actor_ref, "[unknown]"),
        "subjects": list(event.body.subjects),
        "summary": summary or event.body.type,
    }


def _verifies(doc: dict[str, Any], verifiers: Sequence[Any]) -> bool:
    for verifier in verifiers:
        try:
            verify_document(doc, verifier)
            return True
        except IntegrityError:
            continue
    return False


__all__ = ["REPORT_SCHEMA", "build_report"]
