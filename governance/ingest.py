"""Ingest service: files, directory trees and DVC repositories into a dataset.

The unit of atomicity is the artifact and the unit of work is the batch:

1. outside any lock, each file of a batch is hashed, described, validated and (if its
   content is new) encrypted into staging;
2. then, in one transaction that first locks the head of the provenance log, the
   staged blobs are published (durably renamed into place) and the blob rows, artifact
   rows, quarantine rows and their events are inserted and committed together.

A run killed anywhere leaves either nothing of an artifact or all of it; staged files
are swept on the next run and a published blob without its row is simply re-encrypted
and replaced. Re-running finds every committed artifact by (dataset, path, sha256)
and ingests nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, select, tuple_

from governance import tables as t
from governance.app import App
from governance.catalog import Dataset, artifact_id, get_dataset
from governance.classification import Classifier
from governance.db import transaction
from governance.formats import FormatInfo, extract
from governance.keys import fence_pending_keys
from governance.validation import validate_table
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec, schema
from qgov.canonical import iso_utc
from qgov.errors import InputError
from storage import FileStamp, PendingObject, digest_file
from storage.dvc import DvcRepoInfo, is_dvc_repo, read_dvc_repo

BATCH_FILES = 1000
BATCH_BYTES = 256 << 20
_ACTIVITY_NS = uuid.UUID("0b7d3c8e-51f4-4e0b-a0a8-7e9e6f3c2d11")
INGEST_FLOW = NodeSpec.flow("qgov-ingest")


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    rel: str  # POSIX path relative to the ingest root: the artifact's path
    size: int


@dataclass(frozen=True)
class IngestPlan:
    dataset: str
    dataset_id: str
    root: Path
    source: str
    files: tuple[SourceFile, ...]
    dvc: DvcRepoInfo | None
    run_id: str
    total_bytes: int

    def batches(self, max_files: int = BATCH_FILES, max_bytes: int = BATCH_BYTES) -> list[tuple[SourceFile, ...]]:
        out: list[tuple[SourceFile, ...]] = []
        current: list[SourceFile] = []
        size = 0
        for f in self.files:
            if current and (len(current) >= max_files or size + f.size > max_bytes):
                out.append(tuple(current))
                current, size = [], 0
            current.append(f)
            size += f.size
        if current:
            out.append(tuple(current))
        return out


@dataclass
class BatchResult:
    ingested: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    bytes: int = 0
    bytes_seen: int = 0

    @property
    def files_seen(self) -> int:
        return len(self.ingested) + len(self.unchanged) + len(self.quarantined) + len(self.failed)

    def merge(self, other: BatchResult) -> None:
        self.ingested += other.ingested
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.failed += other.failed
        self.bytes += other.bytes
        self.bytes_seen += other.bytes_seen


# -- planning -----------------------------------------------------------------
def _walk(root: Path, skip_dvc_pointers: bool) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or (skip_dvc_pointers and name.endswith(".dvc")):
                continue
            yield Path(dirpath) / name


def check_ingest(app: App, path: Path, dataset: str) -> Dataset:
    """Fail fast, before any flow starts: the path exists, the dataset and the key are there."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if not (path.is_dir() or path.is_file()):
        raise InputError(f"{path}: not a regular file or directory (a device, socket or pipe cannot be ingested)")
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise InputError(f"{path}: not readable (permission denied)")
    with app.engine.connect() as conn:
        found = get_dataset(conn, dataset)
    app.kek  # noqa: B018 - raises ConfigError naming the missing or unsafe key file
    return found


def plan_ingest(app: App, path: Path, dataset: str) -> IngestPlan:
    """Resolve what an ingest of ``path`` into ``dataset`` covers; no state changes."""
    ds = check_ingest(app, path, dataset)
    # Staged writes of a run that was killed are garbage: nothing references them.
    app.blobs.backend.clean_stale_staging()
    root = path.resolve()
    dvc_info = None
    if root.is_dir():
        if is_dvc_repo(root):
            dvc_info = read_dvc_repo(root)
        candidates = list(_walk(root, skip_dvc_pointers=dvc_info is not None))
        base = root
    else:
        candidates = [root]
        base = root.parent
    files = []
    for candidate in candidates:
        try:
            size = candidate.stat().st_size
        except OSError:
            size = 0  # reported as unreadable when the batch gets to it
        if candidate.is_file() or not candidate.exists():
            files.append(SourceFile(candidate, candidate.relative_to(base).as_posix(), size))
    return IngestPlan(
        dataset=ds.name,
        dataset_id=ds.id,
        root=base,
        source=str(root),
        files=tuple(files),
        dvc=dvc_info,
        run_id=str(uuid.uuid4()),
        total_bytes=sum(f.size for f in files),
    )


# -- one batch ----------------------------------------------------------------
def _md5(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def _dvc_source(plan: IngestPlan, f: SourceFile) -> dict[str, Any]:
    if plan.dvc is None:
        return {"kind": "file"}
    out = plan.dvc.output_for(f.rel)
    source: dict[str, Any] = {"kind": "dvc", "git_rev": plan.dvc.git_rev}
    if out is None:
        source["dvc_tracked"] = False
        return source
    source.update({"dvc_tracked": True, "dvc_stage": out.stage, "dvc_md5": out.md5})
    if not out.is_dir and out.md5:
        matches = _md5(f.path) == out.md5
        source["dvc_status"] = "matches" if matches else "modified"
    else:
        source["dvc_status"] = "in_tracked_directory"
    return source


def ingest_batch(
    app: App, plan: IngestPlan, batch: tuple[SourceFile, ...], progress: Callable[[int, int], None] | None = None
) -> BatchResult:
    """Ingest one batch atomically per artifact; see the module docstring for the protocol."""
    result = BatchResult()
    with app.engine.connect() as conn:
        dataset = get_dataset(conn, plan.dataset)
        paths = [f.rel for f in batch]
        existing = {
            (r.path, r.sha256): {
                "id": r.id,
                "path": r.path,
                "sha256": r.sha256,
                "size": int(r.size),
                "media_type": r.media_type,
            }
            for r in conn.execute(
                select(
                    t.artifacts.c.id,
                    t.artifacts.c.path,
                    t.artifacts.c.sha256,
                    t.artifacts.c.size,
                    t.artifacts.c.media_type,
                ).where(t.artifacts.c.dataset_id == dataset.id, t.artifacts.c.path.in_(paths))
            )
        }
    pending: dict[str, PendingObject] = {}
    new_quarantine: list[dict[str, Any]] = []
    candidates: list[_Candidate] = []

    def tick(f: SourceFile) -> None:
        result.bytes_seen += f.size
        if progress is not None:
            progress(1, f.size)

    try:
        for f in batch:
            candidate = _describe(plan, dataset, f, existing, new_quarantine, result)
            if candidate is None:
                tick(f)
            else:
                candidates.append(candidate)
        with app.engine.connect() as conn:
            stored = _existing_blobs(conn, sorted({c.sha for c in candidates}))
        new_artifacts: list[dict[str, Any]] = []
        for c in candidates:
            try:
                if c.sha not in stored and c.sha not in pending:  # identical content is stored once
                    pending[c.sha] = app.blobs.encrypt_file(c.file.path, c.sha, c.stamp)
            except InputError as exc:
                result.failed.append({"path": c.file.rel, "error": exc.diagnostics()})
            else:
                new_artifacts.append({"summary": c.summary, "format": c.info.summary, "source": c.source})
                result.bytes += c.file.size
            tick(c.file)
        _commit_batch(app, plan, dataset, pending, new_artifacts, new_quarantine)
    except BaseException:
        app.blobs.discard(list(pending.values()))
        raise
    result.ingested = [a["summary"] for a in new_artifacts]
    result.quarantined = [{"path": q["path"], "sha256": q["sha256"], "reason": q["reason"]} for q in new_quarantine]
    return result


@dataclass(frozen=True)
class _Candidate:
    """A file that is new to the dataset, described and valid, waiting to be stored."""

    file: SourceFile
    sha: str
    stamp: FileStamp
    info: FormatInfo
    source: dict[str, Any]
    summary: dict[str, Any]


def _describe(
    plan: IngestPlan,
    dataset: Dataset,
    f: SourceFile,
    existing: dict[tuple[str, str], dict[str, Any]],
    new_quarantine: list[dict[str, Any]],
    result: BatchResult,
) -> _Candidate | None:
    """Hash, describe and validate one file; None when it is unchanged, quarantined or unreadable."""
    try:
        sha, size, stamp = digest_file(f.path)
        if (f.rel, sha) in existing:
            result.unchanged.append(existing[(f.rel, sha)])
            return None
        info = extract(f.path, f.rel)
        if info.tabular and dataset.expectations:
            outcome = validate_table(f.path, info.kind, dataset.expectations)
            if not outcome.success:
                new_quarantine.append(
                    {"path": f.rel, "sha256": sha, "reason": outcome.reason, "report": outcome.report, "size": size}
                )
                return None
        source = _dvc_source(plan, f)
    except InputError as exc:
        result.failed.append({"path": f.rel, "error": exc.diagnostics()})
        return None
    summary = {
        "id": artifact_id(dataset.id, f.rel, sha),
        "path": f.rel,
        "sha256": sha,
        "size": size,
        "media_type": info.media_type,
    }
    existing[(f.rel, sha)] = summary  # the same file twice in one batch is one artifact
    return _Candidate(SourceFile(f.path, f.rel, size), sha, stamp, info, source, summary)


def _commit_batch(
    app: App,
    plan: IngestPlan,
    dataset: Dataset,
    pending: dict[str, PendingObject],
    new_artifacts: list[dict[str, Any]],
    new_quarantine: list[dict[str, Any]],
) -> None:
    if not new_artifacts and not new_quarantine:
        return
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()  # serialises publishers: no two processes replace the same blob
        # Re-check under the lock: another process may have committed the same content.
        have_blob = _existing_blobs(conn, list(pending))
        for sha in have_blob:
            app.blobs.discard([pending.pop(sha)])
        have_art = _existing_keys(
            conn, t.artifacts, dataset.id, [(a["summary"]["path"], a["summary"]["sha256"]) for a in new_artifacts]
        )
        new_artifacts[:] = [a for a in new_artifacts if (a["summary"]["path"], a["summary"]["sha256"]) not in have_art]
        have_q = _existing_keys(conn, t.quarantine, dataset.id, [(q["path"], q["sha256"]) for q in new_quarantine])
        new_quarantine[:] = [q for q in new_quarantine if (q["path"], q["sha256"]) not in have_q]
        fence_pending_keys(app, conn, pending)  # a rotation may have overtaken this writer's key set
        app.blobs.publish(list(pending.values()))
        if pending:
            conn.execute(
                insert(t.blobs),
                [
                    {
                        "object_id": p.object_id,
                        "size": p.size,
                        "ciphertext_size": p.ciphertext_size,
                        "wrapped_key": p.wrapped_key.ciphertext,
                        "kek_key_id": p.wrapped_key.kek_key_id,
                        "created_at": now,
                    }
                    for p in pending.values()
                ],
            )
        events: list[NewEvent] = []
        if new_artifacts:
            conn.execute(
                insert(t.artifacts),
                [
                    {
                        "id": a["summary"]["id"],
                        "dataset_id": dataset.id,
                        "path": a["summary"]["path"],
                        "sha256": a["summary"]["sha256"],
                        "size": a["summary"]["size"],
                        "media_type": a["summary"]["media_type"],
                        "format": a["format"],
                        "source": a["source"],
                        "ingest_run_id": plan.run_id,
                        "created_at": now,
                    }
                    for a in new_artifacts
                ],
            )
            run_nodes, run_edges = _ingest_activity(conn, log, app, plan)
            events += [
                NewEvent(
                    "artifact.ingested",
                    app.user,
                    nodes=[_artifact_node(a["summary"], dataset.name), *(run_nodes if i == 0 else [])],
                    edges=[
                        EdgeSpec(a["summary"]["id"], plan.run_id, "wasGeneratedBy", run_nodes[0].name),
                        *(run_edges if i == 0 else []),
                    ],
                    subjects=[a["summary"]["id"], dataset.id, a["summary"]["sha256"]],
                    payload={
                        "dataset": dataset.name,
                        **a["summary"],
                        "format": a["format"],
                        "source": a["source"],
                        "ingest_run": plan.run_id,
                        "encryption": "tink AES256_GCM_HKDF_1MB",
                    },
                    occurred_at=now,
                )
                for i, a in enumerate(new_artifacts)
            ]
        if new_quarantine:
            conn.execute(
                insert(t.quarantine),
                [
                    {
                        "dataset_id": dataset.id,
                        "path": q["path"],
                        "sha256": q["sha256"],
                        "reason": q["reason"],
                        "report": q["report"],
                        "ingest_run_id": plan.run_id,
                        "created_at": now,
                    }
                    for q in new_quarantine
                ],
            )
            events += [
                NewEvent(
                    "artifact.quarantined",
                    app.user,
                    subjects=[dataset.id, q["sha256"]],
                    payload={
                        "dataset": dataset.name,
                        "path": q["path"],
                        "sha256": q["sha256"],
                        "size": q["size"],
                        "reason": q["reason"],
                        "ingest_run": plan.run_id,
                    },
                    occurred_at=now,
                )
                for q in new_quarantine
            ]
        log.append_many(events)
        if new_artifacts:  # classified in the same transaction that governs them
            Classifier(app, conn).refresh([a["summary"]["id"] for a in new_artifacts], "ingest")


def _artifact_node(summary: dict[str, Any], dataset: str) -> NodeSpec:
    return NodeSpec.entity(
        summary["id"],
        "artifact",
        summary["path"],
        dataset=dataset,
        sha256=summary["sha256"],
        size=summary["size"],
        media_type=summary["media_type"],
    )


def _ingest_activity(
    conn: Connection, log: EventLog, app: App, plan: IngestPlan
) -> tuple[list[NodeSpec], list[EdgeSpec]]:
    """The run's activity node, and (the first time only) who carried it out."""
    name = f"ingest {plan.dataset}"
    node = NodeSpec.activity(plan.run_id, "ingest", name, dataset=plan.dataset, source=plan.source)
    if conn.execute(select(schema.nodes.c.id).where(schema.nodes.c.id == plan.run_id)).first() is not None:
        return [node], []
    person = NodeSpec.person(log.actor_ref(app.user))
    return [node, person, INGEST_FLOW], [
        EdgeSpec(plan.run_id, person.id, "wasAssociatedWith", name),
        EdgeSpec(plan.run_id, INGEST_FLOW.id, "wasAssociatedWith", name),
    ]


def _existing_blobs(conn: Connection, shas: list[str]) -> set[str]:
    if not shas:
        return set()
    rows = conn.execute(select(t.blobs.c.object_id).where(t.blobs.c.object_id.in_(shas)))
    return {r.object_id for r in rows}


def _existing_keys(
    conn: Connection, table: Table, dataset_id: str, keys: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which (path, sha256) pairs ``table`` (artifacts or quarantine) already holds for a dataset."""
    if not keys:
        return set()
    rows = conn.execute(
        select(table.c.path, table.c.sha256).where(
            table.c.dataset_id == dataset_id, tuple_(table.c.path, table.c.sha256).in_(keys)
        )
    )
    return {(r.path, r.sha256) for r in rows}


# -- DVC lineage ----------------------------------------------------------------
def _activity_recorded(conn: Connection, activity: str) -> bool:
    return (
        conn.execute(
            select(schema.event_subjects.c.seq).where(schema.event_subjects.c.subject_id == activity).limit(1)
        ).first()
        is not None
    )


def record_dvc_lineage(app: App, plan: IngestPlan, artifacts: Sequence[dict[str, Any]]) -> int:
    """Turn each ``dvc.lock`` stage into an activity with used/wasGeneratedBy edges.

    ``artifacts`` are this run's artifacts (new and unchanged), so edges join exactly the
    file versions of the revision being ingested. Idempotent: a stage at the same git
    revision with the same recorded hashes is the same activity and is recorded once.
    """
    if plan.dvc is None or not plan.dvc.stages:
        return 0
    recorded = 0
    with transaction(app.engine) as conn:
        log = EventLog(conn)
        log.lock_head()
        current = {a["path"]: a["id"] for a in artifacts}
        for stage in plan.dvc.stages:
            fingerprint = "|".join(f"{o.path}={o.md5}" for o in (*stage.deps, *stage.outs))
            activity = str(uuid.uuid5(_ACTIVITY_NS, f"{plan.dataset_id}|{plan.dvc.git_rev}|{stage.name}|{fingerprint}"))
            if _activity_recorded(conn, activity):
                continue

            def members(out_path: str, is_dir: bool) -> list[str]:
                if not is_dir:
                    return [current[out_path]] if out_path in current else []
                prefix = out_path.rstrip("/") + "/"
                return [aid for p, aid in current.items() if p.startswith(prefix)]

            edge_specs: list[EdgeSpec] = []
            deps_payload, outs_payload = [], []
            for dep in stage.deps:
                ids = members(dep.path, dep.is_dir)
                deps_payload.append({"path": dep.path, "md5": dep.md5, "artifacts": ids})
                edge_specs += [EdgeSpec(activity, aid, "used", stage.name) for aid in ids]
            for out in stage.outs:
                ids = members(out.path, out.is_dir)
                outs_payload.append({"path": out.path, "md5": out.md5, "artifacts": ids})
                edge_specs += [EdgeSpec(aid, activity, "wasGeneratedBy", stage.name) for aid in ids]
            subjects = [activity, plan.dataset_id] + sorted(
                {e.parent_id for e in edge_specs} | {e.child_id for e in edge_specs} - {activity}
            )
            person = NodeSpec.person(log.actor_ref(app.user))
            edge_specs.append(EdgeSpec(activity, person.id, "wasAssociatedWith", stage.name))
            stage_node = NodeSpec.activity(
                activity, "dvc_stage", stage.name, cmd=stage.cmd, git_rev=plan.dvc.git_rev or "", dataset=plan.dataset
            )
            log.append_many(
                [
                    NewEvent(
                        "lineage.stage_recorded",
                        app.user,
                        nodes=[stage_node, person],
                        subjects=subjects,
                        payload={
                            "activity": activity,
                            "dataset": plan.dataset,
                            "stage": stage.name,
                            "cmd": stage.cmd,
                            "git_rev": plan.dvc.git_rev,
                            "deps": deps_payload,
                            "outs": outs_payload,
                        },
                    )
                ],
                edges=edge_specs,
            )
            outputs = sorted({e.child_id for e in edge_specs if e.relation == "wasGeneratedBy"})
            Classifier(app, conn).refresh(outputs, f"derived by DVC stage {stage.name}")  # inherit from inputs
            recorded += 1
    return recorded


def finish_run(app: App, plan: IngestPlan, result: BatchResult, started_at: datetime, stages: int) -> None:
    counts = {
        "files": len(plan.files),
        "ingested": len(result.ingested),
        "unchanged": len(result.unchanged),
        "quarantined": len(result.quarantined),
        "failed": len(result.failed),
        "bytes_ingested": result.bytes,
        "dvc_stages": stages,
    }
    now = datetime.now(UTC)
    with transaction(app.engine) as conn:
        conn.execute(
            insert(t.ingest_runs).values(
                id=plan.run_id,
                dataset_id=plan.dataset_id,
                source=plan.source,
                status="completed" if not result.failed else "completed_with_errors",
                started_at=started_at,
                finished_at=now,
                counts=counts,
            )
        )
        log = EventLog(conn)
        run_nodes, run_edges = _ingest_activity(conn, log, app, plan)
        version = str(uuid.uuid5(_ACTIVITY_NS, f"dataset-version|{plan.run_id}"))
        label = f"{plan.dataset}@{plan.dvc.git_rev[:12] if plan.dvc and plan.dvc.git_rev else iso_utc(now)}"
        log.append(
            NewEvent(
                "ingest.completed",
                app.user,
                nodes=[*run_nodes, NodeSpec.entity(version, "dataset_version", label, dataset=plan.dataset)],
                edges=[*run_edges, EdgeSpec(version, plan.run_id, "wasGeneratedBy", run_nodes[0].name)],
                subjects=[plan.run_id, plan.dataset_id, version],
                payload={
                    "dataset": plan.dataset,
                    "ingest_run": plan.run_id,
                    "git_rev": plan.dvc.git_rev if plan.dvc else None,
                    **counts,
                },
                occurred_at=now,
            )
        )


__all__ = [
    "BatchResult",
    "IngestPlan",
    "SourceFile",
    "check_ingest",
    "finish_run",
    "ingest_batch",
    "plan_ingest",
    "record_dvc_lineage",
]
