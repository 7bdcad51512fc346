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

Every file of the folder lands in exactly one category of the run's summary: new,
unchanged, ingested by another run at the same time, quarantined (again, if it still
fails), deleted (bytes that were crypto-shredded at that path: never ingested again),
skipped (with a one-line reason: a symbolic link, a device, FIFO or socket, a file of the
store itself, a name that is not UTF-8) or failed (unreadable). A quarantine entry for a
path ends when that path's file is governed or replaced (see :mod:`governance.quarantine`).
Files are read only through :class:`storage.sources.SourceTree`, which never follows a
link out of the folder and never reads the store's own files.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert, make_url, select, tuple_, update

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.catalog import Dataset, artifact_id, get_dataset
from governance.classification import Classifier
from governance.db import transaction
from governance.formats import FormatInfo, extract
from governance.keys import fence_pending_keys
from governance.quarantine import release_superseded
from governance.validation import validate_table
from governance.vendors import any_not_known_uncontrolled, require_cleared_storage, storage_targets
from lineage import EdgeSpec, EventLog, NewEvent, NodeSpec, schema
from qgov.canonical import iso_utc
from qgov.chunks import chunked
from qgov.errors import InputError, RefusedFileError
from storage import FileStamp, PendingObject, digest_file
from storage.blobs import Opener
from storage.dvc import DvcRepoInfo, is_dvc_repo, read_dvc_repo
from storage.keys import data_key_template_name
from storage.sources import Listed, SourceTree, reopener

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
    tree: SourceTree
    skipped: tuple[dict[str, str], ...] = ()  # refused when the folder was listed

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
    concurrent: list[dict[str, Any]] = field(default_factory=list)  # committed by another run meanwhile
    skipped: list[dict[str, str]] = field(default_factory=list)  # refused when read: {"path", "reason"}
    deleted: list[dict[str, str]] = field(default_factory=list)  # shredded at this path: {"path", "artifact", "reason"}
    bytes: int = 0
    bytes_seen: int = 0

    @property
    def files_seen(self) -> int:
        return (
            len(self.ingested)
            + len(self.unchanged)
            + len(self.quarantined)
            + len(self.failed)
            + len(self.concurrent)
            + len(self.skipped)
            + len(self.deleted)
        )

    def merge(self, other: BatchResult) -> None:
        self.ingested += other.ingested
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined
        self.failed += other.failed
        self.concurrent += other.concurrent
        self.skipped += other.skipped
        self.deleted += other.deleted
        self.bytes += other.bytes
        self.bytes_seen += other.bytes_seen


# -- planning -----------------------------------------------------------------
def store_paths(app: App) -> list[Path]:
    """The store's own files and folders, which no ingest reads: QGOV_HOME, the key files
    wherever they are configured, the SQLite database and its journals, a local blob store."""
    settings = app.settings
    paths = [settings.home, settings.key_file, settings.signing_key_file]
    if settings.is_sqlite and (database := make_url(settings.database_url).database):
        paths += [Path(database + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    if "://" not in settings.storage_url or settings.storage_url.startswith("file://"):
        paths.append(Path(settings.storage_url.removeprefix("file://")))
    return [p.expanduser().resolve() for p in paths]


def _refuse_store(app: App, path: Path) -> None:
    root = path.resolve()
    try:
        st = os.stat(root)
    except OSError:
        return
    for protected in store_paths(app):
        try:
            same = os.path.samestat(st, os.stat(protected))
        except OSError:
            same = False
        if same or protected in root.parents:
            raise InputError(f"{path}: part of this qgov store ({protected}); the store's own files are never ingested")


def check_ingest(app: App, path: Path, dataset: str) -> Dataset:
    """Fail fast, before any flow starts: the path exists, the dataset and the key are there."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if not (path.is_dir() or path.is_file()):
        raise InputError(f"{path}: not a regular file or directory (a device, socket or pipe cannot be ingested)")
    if not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
        raise InputError(f"{path}: not readable (permission denied)")
    _refuse_store(app, path)
    app.kek  # noqa: B018 - raises ConfigError naming the missing or unsafe key file ("run qgov init")
    with app.engine.connect() as conn:
        authorize(conn, app.user, "dataset.ingest")
        return get_dataset(conn, dataset)


def plan_ingest(app: App, path: Path, dataset: str, follow_symlinks: bool = False) -> IngestPlan:
    """Resolve what an ingest of ``path`` into ``dataset`` covers; no state changes.

    The path the user names is resolved (a link they name is theirs to follow); below it,
    :class:`~storage.sources.SourceTree` decides what is read (see its module)."""
    ds = check_ingest(app, path, dataset)
    # Staged writes of a run that was killed are garbage: nothing references them.
    app.blobs.backend.clean_stale_staging()
    root = path.resolve()
    dvc_info = None
    base = root if root.is_dir() else root.parent
    tree = SourceTree.protecting(base, store_paths(app), follow_symlinks)
    listed: list[Listed] = []
    skipped: list[dict[str, str]] = []
    if root.is_dir():
        if is_dvc_repo(root):
            dvc_info = read_dvc_repo(root)
        for entry in tree.walk(skip=(".dvc",) if dvc_info is not None else ()):
            if isinstance(entry, Listed):
                listed.append(entry)
            else:
                skipped.append({"path": entry.path, "reason": entry.reason})
    else:
        listed.append(Listed(root.name, root.stat().st_size))
    files = tuple(SourceFile(base / f.rel, f.rel, f.size) for f in listed)
    return IngestPlan(
        dataset=ds.name,
        dataset_id=ds.id,
        root=base,
        source=str(root),
        files=files,
        dvc=dvc_info,
        run_id=str(uuid.uuid4()),
        total_bytes=sum(f.size for f in files),
        tree=tree,
        skipped=tuple(skipped),
    )


# -- one batch ----------------------------------------------------------------
def _md5(open_source: Opener) -> str:
    with open_source() as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def _dvc_source(plan: IngestPlan, f: SourceFile, open_source: Opener) -> dict[str, Any]:
    if plan.dvc is None:
        return {"kind": "file"}
    out = plan.dvc.output_for(f.rel)
    source: dict[str, Any] = {"kind": "dvc", "git_rev": plan.dvc.git_rev}
    if out is None:
        source["dvc_tracked"] = False
        return source
    source.update({"dvc_tracked": True, "dvc_stage": out.stage, "dvc_md5": out.md5})
    if out.hash_name not in (None, "md5"):  # an etag (imported URL) or a legacy hash: not an md5 of the bytes
        source.update(dvc_hash_name=out.hash_name, dvc_status="not_compared")
    elif not out.is_dir and out.md5:
        matches = _md5(open_source) == out.md5
        source["dvc_status"] = "matches" if matches else "modified"
    elif (expected := out.member_md5(f.rel)) is not None:  # the directory's manifest is in DVC's cache
        source["dvc_member_md5"] = expected
        source["dvc_status"] = "matches" if _md5(open_source) == expected else "modified"
    else:
        source["dvc_status"] = "in_tracked_directory"
    return source


def ingest_batch(
    app: App, plan: IngestPlan, batch: tuple[SourceFile, ...], progress: Callable[[int, int], None] | None = None
) -> BatchResult:
    """Ingest one batch atomically per artifact; see the module docstring for the protocol."""
    result = BatchResult()
    existing: dict[tuple[str, str], dict[str, Any]] = {}
    deleted: dict[tuple[str, str], dict[str, str]] = {}
    with app.engine.connect() as conn:
        dataset = get_dataset(conn, plan.dataset)
        paths = [f.rel for f in batch]
        for r in conn.execute(
            select(
                t.artifacts.c.id,
                t.artifacts.c.path,
                t.artifacts.c.sha256,
                t.artifacts.c.size,
                t.artifacts.c.media_type,
                t.artifacts.c.deleted_at,
                t.artifacts.c.deletion_certificate,
            ).where(t.artifacts.c.dataset_id == dataset.id, t.artifacts.c.path.in_(paths))
        ):
            if r.deleted_at is not None:  # a tombstone: its id is this path's and these bytes' for good
                deleted[(r.path, r.sha256)] = {
                    "path": r.path,
                    "artifact": r.id,
                    "reason": f"these bytes were deleted (crypto-shredded) at this path as artifact {r.id} on "
                    f"{iso_utc(r.deleted_at)} (certificate {r.deletion_certificate}); not ingested again",
                }
                continue
            existing[(r.path, r.sha256)] = {
                "id": r.id,
                "path": r.path,
                "sha256": r.sha256,
                "size": int(r.size),
                "media_type": r.media_type,
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
            candidate = _describe(plan, dataset, f, existing, deleted, new_quarantine, result)
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
                    pending[c.sha] = app.blobs.encrypt_file(
                        c.file.path, c.sha, c.stamp, open_source=lambda c=c: plan.tree.open(c.file.rel)
                    )
            except RefusedFileError as exc:  # swapped for a link or a device since it was hashed
                result.skipped.append({"path": c.file.rel, "reason": exc.diagnostics().removeprefix(f"{c.file.rel}: ")})
            except InputError as exc:
                result.failed.append({"path": c.file.rel, "error": exc.diagnostics()})
            else:
                new_artifacts.append({"summary": c.summary, "format": c.info.summary, "source": c.source})
                result.bytes += c.file.size
            tick(c.file)
        _commit_batch(app, plan, dataset, pending, new_artifacts, new_quarantine, result)
    except BaseException:
        app.blobs.discard(list(pending.values()))
        raise
    result.ingested = [a["summary"] for a in new_artifacts]
    # Quarantined by this run or, meanwhile, by another: either way the file is quarantined.
    result.quarantined = [{"path": q["path"], "sha256": q["sha256"], "reason": q["reason"]} for q in new_quarantine]
    release_superseded(app, dataset, plan.run_id, result)
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
    deleted: dict[tuple[str, str], dict[str, str]],
    new_quarantine: list[dict[str, Any]],
    result: BatchResult,
) -> _Candidate | None:
    """Hash, describe and validate one file; None when it is unchanged, quarantined, skipped or unreadable."""
    try:
        with plan.tree.open(f.rel) as held:  # one checked open; every reader below reads this file
            return _describe_open(plan, dataset, f, reopener(held), existing, deleted, new_quarantine, result)
    except RefusedFileError as exc:
        result.skipped.append({"path": f.rel, "reason": exc.diagnostics().removeprefix(f"{f.rel}: ")})
        return None
    except InputError as exc:
        result.failed.append({"path": f.rel, "error": exc.diagnostics()})
        return None


def _describe_open(
    plan: IngestPlan,
    dataset: Dataset,
    f: SourceFile,
    open_source: Opener,
    existing: dict[tuple[str, str], dict[str, Any]],
    deleted: dict[tuple[str, str], dict[str, str]],
    new_quarantine: list[dict[str, Any]],
    result: BatchResult,
) -> _Candidate | None:
    """:func:`_describe` on a file already opened and checked; readers come from ``open_source``."""
    sha, size, stamp = digest_file(f.path, open_source)
    if (f.rel, sha) in existing:
        result.unchanged.append(existing[(f.rel, sha)])
        return None
    if (f.rel, sha) in deleted:
        result.deleted.append(deleted[(f.rel, sha)])
        return None
    info = extract(f.path, f.rel, open_source)
    if info.tabular and dataset.expectations:
        outcome = validate_table(f.path, info.kind, dataset.expectations, open_source, f.rel)
        if not outcome.success:
            new_quarantine.append(
                {"path": f.rel, "sha256": sha, "reason": outcome.reason, "report": outcome.report, "size": size}
            )
            return None
    source = _dvc_source(plan, f, open_source)
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
    result: BatchResult,
) -> None:
    """Publish and record a batch. Moves what another run committed meanwhile to
    ``result.concurrent``, and what lost its content to a deletion meanwhile to ``result.failed``."""
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
        have_art = _existing_keys(conn, t.artifacts, dataset.id, [_key(a) for a in new_artifacts])
        result.concurrent += [a["summary"] for a in new_artifacts if _key(a) in have_art]
        new_artifacts[:] = [a for a in new_artifacts if _key(a) not in have_art]
        # Content that was stored when this batch began and crypto-shredded since: nothing to point at.
        lost = _shredded_blobs(conn, [sha for _, sha in map(_key, new_artifacts) if sha not in pending])
        result.failed += [
            {
                "path": a["summary"]["path"],
                "error": f"{a['summary']['path']}: identical content was deleted (crypto-shredded) while this run "
                "was ingesting it; run the ingest again to store it afresh",
            }
            for a in new_artifacts
            if a["summary"]["sha256"] in lost
        ]
        new_artifacts[:] = [a for a in new_artifacts if a["summary"]["sha256"] not in lost]
        have_q = _existing_keys(conn, t.quarantine, dataset.id, [(q["path"], q["sha256"]) for q in new_quarantine])
        to_quarantine = [q for q in new_quarantine if (q["path"], q["sha256"]) not in have_q]
        # Bytes identical to a crypto-shredded object get a fresh data key and ciphertext under
        # the same address; the old key stays destroyed, so the deleted artifact stays unreadable.
        recreated = _shredded_blobs(conn, list(pending))
        fence_pending_keys(app, conn, pending)  # a rotation may have overtaken this writer's key set
        if set(pending) - recreated:
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
                    if p.object_id not in recreated
                ],
            )
        for sha in recreated:
            p = pending[sha]
            conn.execute(
                update(t.blobs)
                .where(t.blobs.c.object_id == sha, t.blobs.c.shredded_at.is_not(None))
                .values(
                    size=p.size,
                    ciphertext_size=p.ciphertext_size,
                    wrapped_key=p.wrapped_key.ciphertext,
                    kek_key_id=p.wrapped_key.kek_key_id,
                    created_at=now,
                    shredded_at=None,
                )
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
                        "encryption": f"tink {data_key_template_name(a['summary']['size'])}",
                        **({"object": _RECREATED} if a["summary"]["sha256"] in recreated else {}),
                    },
                    occurred_at=now,
                )
                for i, a in enumerate(new_artifacts)
            ]
        if to_quarantine:
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
                    for q in to_quarantine
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
                for q in to_quarantine
            ]
        log.append_many(events)
        if new_artifacts:  # classified in the same transaction that governs them
            ids = [a["summary"]["id"] for a in new_artifacts]
            Classifier(app, conn).refresh(ids, "ingest")
            if storage_targets(app.settings) and any_not_known_uncontrolled(conn, ids):
                # before a byte is published: controlled (or not yet known) data goes to a
                # third party's storage only under a current vendor assessment (ADR 0035)
                require_cleared_storage(conn, app.settings, now)
        app.blobs.publish(list(pending.values()))


def _key(artifact: dict[str, Any]) -> tuple[str, str]:
    return artifact["summary"]["path"], artifact["summary"]["sha256"]


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
    """Which objects are stored and readable (a crypto-shredded object is not)."""
    if not shas:
        return set()
    rows = conn.execute(
        select(t.blobs.c.object_id).where(t.blobs.c.object_id.in_(shas), t.blobs.c.wrapped_key.is_not(None))
    )
    return {r.object_id for r in rows}


def _shredded_blobs(conn: Connection, shas: list[str]) -> set[str]:
    """Which objects have a row whose data key was destroyed by a deletion."""
    if not shas:
        return set()
    rows = conn.execute(
        select(t.blobs.c.object_id).where(t.blobs.c.object_id.in_(shas), t.blobs.c.wrapped_key.is_(None))
    )
    return {r.object_id for r in rows}


_RECREATED = "re-created under a fresh data key: the previous key was destroyed when identical bytes were deleted"


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


def finish_run(
    app: App, plan: IngestPlan, result: BatchResult, started_at: datetime, stages: int
) -> dict[str, str | None]:
    """Record the run (``ingest.completed``); returns the effective classification of each
    artifact the run found (new, unchanged or ingested by another run), by id."""
    counts = {
        "files": len(plan.files),
        "ingested": len(result.ingested),
        "unchanged": len(result.unchanged),
        "quarantined": len(result.quarantined),
        "failed": len(result.failed),
        "ingested_by_another_run": len(result.concurrent),
        "skipped": len(result.skipped) + len(plan.skipped),
        "deleted": len(result.deleted),
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
                status="completed_with_errors" if result.failed or result.skipped or plan.skipped else "completed",
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
        ids = [a["id"] for a in (*result.ingested, *result.unchanged, *result.concurrent)]
        return {
            r.id: r.classification
            for chunk in chunked(ids, 5000)
            for r in conn.execute(
                select(t.artifacts.c.id, t.artifacts.c.classification).where(t.artifacts.c.id.in_(chunk))
            )
        }


__all__ = [
    "BatchResult",
    "IngestPlan",
    "SourceFile",
    "check_ingest",
    "finish_run",
    "ingest_batch",
    "plan_ingest",
]
