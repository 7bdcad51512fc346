"""Reading DVC repositories as they are, through DVC's own loader.

What qgov takes from a DVC repo: the git revision, every tracked output with the hash
DVC recorded for it (from ``.dvc`` files and ``dvc.lock``: an md5, or the etag of an
imported URL), every pipeline stage's deps → outs, which become lineage edges, and the
default remote. Reading writes nothing in the repo. Outputs that DVC declares but the
workspace lacks (a clone without ``dvc pull``) are found by :meth:`DvcRepoInfo.absent`;
:func:`pull` fetches them from the remote through DVC's own Python API, when asked to.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qgov.errors import InputError, StorageError


@dataclass(frozen=True)
class DvcOutput:
    path: str  # POSIX, relative to the repo root
    md5: str | None  # the hash value: "<hex>" for files, "<hex>.dir" for directories; None if never computed
    size: int | None
    is_dir: bool
    stage: str  # ".dvc" file or "dvc.yaml:<stage>"
    hash_name: str | None = None  # as DVC records it: "md5", "etag", "params" (a params.yaml dependency)
    nfiles: int | None = None  # a directory's file count, as DVC records it
    # A directory's manifest (path inside it, md5), when DVC's cache holds it (after a pull).
    members: tuple[tuple[str, str], ...] = ()

    def member_md5(self, rel_path: str) -> str | None:
        """The md5 DVC recorded for ``rel_path`` inside this directory, if its manifest is known."""
        inner = rel_path.removeprefix(self.path.rstrip("/") + "/")
        return dict(self.members).get(inner) if self.is_dir and inner != rel_path else None

    def covers(self, rel_path: str) -> bool:
        return rel_path == self.path or (self.is_dir and rel_path.startswith(self.path.rstrip("/") + "/"))


@dataclass(frozen=True)
class DvcRemote:
    name: str
    url: str  # without any user:password@ part

    def __str__(self) -> str:
        return f"remote {self.name!r} ({self.url})"


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
    remote: DvcRemote | None = None  # the default remote (core.remote), if one is configured

    def output_for(self, rel_path: str) -> DvcOutput | None:
        """The tracked output that covers ``rel_path`` (a file or a file inside a tracked dir)."""
        for out in self.outputs:
            if out.covers(rel_path):
                return out
        return None

    def absent(self, present: set[str]) -> tuple[DvcOutput, ...]:
        """What DVC declares (outputs of ``.dvc`` files and stages, stage dependencies) with a
        recorded hash but the workspace lacks: no path of ``present`` is it or inside it.
        One entry per (path, hash), the declaring ``.dvc`` file or stage first seen."""
        found: dict[tuple[str, str], DvcOutput] = {}
        declared = [*self.outputs, *(d for s in self.stages for d in s.deps)]
        for out in declared:
            if not out.md5 or out.hash_name == "params" or (out.path, out.md5) in found:
                continue
            if not any(out.covers(p) for p in present):
                found[(out.path, out.md5)] = out
        return tuple(sorted(found.values(), key=lambda o: o.path))


def is_dvc_repo(path: Path) -> bool:
    return path.is_dir() and (path / ".dvc").is_dir()


def _manifest(repo: Any, md5: str) -> tuple[tuple[str, str], ...]:
    """A directory's ``.dir`` listing from DVC's local cache (absent before a pull)."""
    try:
        path = Path(repo.cache.local.oid_to_path(md5))
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MANIFEST_MAX:
            return ()
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, AttributeError):
        return ()
    if not isinstance(entries, list):
        return ()
    return tuple(
        sorted(
            (e["relpath"], e["md5"])
            for e in entries
            if isinstance(e, dict) and isinstance(e.get("relpath"), str) and isinstance(e.get("md5"), str)
        )
    )


_MANIFEST_MAX = 64 << 20


def _describe(item: object, root: Path, stage: str, repo: Any = None) -> DvcOutput:
    fs_path = Path(str(getattr(item, "fs_path", getattr(item, "def_path", ""))))
    try:
        rel = fs_path.resolve().relative_to(root).as_posix()
    except ValueError:
        rel = str(getattr(item, "def_path", fs_path))
    hash_info = getattr(item, "hash_info", None)
    md5 = getattr(hash_info, "value", None) if hash_info else None
    hash_name = getattr(hash_info, "name", None) if hash_info else None
    meta = getattr(item, "meta", None)
    size = getattr(meta, "size", None) if meta else None
    nfiles = getattr(meta, "nfiles", None) if meta else None
    is_dir = bool(md5 and str(md5).endswith(".dir")) or bool(getattr(meta, "isdir", False))
    members = _manifest(repo, str(md5)) if repo is not None and is_dir and hash_name == "md5" else ()
    return DvcOutput(rel, str(md5) if md5 else None, size, is_dir, stage, hash_name and str(hash_name), nfiles, members)


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
        remote = _default_remote(repo)
        for stage in loaded:
            label = _stage_label(stage, root)
            outs = tuple(_describe(o, root, label, repo) for o in stage.outs)
            outputs.extend(outs)
            if getattr(stage, "cmd", None):
                deps = tuple(_describe(d, root, label) for d in stage.deps)
                stages.append(DvcStage(label, str(stage.cmd), deps, outs))
    finally:
        repo.close()
    return DvcRepoInfo(root, git_rev, tuple(outputs), tuple(stages), remote)


def _default_remote(repo: Any) -> DvcRemote | None:
    try:
        name = repo.config["core"].get("remote")
        url = repo.config["remote"][name]["url"] if name else None
    except (KeyError, TypeError):
        return None
    if not name or not url:
        return None
    parts = urlsplit(str(url))
    if parts.username or parts.password:  # a password in the URL is not ours to print
        parts = parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else ""))
    return DvcRemote(str(name), urlunsplit(parts))


def pull(path: Path) -> tuple[DvcRemote, int]:
    """``dvc pull`` through DVC's Python API: fetch the outputs the workspace lacks from the
    default remote into DVC's cache and check them out. Returns the remote and how many files
    were fetched. No remote, or one that cannot be reached, is one line naming it."""
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    from dvc.exceptions import CheckoutError, DvcException
    from dvc.repo import Repo

    root = path.resolve()
    refuse_linked_metadata(root)
    try:
        repo = Repo(str(root))
    except DvcException as exc:
        raise InputError(f"{path}: not a readable DVC repository ({_one_line(exc)})") from None
    try:
        remote = _default_remote(repo)
        if remote is None:
            raise InputError(
                f"{path}: --dvc-pull needs a default DVC remote and none is configured "
                "(add one with 'dvc remote add -d NAME URL')"
            )
        try:
            with _quiet():
                stats = repo.pull()
        except CheckoutError as exc:
            missing = sorted(_relative(str(t), root) for t in exc.target_infos)
            shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
            raise StorageError(
                f"dvc pull from {remote} failed: {len(missing)} output(s) could not be fetched ({shown}); "
                "the remote cannot be reached or does not hold them"
            ) from None
        except DvcException as exc:
            raise StorageError(f"dvc pull from {remote} failed: {_one_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - DVC's filesystems raise their own (network, auth) errors
            raise StorageError(f"dvc pull from {remote} failed: {type(exc).__name__}: {_one_line(exc)}") from None
    finally:
        repo.close()
    counts = stats.get("stats", {}) if isinstance(stats, dict) else {}  # DVC: {"stats": {"fetched": n, …}}
    fetched = counts.get("fetched", 0) if isinstance(counts, dict) else 0
    return remote, int(fetched or 0)


_NOISY = ("dvc", "dvc_data", "dvc_objects", "scmrepo", "urllib3", "fsspec", "aiohttp")


@contextmanager
def _quiet() -> Iterator[None]:
    """DVC and its transports log each retry and missing file, several lines each; the
    outcome is reported once, in one line, by :func:`pull`."""
    saved = {name: logging.getLogger(name).level for name in _NOISY}
    for name in _NOISY:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _relative(target: str, root: Path) -> str:
    try:
        return Path(os.path.abspath(target)).relative_to(root).as_posix()
    except ValueError:
        return target


def _one_line(exc: BaseException) -> str:
    """DVC's message on one line, without its terminal colours."""
    text = _ANSI.sub("", " ".join(str(exc).split()))
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({' '.join(str(cause).split())})"
    return _ANSI.sub("", text)[:300]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


__all__ = [
    "DvcOutput",
    "DvcRemote",
    "DvcRepoInfo",
    "DvcStage",
    "is_dvc_repo",
    "pull",
    "read_dvc_repo",
    "refuse_linked_metadata",
]
