"""Policy YAML parsed once per content: cached by SHA-256, in this process and on disk.

PyYAML's pure-Python parser costs ~0.1–0.4 s for the built-in bundles, on every cold
command that classifies; ``json`` reads the same document in milliseconds. The cache key
is the file's content hash, so an edited file is parsed again and a stale entry is never
used. A document is cached on disk only if it survives the JSON round trip unchanged
(dates are tagged); the files live in the store (``$QGOV_HOME/cache/policies``, owner
only) and only when that store exists. Policy files are not secret: nothing controlled is
written here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from qgov.private_files import make_private_dir

_FORMAT = "1"  # bump when the encoding below changes
_parsed: dict[str, Any] = {}


class YamlError(ValueError):
    """The text is not valid YAML (the message is PyYAML's)."""


def _encode(value: Any) -> Any:
    if isinstance(value, date):
        return {"__date__": value.isoformat()}
    raise TypeError(type(value).__name__)


def _decode(obj: dict[str, Any]) -> Any:
    return date.fromisoformat(obj["__date__"]) if set(obj) == {"__date__"} else obj


def _cache_dir() -> Path | None:
    home = Path(os.environ.get("QGOV_HOME") or ".qgov").expanduser()
    return home / "cache" / "policies" if home.is_dir() else None


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)``, from the cache when this content was parsed before."""
    digest = hashlib.sha256(f"{_FORMAT}\0{text}".encode()).hexdigest()
    if digest not in _parsed:
        doc = _from_disk(digest)
        _parsed[digest] = doc if doc is not None else _parse(text, digest)
    return copy.deepcopy(_parsed[digest])


def _from_disk(digest: str) -> Any:
    where = _cache_dir()
    if where is None:
        return None
    try:
        return json.loads((where / f"{digest}.json").read_text(encoding="utf-8"), object_hook=_decode)
    except (OSError, ValueError):
        return None


def _parse(text: str, digest: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise YamlError(" ".join(str(exc).split())[:160]) from None
    _to_disk(doc, digest)
    return doc


def _to_disk(doc: Any, digest: str) -> None:
    where = _cache_dir()
    if where is None:
        return
    try:
        encoded = json.dumps(doc, default=_encode, sort_keys=True)
    except (TypeError, ValueError):
        return
    if json.loads(encoded, object_hook=_decode) != doc:
        return  # e.g. integer keys: not cached, parsed each time
    try:
        make_private_dir(where)
        fd, tmp = tempfile.mkstemp(dir=where, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(encoded)
        os.replace(tmp, where / f"{digest}.json")
    except OSError:
        return  # a read-only store still classifies, only slower


__all__ = ["YamlError", "load_yaml"]
