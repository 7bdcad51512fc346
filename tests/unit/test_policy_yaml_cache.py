"""The policy YAML cache: keyed by content, never stale, never trusted blindly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from policies import _yaml_cache
from policies._yaml_cache import YamlError, load_yaml


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "store"
    home.mkdir()
    monkeypatch.setenv("QGOV_HOME", str(home))
    monkeypatch.setattr(_yaml_cache, "_parsed", {})
    return home


def test_parsed_once_then_read_from_disk_and_edits_are_reparsed(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "jurisdiction: X\nreviewed: 2026-01-02\nrules: [{id: a, n: 1}]\n"
    first = load_yaml(text)
    assert first == {"jurisdiction": "X", "reviewed": date(2026, 1, 2), "rules": [{"id": "a", "n": 1}]}
    cached = list((store / "cache" / "policies").glob("*.json"))
    assert len(cached) == 1 and oct(cached[0].stat().st_mode & 0o777) == "0o600"
    monkeypatch.setattr(_yaml_cache, "_parsed", {})  # a new process: only the disk cache is left
    monkeypatch.setattr(_yaml_cache, "_parse", lambda *_: pytest.fail("parsed again"))
    assert load_yaml(text) == first
    monkeypatch.undo()
    monkeypatch.setenv("QGOV_HOME", str(store))
    assert load_yaml(text.replace("n: 1", "n: 2"))["rules"] == [{"id": "a", "n": 2}]


def test_a_corrupt_cache_entry_is_parsed_again(store: Path) -> None:
    text = "a: 1\n"
    load_yaml(text)
    (entry,) = (store / "cache" / "policies").glob("*.json")
    entry.write_text("{not json")
    _yaml_cache._parsed.clear()
    assert load_yaml(text) == {"a": 1}


def test_invalid_yaml_is_an_error_and_no_store_means_no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QGOV_HOME", str(tmp_path / "absent"))
    with pytest.raises(YamlError):
        load_yaml("a: [1, 2\n")
    assert load_yaml("b: 2\n") == {"b": 2}
    assert not (tmp_path / "absent").exists()
