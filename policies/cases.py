"""Table-driven policy tests (like ``opa test``): item → expected classification."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from policies.bundle import PolicySet
from policies.classify import check_item, classify
from qgov.errors import InputError


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    expected: dict[str, Any]
    got: dict[str, Any]


def load_cases(path: Path) -> tuple[str, list[dict[str, Any]]]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"cases file {path}: no such file") from None
    except yaml.YAMLError as exc:
        raise InputError(f"cases file {path}: not valid YAML ({' '.join(str(exc).split())[:160]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list) or not doc["cases"]:
        raise InputError(f"cases file {path}: expected 'cases:' with at least one case")
    for index, case in enumerate(doc["cases"]):
        where = f"cases file {path}: cases[{index}]"
        if not isinstance(case, dict) or not {"name", "item", "expect"} <= set(case):
            raise InputError(f"{where}: expected name, item and expect")
        unknown = sorted(set(case) - {"name", "item", "expect", "missing", "entry"})
        if unknown:
            raise InputError(f"{where}.{unknown[0]}: unknown key; expected name, item, expect, missing, entry")
        check_item(case["item"], f"{where}.item")
    return str(doc.get("jurisdiction") or "US-EAR"), doc["cases"]


def run_cases(path: Path, policies: PolicySet) -> list[CaseResult]:
    jurisdiction, cases = load_cases(path)
    bundle = policies.get(jurisdiction)
    results = []
    for case in cases:
        answer = classify(case["item"], bundle)
        expected: dict[str, Any] = {"classification": case["expect"]}
        got: dict[str, Any] = {"classification": answer.classification}
        if "missing" in case:
            expected["missing"], got["missing"] = list(case["missing"]), list(answer.missing)
        if "entry" in case:
            expected["entry"], got["entry"] = case["entry"], answer.entry
        results.append(CaseResult(str(case["name"]), expected == got, expected, got))
    return results


__all__ = ["CaseResult", "load_cases", "run_cases"]
