"""The store is its owner's alone: directories 0700 and files 0600 from creation, and a store
that group or others can read is refused at start-up with one line."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest


def sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _store_paths(env: dict[str, str]) -> list[Path]:
    home = Path(env["QGOV_HOME"])
    paths = [home, *home.rglob("*")]
    if (db := sqlite_path(env["QGOV_DATABASE_URL"])) is not None:
        paths += [p for p in (Path(f"{db}{s}") for s in ("", "-wal", "-shm")) if p.exists()]
    return paths


@pytest.fixture
def login_umask() -> Iterator[None]:
    """The usual login umask (022) for the commands a test runs: qgov must not rely on a stricter one."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("login_umask")
def test_fresh_store_is_private_from_creation(cli, env: dict[str, str], sample_tree: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--name", "alice").returncode == 0
    assert cli("dataset", "register", "run", "--subject-type", "none").returncode == 0
    done = cli("ingest", str(sample_tree), "--dataset", "run")
    assert done.returncode == 0, done.stderr
    paths = _store_paths(env)
    assert any(p.name == "kek.json" for p in paths) and any(p.is_dir() and p.name == "blobs" for p in paths)
    wrong = {str(p): oct(_mode(p)) for p in paths if _mode(p) != (0o700 if p.is_dir() else 0o600)}
    assert wrong == {}


@pytest.mark.usefixtures("login_umask")
@pytest.mark.parametrize("which", ["home", "database"])
def test_store_open_to_others_is_refused(cli, env: dict[str, str], which: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("init", "--name", "alice").returncode == 0
    if which == "home":
        target, expected = Path(env["QGOV_HOME"]), "700"
        target.chmod(0o755)
    else:
        db = sqlite_path(env["QGOV_DATABASE_URL"])
        if db is None:
            pytest.skip("a PostgreSQL database has no file under QGOV_HOME")
        target, expected = db, "600"
        target.chmod(0o644)
    refused = cli("dataset", "list")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert str(target) in lines[0]
    assert f"expected {expected}" in lines[0] and ("mode 755" in lines[0] or "mode 644" in lines[0])
