"""Reading DVC repositories as they are, through DVC's own loader.

What qgov takes from a DVC repo: the git revision, every tracked output with the md5
DVC recorded for it (from ``.dvc`` files and ``dvc.lock``), and every pipeline stage's
deps → outs, which become lineage edges. Nothing in the repo is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qgov.errors import InputError


@dataclass(frozen=True)
class DvcOutput:
    path: str  # POSIX, relative to the repo root
    md5: str | None  # "<hex>" for files, "<hex>.dir" for directories; None if never computed
    size: int | None
    is_dir: bool
    stage: str  # ".dvc" file or "dvc.yaml:<stage>"


@dataclass(frozen=True)
class DvcStage:
    name: str
    cmd: str
    deps: tuple[DvcOutput, ...]
    outs: tuple[DvcOutput, ...]


@dataclass(frozen=True)
class DvcRepoInfo:
    root: Path
    git_rev: str | None
    outputs: tuple[DvcOutput, ...]
    stages: tuple[DvcStage, ...]

    def output_for(self, rel_path: str) -> DvcOutput | None:
        """The tracked output that covers ``rel_path`` (a file or a file inside a tracked dir)."""
        for out in self.outputs:
            if rel_path == out.path or (out.is_dir and rel_path.startswith(out.path.rstrip("/") + "/")):
                return out
        return None


def is_dvc_repo(path: Path) -> bool:
    return path.is_dir() and (path / ".dvc").is_dir()


def _describe(item: object, root: Path, stage: str) -> DvcOutput:
    fs_path = Path(str(getattr(item, "fs_path", getattr(item, "def_path", ""))))
    try:
        rel = fs_path.resolve().relative_to(root).as_posix()
    except ValueError:
        rel = str(getattr(item, "def_path", fs_path))
    hash_info = getattr(item, "hash_info", None)
    md5 = getattr(hash_info, "value", None) if hash_info else None
    meta = getattr(item, "meta", None)
    size = getattr(meta, "size", None) if meta else None
    is_dir = bool(md5 and str(md5).endswith(".dir")) or bool(getattr(meta, "isdir", False))
    return DvcOutput(rel, str(md5) if md5 else None, size, is_dir, stage)


def _stage_label(stage: object, root: Path) -> str:
    """``data/raw.csv.dvc`` or ``dvc.yaml:clean``, relative to the repo root."""
    file_path = Path(str(getattr(stage, "path", "")))
    try:
        label = file_path.resolve().relative_to(root).as_posix()
    except ValueError:
        label = file_path.name
    name = getattr(stage, "name", None)
    return f"{label}:{name}" if name and label.endswith((".yaml", ".yml")) else label


_METADATA = ("dvc.yaml", "dvc.yml", "dvc.lock", "params.yaml", ".dvcignore")


def refuse_linked_metadata(root: Path) -> None:
    """DVC's own files are read by DVC, which follows links: a ``dvc.lock`` or ``x.dvc``
    linked to a file outside the repo (a key file, ``/etc/passwd``) would be parsed and
    could surface in stage commands, paths or error messages. Refuse the repo instead."""
    config = [root / ".dvc" / name for name in ("config", "config.local")]
    for candidate in [root / ".dvc", *config]:
        if candidate.is_symlink():
            raise InputError(f"{candidate}: a symbolic link in the DVC repository's metadata; not followed")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in {".git", ".dvc"}]
        for name in filenames:
            if (name.endswith(".dvc") or name in _METADATA) and os.path.islink(os.path.join(dirpath, name)):
                raise InputError(
                    f"{Path(dirpath, name)}: a DVC file that is a symbolic link; qgov does not read DVC files "
                    "through links (replace it with the file itself)"
                )


def read_dvc_repo(path: Path) -> DvcRepoInfo:
    """Load a DVC repo's tracked outputs and pipeline stages (read-only)."""
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")  # DVC's own switch; never phone home
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    root = path.resolve()
    refuse_linked_metadata(root)
    try:
        repo = Repo(str(root))
    except DvcException as exc:
        raise InputError(f"{path}: not a readable DVC repository ({exc})") from None
    try:
        try:
            git_rev: str | None = repo.scm.get_rev()
        except Exception:  # noqa: BLE001 - no git (dvc init --no-scm) or no commit yet
            git_rev = None
        outputs: list[DvcOutput] = []
        stages: list[DvcStage] = []
        try:
            loaded = list(repo.index.stages)
        except DvcException as exc:
            raise InputError(f"{path}: DVC files cannot be read ({exc})") from None
        for stage in loaded:
            label = _stage_label(stage, root)
            outs = tuple(_describe(o, root, label) for o in stage.outs)
            outputs.extend(outs)
            if getattr(stage, "cmd", None):
                deps = tuple(_describe(d, root, label) for d in stage.deps)
                stages.append(DvcStage(label, str(stage.cmd), deps, outs))
    finally:
        repo.close()
    return DvcRepoInfo(root, git_rev, tuple(outputs), tuple(stages))


__all__ = ["DvcOutput", "DvcRepoInfo", "DvcStage", "is_dvc_repo", "read_dvc_repo", "refuse_linked_metadata"]
