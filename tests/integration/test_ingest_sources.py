"""What an ingest reads, and how it accounts for every file: links, special files, the store's
own files, names that are not UTF-8, bytes of a crypto-shredded artifact, a concurrent run."""

from __future__ import annotations

import hashlib
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from governance import tables as t
from governance.audit import verify_blobs
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.content import fetch
from governance.deletion import delete_artifact
from governance.ingest import BatchResult, IngestPlan, finish_run, ingest_batch, plan_ingest
from qgov.errors import InputError, NotFoundError
from tests.conftest import grant_self

OPEN = {"research": {"fundamental": True, "intended_for_publication": True, "restrictions_accepted": False}}


@pytest.fixture
def dataset(app) -> str:  # type: ignore[no-untyped-def]
    register_dataset(app, DatasetSpec(name="calib", owner="alice", **OPEN))
    return "calib"


def _run(app, folder: Path, follow_symlinks: bool = False) -> tuple[IngestPlan, BatchResult]:  # type: ignore[no-untyped-def]
    plan = plan_ingest(app, folder, "calib", **({"follow_symlinks": True} if follow_symlinks else {}))
    result = ingest_batch(app, plan, plan.files)
    finish_run(app, plan, result, datetime.now(UTC), 0)
    return plan, result


def _skipped(plan: IngestPlan, result: BatchResult) -> dict[str, str]:
    return {s["path"]: s["reason"] for s in [*plan.skipped, *result.skipped]}


def _stored_digests(app) -> set[str]:  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return set(conn.execute(select(t.artifacts.c.sha256)).scalars())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_links_out_of_the_folder_and_special_files_are_skipped_never_stored(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside.txt"
    outside.write_text("private notes of another user\n")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "ok.json").write_text('{"t1": 50}')
    (folder / "kek.json").symlink_to(app.settings.key_file)
    (folder / "notes.txt").symlink_to(outside)
    os.mkfifo(folder / "pipe.csv")
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(folder / "daemon.sock"))
        plan, result = _run(app, folder)
    assert [a["path"] for a in result.ingested] == ["ok.json"]
    skipped = _skipped(plan, result)
    assert skipped["kek.json"].startswith("a symbolic link; not followed")
    assert skipped["notes.txt"].startswith("a symbolic link; not followed")
    assert skipped["pipe.csv"] == "a FIFO (named pipe); only regular files are ingested"
    assert skipped["daemon.sock"] == "a socket; only regular files are ingested"
    assert _stored_digests(app) == {_sha(folder / "ok.json")}
    assert _sha(app.settings.key_file) not in _stored_digests(app)


def test_follow_symlinks_follows_links_inside_the_folder_only(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "t1.json").write_text('{"t1": 50}')
    (folder / "latest.json").symlink_to(folder / "raw" / "t1.json")
    (folder / "raw-link").symlink_to(folder / "raw", target_is_directory=True)
    (folder / "kek.json").symlink_to(app.settings.key_file)
    (folder / "escape.json").symlink_to("../../" + folder.parent.name + "/elsewhere.json")
    (tmp_path / "elsewhere.json").write_text('{"secret": 1}')
    plan, result = _run(app, folder, follow_symlinks=True)
    assert sorted(a["path"] for a in result.ingested) == ["latest.json", "raw/t1.json"]
    skipped = _skipped(plan, result)
    assert "leads outside the ingested folder" in skipped["kek.json"]
    assert "leads outside the ingested folder" in skipped["escape.json"]
    assert skipped["raw-link"].startswith("a symbolic link to a directory")
    assert _stored_digests(app) == {_sha(folder / "raw" / "t1.json")}


def test_a_file_swapped_for_a_link_after_listing_is_refused(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "data.json").write_text('{"t1": 50}')
    plan = plan_ingest(app, folder, "calib")
    (folder / "data.json").unlink()
    (folder / "data.json").symlink_to(app.settings.key_file)  # between listing and reading
    result = ingest_batch(app, plan, plan.files)
    assert result.ingested == [] and result.failed == []
    assert result.skipped == [{"path": "data.json", "reason": "a symbolic link; not followed"}]
    assert _stored_digests(app) == set()


def test_nothing_of_the_store_is_ingested(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = app.settings.home
    with pytest.raises(InputError, match="part of this qgov store"):
        plan_ingest(app, home / "keys", "calib")
    with pytest.raises(InputError, match="part of this qgov store"):
        plan_ingest(app, app.settings.key_file, "calib")
    # a folder holding the store (QGOV_HOME is tmp_path/home here) and a hard link to the key
    (tmp_path / "notes.json").write_text('{"n": 1}')
    os.link(app.settings.key_file, tmp_path / "innocent.json")
    plan, result = _run(app, tmp_path)
    skipped = _skipped(plan, result)
    assert skipped["home"].startswith("part of this qgov store")
    assert skipped["innocent.json"].startswith("part of this qgov store")
    assert not any(a["path"].startswith("home/") for a in result.ingested)
    assert _sha(app.settings.key_file) not in _stored_digests(app)


def test_a_name_that_is_not_utf8_is_skipped_with_an_escaped_name(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "ok.json").write_text('{"t1": 50}')
    fd = os.open(os.fsencode(folder) + b"/caf\xe9.json", os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"{}")
    os.close(fd)
    plan, result = _run(app, folder)
    assert [a["path"] for a in result.ingested] == ["ok.json"]
    assert _skipped(plan, result) == {"caf\\xe9.json": "file name is not valid UTF-8; rename it to ingest it"}


def test_bytes_of_a_shredded_artifact_are_stored_afresh_and_readable(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = tmp_path / "first"
    first.mkdir()
    (first / "raw.csv").write_text("qubit,t1\n0,51.2\n")
    _run(app, first)
    (old,) = list_artifacts(app, "calib")
    delete_artifact(app, old.id, "withdrawn", before_retention_end=True)
    second = tmp_path / "second"
    second.mkdir()
    (second / "again.csv").write_text("qubit,t1\n0,51.2\n")  # the same bytes, another path
    (second / "raw.csv").write_text("qubit,t1\n0,51.2\n")  # the same bytes at the deleted path
    plan, result = _run(app, second)
    assert [a["path"] for a in result.ingested] == ["again.csv"]
    new = result.ingested[0]["id"]
    grant_self(app, [new])
    out = tmp_path / "out.csv"
    fetch(app, new, out)
    assert out.read_text() == "qubit,t1\n0,51.2\n"
    # listed as deleted (not skipped, not unchanged), with the artifact and why it is not ingested again
    assert [(d["path"], d["artifact"]) for d in result.deleted] == [("raw.csv", old.id)]
    assert "these bytes were deleted (crypto-shredded) at this path as artifact" in result.deleted[0]["reason"]
    assert "raw.csv" not in _skipped(plan, result) and result.unchanged == []
    with pytest.raises(NotFoundError, match="was deleted"):  # the deleted artifact stays deleted
        fetch(app, old.id, tmp_path / "old.csv")
    check = verify_blobs(app)
    assert check.checked == 1 and check.bad == []


def test_verify_blobs_flags_a_live_artifact_whose_key_was_destroyed(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "raw.csv").write_text("qubit,t1\n0,51.2\n")
    _, result = _run(app, folder)
    with app.engine.begin() as conn:  # what the old ingest of shredded bytes left behind
        conn.execute(update(t.blobs).values(wrapped_key=None, kek_key_id=None, shredded_at=datetime.now(UTC)))
    check = verify_blobs(app)
    assert [b["error"].split(":")[0] for b in check.bad] == [f"artifact {result.ingested[0]['id']}"]


def test_every_file_is_accounted_for_when_another_run_commits_it_first(app, dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(30):
        (folder / f"f{i:02}.json").write_text(f'{{"i": {i}}}')
    mine, theirs = plan_ingest(app, folder, "calib"), plan_ingest(app, folder, "calib")
    other: list[BatchResult] = []

    def the_other_run_commits_meanwhile(_files: int, _bytes: int) -> None:
        if not other:
            other.append(ingest_batch(app, theirs, theirs.files))

    result = ingest_batch(app, mine, mine.files, progress=the_other_run_commits_meanwhile)
    assert len(other[0].ingested) == 30
    assert result.files_seen == 30 and len(result.concurrent) == 30
    assert result.ingested == [] and result.failed == []
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.artifacts)).scalar_one() == 30


def test_dvc_files_that_are_links_are_refused(tmp_path: Path) -> None:
    from storage.dvc import refuse_linked_metadata

    repo = tmp_path / "repo"
    (repo / ".dvc").mkdir(parents=True)
    (tmp_path / "elsewhere.lock").write_text("schema: '2.0'\n")
    (repo / "dvc.lock").symlink_to(tmp_path / "elsewhere.lock")
    with pytest.raises(InputError, match="dvc.lock: a DVC file that is a symbolic link"):
        refuse_linked_metadata(repo)
