"""Docs as tests: every command, setting and event type a user can meet is in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from governance.cli.main import app
from governance.config import SETTINGS_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: typer.Typer, prefix: str = "") -> list[str]:
    names = [f"{prefix}{c.name or c.callback.__name__.replace('_', '-')}" for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        names += _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return names


@pytest.mark.parametrize("command", _commands(app))
def test_every_cli_command_is_in_the_readme(command: str) -> None:
    """Named in the README, run as oneself or by an admin for someone (`qgov --as NAME …`)."""
    assert re.search(rf"qgov (--as [\w.-]+ )?{re.escape(command)}\b", README), f"qgov {command}"


@pytest.mark.parametrize("variable", SETTINGS_VARIABLES)
def test_every_setting_is_in_the_readme(variable: str) -> None:
    assert f"`{variable}`" in README


def _event_types() -> set[str]:
    found: set[str] = set()
    for path in ROOT.glob("*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        found |= set(re.findall(r'NewEvent\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return found


def test_event_types_are_found() -> None:
    assert {"artifact.ingested", "artifact.fetched"} <= _event_types()


@pytest.mark.parametrize("event_type", sorted(_event_types()))
def test_every_event_type_is_in_the_readme(event_type: str) -> None:
    assert f"`{event_type}`" in README


POLICY_DOC = (ROOT / "docs" / "policy-rules.md").read_text(encoding="utf-8")


def _rule_ids() -> list[str]:
    from policies.bundle import load_policies

    ids: set[str] = set()
    for bundle in load_policies().bundles.values():
        ids |= {r.id for r in bundle.rules} | {c.id for c in bundle.carveouts}
        if bundle.access is not None:
            ids |= {r.id for r in bundle.access.rules}
            if bundle.access.retention is not None:
                ids |= {s.id for s in bundle.access.retention.schedules}
    return sorted(ids)


@pytest.mark.parametrize("rule_id", _rule_ids())
def test_every_policy_rule_id_is_documented_with_its_status(rule_id: str) -> None:
    assert f"`{rule_id}`" in POLICY_DOC
