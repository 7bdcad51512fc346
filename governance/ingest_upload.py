"""Ingest of files uploaded through a form (the web interface's "Ingest files").

The uploaded bytes are written to a private temporary folder (0700, files 0600, created
under :func:`qgov.private_files.private_umask`) outside the store, ingested by the same
service steps as ``qgov ingest`` (plan, one batch at a time, DVC lineage, the run record;
without Prefect, since the request is the unit of work) and the folder is removed
afterwards, also when the ingest fails: no plaintext stays behind in temp files.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from governance.app import App
from governance.catalog import authorize, get_dataset
from governance.ingest import BatchResult, finish_run, ingest_batch, plan_ingest, record_dvc_lineage
from qgov.errors import InputError
from qgov.private_files import private_umask

MAX_FILES = 1000
CHUNK = 1 << 20


@dataclass(frozen=True)
class UploadResult:
    dataset: str
    run_id: str
    ingested: list[dict[str, Any]]
    unchanged: list[dict[str, Any]]
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    bytes_ingested: int = 0

    def summary(self) -> str:
        return (
            f"dataset {self.dataset}: {len(self.ingested)} new, {len(self.unchanged)} unchanged, "
            f"{len(self.quarantined)} quarantined, {len(self.skipped)} skipped, {len(self.failed)} unreadable"
        )


def safe_name(name: str) -> str:
    """An uploaded file's name as a plain file name, or InputError naming it."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not base or base in {".", ".."} or base.startswith(".") or any(ord(c) < 32 for c in base) or len(base) > 200:
        raise InputError(f"files: {name!r} is not a usable file name (expected a plain name such as t1.csv)")
    return base


def ingest_uploads(app: App, dataset: str, files: Iterable[tuple[str, IO[bytes]]]) -> UploadResult:
    """Ingest uploaded ``(file name, readable stream)`` pairs into ``dataset`` as the acting person."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "dataset.ingest")  # before a byte is written anywhere
        get_dataset(conn, dataset)
    with private_umask():
        folder = Path(tempfile.mkdtemp(prefix="qgov-upload-"))
    try:
        names: set[str] = set()
        for name, stream in files:
            base = safe_name(name)
            if base in names:
                raise InputError(f"files: {base!r} is uploaded twice; each file name once")
            names.add(base)
            if len(names) > MAX_FILES:
                raise InputError(f"files: at most {MAX_FILES} files per upload")
            with private_umask(), open(folder / base, "xb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
        if not names:
            raise InputError("files: choose at least one file to ingest")
        return _ingest_folder(app, folder, dataset)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _ingest_folder(app: App, folder: Path, dataset: str) -> UploadResult:
    started = datetime.now(UTC)
    plan = plan_ingest(app, folder, dataset)
    total = BatchResult()
    for batch in plan.batches():
        total.merge(ingest_batch(app, plan, batch))
    kept = total.ingested + total.unchanged + total.concurrent
    stages = record_dvc_lineage(app, plan, kept)
    finish_run(app, plan, total, started, stages)
    return UploadResult(
        dataset=plan.dataset,
        run_id=plan.run_id,
        ingested=sorted(total.ingested + total.concurrent, key=lambda a: a["path"]),
        unchanged=sorted(total.unchanged, key=lambda a: a["path"]),
        quarantined=total.quarantined,
        failed=total.failed,
        skipped=sorted([*plan.skipped, *total.skipped], key=lambda s: s["path"]),
        bytes_ingested=total.bytes,
    )


__all__ = ["UploadResult", "ingest_uploads", "safe_name"]
