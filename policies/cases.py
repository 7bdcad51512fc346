"""Table-driven policy tests (like ``opa test``): item → classification, request → decision.

A case file names its jurisdiction and a list of cases. A classification case has an
``item`` and ``expect`` (the classification); an access case has a ``request`` (DESIGN.md
REQUEST with an inline ITEM), optional ``screening`` matches (as a screening would report
them) and ``expect`` (the outcome), evaluated at the case's or the file's ``at``. Either
may pin ``rule`` (a rule id among the reasons), ``citation`` (text a reason's citation
contains) and, for classifications, ``missing`` and ``entry``; an access case may pin
``export_countries``. A rule and its citation are checked, not only the answer, so that a
case fails when the right answer comes from the wrong rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from policies.access import check_request, decide
from policies.bundle import PolicySet
from policies.classify import check_item, classify
from qgov.errors import InputError

_ITEM_KEYS = {"name", "item", "expect", "missing", "entry", "rule", "citation"}
_REQUEST_KEYS = {"name", "request", "screening", "at", "expect", "rule", "citation", "export_countries"}


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    expected: dict[str, Any]
    got: dict[str, Any]


def _when(value: Any, where: str) -> datetime:
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}.at: expected an ISO 8601 time, got {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


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
        if not isinstance(case, dict) or "name" not in case or "expect" not in case:
            raise InputError(f"{where}: expected name, item (or request) and expect")
        if "request" in case:
            unknown = sorted(set(case) - _REQUEST_KEYS)
            if unknown:
                raise InputError(
                    f"{where}.{unknown[0]}: unknown key; expected one of {', '.join(sorted(_REQUEST_KEYS))}"
                )
            request = check_request(case["request"], f"{where}.request")
            check_item(request["item"], f"{where}.request.item")
            case["at"] = _when(case.get("at", doc.get("at")), where)
            screening = case.get("screening", [])
            if not isinstance(screening, list) or not all(isinstance(m, dict) for m in screening):
                raise InputError(f"{where}.screening: expected a list of matches")
        elif "item" in case:
            unknown = sorted(set(case) - _ITEM_KEYS)
            if unknown:
                raise InputError(f"{where}.{unknown[0]}: unknown key; expected one of {', '.join(sorted(_ITEM_KEYS))}")
            check_item(case["item"], f"{where}.item")
        else:
            raise InputError(f"{where}: expected name, item (or request) and expect")
    return str(doc.get("jurisdiction") or "US-EAR"), doc["cases"]


def _pins(case: dict[str, Any], reasons: list[dict[str, Any]], expected: dict[str, Any], got: dict[str, Any]) -> None:
    if "rule" in case:
        expected["rule"] = case["rule"]
        got["rule"] = case["rule"] if any(r["rule"] == case["rule"] for r in reasons) else [r["rule"] for r in reasons]
    if "citation" in case:
        expected["citation"] = case["citation"]
        cited = [r["citation"] for r in reasons]
        got["citation"] = case["citation"] if any(case["citation"] in c for c in cited) else cited


def run_cases(path: Path, policies: PolicySet) -> list[CaseResult]:
    jurisdiction, cases = load_cases(path)
    bundle = policies.get(jurisdiction)
    results = []
    for case in cases:
        expected: dict[str, Any] = {}
        got: dict[str, Any] = {}
        if "request" in case:
            request = case["request"]
            answer = classify(request["item"], bundle)
            decision = decide(
                request,
                answer.to_json(),
                request["item"]["kind"],
                case.get("screening", []),
                case["at"],
                bundle.require_access(),
                bundle.version,
            ).to_json()
            expected["outcome"], got["outcome"] = case["expect"], decision["outcome"]
            if "export_countries" in case:
                expected["export_countries"] = sorted(case["export_countries"])
                got["export_countries"] = decision["export_countries"]
            _pins(case, decision["reasons"], expected, got)
        else:
            answer = classify(case["item"], bundle)
            expected["classification"], got["classification"] = case["expect"], answer.classification
            if "missing" in case:
                expected["missing"], got["missing"] = list(case["missing"]), list(answer.missing)
            if "entry" in case:
                expected["entry"], got["entry"] = case["entry"], answer.entry
            _pins(case, [r.to_json() for r in answer.reasons], expected, got)
        results.append(CaseResult(str(case["name"]), expected == got, expected, got))
    return results


__all__ = ["CaseResult", "load_cases", "run_cases"]
