"""Classification service: every artifact classified, explained, overridable, inherited.

* **Automatic**: each artifact is classified from its dataset's description (the DESIGN.md
  ITEM), with the artifact's own kind where the file says more (a circuit or script is
  source code, a compiled binary object code, everything else follows the dataset).
* **Inherited**: an artifact generated from inputs (a DVC stage or a later derivation)
  takes the most restrictive effective classification of its inputs, until an officer
  approves a declassification of it.
* **Override**: an export-control officer may set the classification with a reason; the
  automatic answer stays recorded and visible.

Each decision is a row in ``classifications`` (decision id, policy version, input hash,
full evaluator output) and an ``artifact.classified`` event, written in the transaction
that changes the artifact, so an auditor can re-run it and get the same answer.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import get_artifact, get_dataset
from governance.db import transaction
from governance.vocabulary import check_classification
from lineage import EventLog, NewEvent, schema
from policies.bundle import Bundle
from policies.classify import Classification, classify, rank_of
from policies.jurisdictions import LAB_JURISDICTION
from qgov.chunks import chunked
from qgov.errors import InputError

JURISDICTION = LAB_JURISDICTION  # the lab's own: artifacts are classified under it
_SOURCE_SUFFIXES = {".qasm", ".py", ".c", ".cc", ".cpp", ".h", ".rs", ".jl", ".m", ".ipynb", ".go", ".java"}
_OBJECT_SUFFIXES = {".so", ".dll", ".exe", ".o", ".a", ".bin", ".whl", ".dylib"}


@dataclass(frozen=True)
class Change:
    """One artifact whose effective classification changed."""

    artifact: str
    path: str
    old: str | None
    new: str
    basis: str
    rule: str
    citation: str

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def artifact_kind(dataset_kind: str, path: str, media_type: str) -> str:
    """The ITEM kind of one file of a dataset: what the file says, else the dataset's kind."""
    if dataset_kind != "dataset":
        return dataset_kind
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _SOURCE_SUFFIXES or media_type == "text/x-openqasm":
        return "source_code"
    if suffix in _OBJECT_SUFFIXES or media_type in {"application/x-executable", "application/x-sharedlib"}:
        return "object_code"
    return "dataset"


def _edges_between(conn: Connection, ids: Sequence[str], downstream: bool) -> dict[str, set[str]]:
    """artifact -wasGeneratedBy-> activity -used-> input, from either end, in chunks."""
    gen = schema.edges.alias("gen")
    used = schema.edges.alias("used")
    output = schema.nodes.alias("output")
    source = schema.nodes.alias("source")
    out: dict[str, set[str]] = {}
    for chunk in chunked(list(ids), 5000):
        if downstream:  # input -> outputs
            query = select(source.c.id, output.c.id).where(source.c.id.in_(chunk))
        else:  # output -> inputs
            query = select(output.c.id, source.c.id).where(output.c.id.in_(chunk))
        query = (
            query.select_from(gen)
            .join(used, used.c.child_pk == gen.c.parent_pk)
            .join(output, output.c.pk == gen.c.child_pk)
            .join(source, source.c.pk == used.c.parent_pk)
            .where(
                gen.c.relation == "wasGeneratedBy",
                used.c.relation == "used",
                gen.c.valid_to.is_(None),
                used.c.valid_to.is_(None),
            )
        )
        for key, value in conn.execute(query):
            out.setdefault(key, set()).add(value)
    return out


def _parents(conn: Connection, artifact_ids: Iterable[str]) -> dict[str, set[str]]:
    return _edges_between(conn, list(artifact_ids), downstream=False)


def _children(conn: Connection, artifact_ids: Iterable[str]) -> dict[str, set[str]]:
    return _edges_between(conn, list(artifact_ids), downstream=True)


def downstream_order(conn: Connection, roots: Sequence[str]) -> list[str]:
    """``roots`` and everything derived from them, parents before children."""
    seen: set[str] = set(roots)
    frontier = list(roots)
    while frontier:
        found = {c for cs in _children(conn, frontier).values() for c in cs} - seen
        seen |= found
        frontier = list(found)
    parents = _parents(conn, seen)
    indegree = {a: len(parents.get(a, set()) & seen) for a in seen}
    kids: dict[str, set[str]] = {}
    for child, ps in parents.items():
        for p in ps & seen:
            kids.setdefault(p, set()).add(child)
    queue = deque(sorted(a for a, d in indegree.items() if d == 0))
    order: list[str] = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for child in sorted(kids.get(node, ())):
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    return order + sorted(seen - set(order))  # a cycle (refused at write time) cannot hide nodes


class Classifier:
    """Recompute effective classifications inside one transaction, recording every change."""

    def __init__(self, app: App, conn: Connection, bundle: Bundle | None = None) -> None:
        self.app = app
        self.conn = conn
        self.bundle = bundle or app.policies.get(JURISDICTION)
        self.log = EventLog(conn)
        self._datasets: dict[str, Any] = {}

    def _dataset(self, dataset_id: str) -> Any:
        if dataset_id not in self._datasets:
            self._datasets[dataset_id] = self.conn.execute(
                select(t.datasets).where(t.datasets.c.id == dataset_id)
            ).one()
        return self._datasets[dataset_id]

    def item_for(self, row: Any) -> dict[str, Any]:
        ds = self._dataset(row.dataset_id)
        return {
            "name": row.path,
            "kind": artifact_kind(ds.kind, row.path, row.media_type),
            "subject": dict(ds.subject),
            "research": dict(ds.research),
            "published": bool(ds.published),
            "catalog_course": bool(ds.catalog_course),
        }

    def refresh(self, artifact_ids: Sequence[str], why: str) -> list[Change]:
        """Re-evaluate ``artifact_ids`` and everything downstream, in lineage order."""
        changes: list[Change] = []
        order = downstream_order(self.conn, artifact_ids)
        rows = {
            r.id: r
            for chunk in chunked(order, 5000)
            for r in self.conn.execute(select(t.artifacts).where(t.artifacts.c.id.in_(chunk)))
        }
        effective: dict[str, tuple[str | None, bool | None]] = {
            a: (r.classification, r.controlled) for a, r in rows.items()
        }
        parents = _parents(self.conn, order)
        missing_parents = {p for ps in parents.values() for p in ps} - set(rows)
        if missing_parents:
            for r in self.conn.execute(
                select(t.artifacts.c.id, t.artifacts.c.classification, t.artifacts.c.controlled).where(
                    t.artifacts.c.id.in_(missing_parents)
                )
            ):
                effective[r.id] = (r.classification, r.controlled)
        self._active: dict[tuple[str, str], Any] = {}
        for chunk in chunked(order, 5000):
            for decision in self.conn.execute(
                select(*[c for c in t.classifications.c if c.name != "result"]).where(  # not the bulky JSON
                    t.classifications.c.artifact_id.in_(chunk), t.classifications.c.active
                )
            ):
                self._active[(decision.artifact_id, decision.source)] = decision
        events: list[NewEvent] = []
        self._artifact_updates: list[dict[str, Any]] = []
        self._retired: list[dict[str, Any]] = []
        self._decisions: list[dict[str, Any]] = []
        for artifact in order:
            row = rows.get(artifact)
            if row is None:
                continue
            change, event, effective[artifact] = self._evaluate(row, parents.get(artifact, set()), effective, why)
            if change is not None:
                changes.append(change)
            if event is not None:
                events.append(event)
        self._flush()
        self.log.append_many(events)
        return changes

    def _flush(self) -> None:
        """Write the batch's decisions and artifact updates with one statement each."""
        if self._retired:
            self.conn.execute(
                update(t.classifications)
                .where(t.classifications.c.decision_id == bindparam("retired_id"))
                .values(active=False),
                self._retired,
            )
        if self._decisions:
            self.conn.execute(insert(t.classifications), self._decisions)
        if self._artifact_updates:
            self.conn.execute(
                update(t.artifacts)
                .where(t.artifacts.c.id == bindparam("artifact_id"))
                .values(
                    classification=bindparam("new_classification"),
                    controlled=bindparam("new_controlled"),
                    classification_basis=bindparam("new_basis"),
                    classification_decision=bindparam("new_decision"),
                    kind=bindparam("new_kind"),
                ),
                self._artifact_updates,
            )

    def _evaluate(
        self, row: Any, parent_ids: set[str], effective: dict[str, tuple[str | None, bool | None]], why: str
    ) -> tuple[Change | None, NewEvent | None, tuple[str | None, bool | None]]:
        item = self.item_for(row)
        answer = classify(item, self.bundle)
        now = datetime.now(UTC)
        override = self._active.get((row.id, "override"))
        basis, new, controlled, rule, citation = (
            "automatic",
            answer.classification,
            answer.controlled,
            _first_rule(answer),
            _first_citation(answer),
        )
        if override is not None:
            basis, new, controlled, rule, citation = (
                "override",
                override.classification,
                override.controlled,
                "officer override",
                override.reason or "",
            )
        elif not row.declassified:
            strongest = max(
                ((effective[p], p) for p in parent_ids if p in effective and effective[p][0] is not None),
                key=lambda e: (rank_of(*e[0]), e[0][0] or ""),
                default=None,
            )
            if strongest is not None and rank_of(*strongest[0]) > rank_of(new, controlled):
                (new, controlled), source = strongest
                basis, rule, citation = "inherited", f"inherited from {source}", "most restrictive input (lineage)"
        automatic_changed = self._record_automatic(row, answer, item, now)
        if new == row.classification and basis == row.classification_basis and not automatic_changed:
            return None, None, (new, controlled)
        decision = automatic_changed or row.classification_decision or str(uuid.uuid4())
        self._artifact_updates.append(
            {
                "artifact_id": row.id,
                "new_classification": new,
                "new_controlled": controlled,
                "new_basis": basis,
                "new_decision": decision,
                "new_kind": item["kind"],
            }
        )
        change = None
        if new != row.classification or basis != row.classification_basis:
            change = Change(row.id, row.path, row.classification, new, basis, rule, citation)
        event = NewEvent(
            "artifact.classified",
            self.app.user,
            subjects=[row.id],
            payload={
                "decision_id": decision,
                "classification": new,
                "previous": row.classification,
                "basis": basis,
                "automatic": answer.classification,
                "rules": [r.rule for r in answer.reasons],
                "policy_version": answer.policy_version,
                "jurisdiction": answer.jurisdiction,
                "input_hash": answer.input_hash,
                "why": why,
            },
            occurred_at=now,
        )
        return change, event, (new, controlled)

    def _record_automatic(self, row: Any, answer: Classification, item: dict[str, Any], now: datetime) -> str | None:
        """Store a new automatic decision when the answer or its policy changed; its id, else None."""
        current = self._active.get((row.id, "automatic"))
        if current is not None and (current.policy_version, current.input_hash) == (
            answer.policy_version,
            answer.input_hash,
        ):
            return None
        if current is not None:
            self._retired.append({"retired_id": current.decision_id})
        decision = str(uuid.uuid4())
        self._decisions.append(
            {
                "decision_id": decision,
                "artifact_id": row.id,
                "source": "automatic",
                "classification": answer.classification,
                "controlled": answer.controlled,
                "jurisdiction": answer.jurisdiction,
                "policy_version": answer.policy_version,
                "input_hash": answer.input_hash,
                "result": answer.to_json() | {"item": item},
                "reason": None,
                "decided_by": "qgov",
                "decided_at": now,
                "active": True,
            }
        )
        return decision


def _first_rule(answer: Classification) -> str:
    return answer.reasons[0].rule if answer.reasons else ""


def _first_citation(answer: Classification) -> str:
    return answer.reasons[0].citation if answer.reasons else ""


# -- officer actions ------------------------------------------------------------
OFFICER = "export_control_officer"


def override(app: App, artifact: str, classification: str, reason: str) -> list[Change]:
    """An officer sets an artifact's classification; the automatic answer stays recorded."""
    if not reason.strip():
        raise InputError("--reason: an override needs a reason (it is part of the record)")
    classification = classification.strip()
    if not classification:
        raise InputError("--as: expected a classification such as EAR99, 4E906 or NOT_SUBJECT")
    controlled = None if classification == "INCOMPLETE" else classification not in {"EAR99", "NOT_SUBJECT"}
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "classification.override")  # before any lookup: a refusal reveals nothing
        check_classification(app.policies.get(JURISDICTION), classification)
        found = get_artifact(conn, artifact)
        now = datetime.now(UTC)
        conn.execute(
            update(t.classifications)
            .where(t.classifications.c.artifact_id == found.id, t.classifications.c.source == "override")
            .values(active=False)
        )
        decision = str(uuid.uuid4())
        bundle = app.policies.get(JURISDICTION)
        conn.execute(
            insert(t.classifications).values(
                decision_id=decision,
                artifact_id=found.id,
                source="override",
                classification=classification,
                controlled=controlled,
                jurisdiction=JURISDICTION,
                policy_version=bundle.version,
                input_hash="",
                result={"classification": classification},
                reason=reason,
                decided_by=app.user,
                decided_at=now,
                active=True,
            )
        )
        EventLog(conn).append(
            NewEvent(
                "classification.overridden",
                app.user,
                [found.id],
                {"decision_id": decision, "classification": classification, "reason": reason},
            )
        )
        return Classifier(app, conn).refresh([found.id], f"override by {app.user}")


def declassify(app: App, artifact: str, reason: str) -> list[Change]:
    """An officer approves that a derived artifact no longer inherits its inputs' classification."""
    if not reason.strip():
        raise InputError("--reason: a declassification needs a reason (it is part of the record)")
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "classification.override")  # before any lookup: a refusal reveals nothing
        found = get_artifact(conn, artifact)
        conn.execute(update(t.artifacts).where(t.artifacts.c.id == found.id).values(declassified=True))
        EventLog(conn).append(NewEvent("classification.declassified", app.user, [found.id], {"reason": reason}))
        return Classifier(app, conn).refresh([found.id], f"declassification by {app.user}")


def set_research(app: App, dataset: str, changes: dict[str, bool | None]) -> list[Change]:
    """Change a dataset's research context (e.g. sponsor restrictions accepted) and reclassify."""
    with transaction(app.engine) as conn:
        ds = get_dataset(conn, dataset)
        if ds.owner != app.user:  # the dataset's owner may always correct it
            authorize(conn, app.user, "dataset.update")
        research = dict(ds.research) | changes
        conn.execute(update(t.datasets).where(t.datasets.c.id == ds.id).values(research=research))
        EventLog(conn).append(
            NewEvent("dataset.updated", app.user, [ds.id], {"dataset": ds.name, "research": research})
        )
        ids = [r.id for r in conn.execute(select(t.artifacts.c.id).where(t.artifacts.c.dataset_id == ds.id))]
        return Classifier(app, conn).refresh(ids, f"research context of {ds.name} changed")


RECLASSIFY_BATCH = 500  # artifacts per transaction: a writer waits for one batch, not the whole store


def reclassify_all(
    app: App, batch_size: int = RECLASSIFY_BATCH, after_batch: Callable[[int, int], None] | None = None
) -> list[Change]:
    """Re-evaluate every artifact under the current policy, ``batch_size`` per transaction.

    Resumable: the checkpoint is the store itself. An artifact whose active automatic
    decision was made under the policy version being applied is skipped (a batch committed
    before a kill is not evaluated again), and re-evaluating one that is up to date writes
    no decision and no event, so a re-run after a kill finishes the work exactly once.
    Artifacts derived from a batch are re-evaluated with it (lineage order), whichever
    batch they fall in. ``after_batch(batches_done, artifacts_done)`` runs after each commit.
    """
    if batch_size < 1:
        raise InputError(f"batch size {batch_size}: expected at least 1")
    version = app.policies.get(JURISDICTION).version
    current = (
        select(t.classifications.c.artifact_id)
        .where(t.classifications.c.active, t.classifications.c.source == "automatic")
        .where(t.classifications.c.policy_version == version)
    )
    changes: list[Change] = []
    last, batches, done = "", 0, 0
    while True:
        with transaction(app.engine) as conn:
            authorize(conn, app.user, "classification.reclassify")
            ids = list(
                conn.execute(
                    select(t.artifacts.c.id)
                    .where(t.artifacts.c.id > last, t.artifacts.c.id.not_in(current))
                    .order_by(t.artifacts.c.id)
                    .limit(batch_size)
                ).scalars()
            )
            if not ids:
                return changes
            changes += Classifier(app, conn).refresh(ids, "policy re-evaluation")
        last, batches, done = ids[-1], batches + 1, done + len(ids)
        if after_batch is not None:
            after_batch(batches, done)


def history(app: App, artifact: str) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        authorize(conn, app.user, "catalog.read")
        rows = conn.execute(
            select(t.classifications)
            .where(t.classifications.c.artifact_id == artifact)
            .order_by(t.classifications.c.decided_at)
        ).all()
    return [
        {
            "decision_id": r.decision_id,
            "source": r.source,
            "classification": r.classification,
            "active": r.active,
            "policy_version": r.policy_version,
            "input_hash": r.input_hash or None,
            "reason": r.reason,
            "decided_by": r.decided_by,
            "rules": [x["rule"] for x in r.result.get("reasons", [])],
        }
        for r in rows
    ]


__all__ = [
    "Change",
    "Classifier",
    "artifact_kind",
    "declassify",
    "downstream_order",
    "history",
    "override",
    "RECLASSIFY_BATCH",
    "reclassify_all",
    "set_research",
]
