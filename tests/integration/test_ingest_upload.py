"""Ingest of uploaded files (the web form's service): a private temp folder that is gone
afterwards, also when the upload fails half-way; plain file names only."""

from __future__ import annotations

import io
import stat
import tempfile
from pathlib import Path

import pytest

from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.ingest_upload import ingest_uploads, safe_name
from qgov.errors import InputError


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


class _Watching(io.BytesIO):
    """Records the mode of the upload folder while the service is writing into it."""

    def __init__(self, data: bytes, root: Path, seen: list[int]) -> None:
        super().__init__(data)
        self.root, self.seen = root, seen

    def read(self, size: int | None = -1) -> bytes:
        for d in self.root.iterdir():
            self.seen.append(stat.S_IMODE(d.stat().st_mode))
        return super().read(size)


def test_uploaded_files_are_ingested_and_the_temp_folder_is_removed(app: App, uploads: Path) -> None:
    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    seen: list[int] = []
    done = ingest_uploads(app, "calib", [("t1.csv", _Watching(b"q,t1\n0,50\n", uploads, seen))])
    assert [a["path"] for a in done.ingested] == ["t1.csv"]
    assert done.summary().startswith("dataset calib: 1 new, 0 unchanged")
    assert [a.path for a in list_artifacts(app, "calib")] == ["t1.csv"]
    assert seen and all(mode == 0o700 for mode in seen)  # private while it exists
    assert list(uploads.iterdir()) == []


def test_a_failing_upload_leaves_no_plaintext_behind(app: App, uploads: Path) -> None:
    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    files = [("secret.csv", io.BytesIO(b"q,t1\n0,50\n")), ("runs/secret.csv", io.BytesIO(b"x"))]
    with pytest.raises(InputError, match=r"^files: 'secret\.csv' is uploaded twice"):
        ingest_uploads(app, "calib", files)
    assert list(uploads.iterdir()) == []
    assert list_artifacts(app, "calib") == []


def test_an_unknown_dataset_writes_nothing(app: App, uploads: Path) -> None:
    with pytest.raises(Exception, match="dataset 'nope' is not registered"):
        ingest_uploads(app, "nope", [("t1.csv", io.BytesIO(b"q\n1\n"))])
    assert list(uploads.iterdir()) == []


@pytest.mark.parametrize("name", ["", ".", "..", ".hidden", "a\x01b", "dir/"])
def test_only_plain_file_names(name: str) -> None:
    with pytest.raises(InputError, match=r"^files: "):
        safe_name(name)


def test_a_path_is_reduced_to_its_file_name() -> None:
    assert safe_name("C:\\Users\\ada\\t1.csv") == "t1.csv" and safe_name("runs/2026/t1.csv") == "t1.csv"
