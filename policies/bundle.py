"""Policy bundles: YAML control lists and carve-outs, loaded into typed, validated objects.

A bundle is one jurisdiction's rules (``policies/bundles/<name>/*.yaml``). Loading is
strict: an unknown key, a wrong type, a duplicate rule id or two threshold bands of the
same subject that overlap is a :class:`~qgov.errors.PolicyError` naming file, rule and
field. An organisation's own directory (``QGOV_POLICY_DIR``) is loaded after the built-in
bundles: a rule with a new id extends a jurisdiction, a rule with an existing id replaces
it (and says so in ``qgov policy show``).

``policy_version`` is the SHA-256 of the canonical encoding of the loaded content (rules
sorted by id), so reformatting a file does not change it and editing a rule always does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from policies._yaml_cache import YamlError, load_yaml
from policies.access import AccessPolicy, parse_access
from policies.bundle_types import (
    BUILTIN_DIR,
    CLAIM_FIELDS,
    ITEM_KINDS,
    MAX_POLICY_BYTES,
    ORG_PREFIX,
    STATUSES,
    SUBJECT_TYPES,
    Band,
    Bundle,
    CarveOut,
    ControlRule,
    PolicySet,
    Unlisted,
)
from policies.parameters import NUMERIC_PARAMETERS, PARAMETERS, Parameter
from qgov.errors import PolicyError

# -- loading --------------------------------------------------------------------
_RULE_KEYS = {
    "id",
    "entry",
    "subject",
    "when",
    "hardware",
    "software",
    "technology",
    "citation",
    "status",
    "effective",
    "note",
    "parameters_unverified",
}
_CARVE_KEYS = {
    "id",
    "title",
    "when",
    "citation",
    "status",
    "effective",
    "except_entries",
    "except_note",
    "review_only",
    "note",
}
_BAND_KEYS = {"min", "below", "max"}
_TOP_KEYS = {"jurisdiction", "title", "unlisted", "rules", "carveouts", "access", "covers"}


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"{self.source}: {where}: {message}")

    def mapping(self, value: Any, where: str, allowed: set[str], required: Iterable[str] = ()) -> Mapping[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(f"{where}.{unknown[0]}", f"unknown key; expected one of {', '.join(sorted(allowed))}")
        for key in required:
            if key not in value:
                raise self.fail(f"{where}.{key}", "is required")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a non-empty string, got {value!r}")
        return value

    def number(self, value: Any, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            hint = " (write thresholds with a decimal point, e.g. 1.0e-4)" if isinstance(value, str) else ""
            raise self.fail(where, f"expected a finite number, got {value!r}{hint}")
        return float(value)

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(where, f"expected a date YYYY-MM-DD, got {value!r}") from None

    def status(self, value: Any, where: str) -> str:
        if value not in STATUSES:
            raise self.fail(where, f"expected a verification status V, P or U, got {value!r}")
        return str(value)


def _band(ctx: _Ctx, parameter: str, raw: Any, where: str) -> Band:
    data = ctx.mapping(raw, where, _BAND_KEYS)
    if not data:
        raise ctx.fail(where, "expected at least one of min, below, max")
    band = Band(parameter, **{k: ctx.number(v, f"{where}.{k}") for k, v in data.items()})
    low, high, _ = band.interval()
    if low > high:
        raise ctx.fail(where, f"empty band ({band.describe()})")
    return band


def _rule(ctx: _Ctx, raw: Any, where: str, jurisdiction: str) -> ControlRule:
    data = ctx.mapping(
        raw, where, _RULE_KEYS, ("id", "entry", "subject", "hardware", "citation", "status", "effective")
    )
    rule_id = ctx.text(data["id"], f"{where}.id")
    at = f"rule {rule_id}"
    subject = data["subject"]
    if subject not in SUBJECT_TYPES:
        raise ctx.fail(f"{at}.subject", f"expected one of {', '.join(SUBJECT_TYPES)}, got {subject!r}")
    when = ctx.mapping(data.get("when", {}), f"{at}.when", set(NUMERIC_PARAMETERS))
    unverified = data.get("parameters_unverified", False)
    if not isinstance(unverified, bool):
        raise ctx.fail(f"{at}.parameters_unverified", f"expected true or false, got {unverified!r}")
    if unverified and not data.get("note"):
        raise ctx.fail(f"{at}.note", "a rule with unverified parameters must say in a note what is unverified")
    return ControlRule(
        id=rule_id,
        jurisdiction=jurisdiction,
        entry=ctx.text(str(data["entry"]), f"{at}.entry"),
        subject=subject,
        when=tuple(_band(ctx, p, v, f"{at}.when.{p}") for p, v in sorted(when.items())),
        hardware=ctx.text(str(data["hardware"]), f"{at}.hardware"),
        software=ctx.text(str(data["software"]), f"{at}.software") if data.get("software") is not None else None,
        technology=ctx.text(str(data["technology"]), f"{at}.technology")
        if data.get("technology") is not None
        else None,
        citation=ctx.text(data["citation"], f"{at}.citation"),
        status=ctx.status(data["status"], f"{at}.status"),
        effective=ctx.day(data["effective"], f"{at}.effective"),
        note=str(data.get("note") or ""),
        source=ctx.source,
        parameters_unverified=unverified,
    )


def _carveout(ctx: _Ctx, raw: Any, where: str, jurisdiction: str) -> CarveOut:
    data = ctx.mapping(raw, where, _CARVE_KEYS, ("id", "title", "when", "citation", "status", "effective"))
    carve_id = ctx.text(data["id"], f"{where}.id")
    at = f"carve-out {carve_id}"
    when = ctx.mapping(data["when"], f"{at}.when", set(CLAIM_FIELDS))
    if not when:
        raise ctx.fail(f"{at}.when", "expected at least one claimed fact (an empty condition would always apply)")
    for key, value in when.items():
        if not isinstance(value, bool):
            raise ctx.fail(f"{at}.when.{key}", f"expected true or false, got {value!r}")
    excepted = data.get("except_entries", [])
    if not isinstance(excepted, list):
        raise ctx.fail(f"{at}.except_entries", "expected a list of entries")
    review_only = data.get("review_only", False)
    if not isinstance(review_only, bool):
        raise ctx.fail(f"{at}.review_only", f"expected true or false, got {review_only!r}")
    if review_only and not data.get("note"):
        raise ctx.fail(f"{at}.note", "a review-only carve-out must say in a note what is unverified")
    return CarveOut(
        id=carve_id,
        jurisdiction=jurisdiction,
        title=ctx.text(data["title"], f"{at}.title"),
        when=tuple(sorted(when.items())),
        citation=ctx.text(data["citation"], f"{at}.citation"),
        status=ctx.status(data["status"], f"{at}.status"),
        effective=ctx.day(data["effective"], f"{at}.effective"),
        except_entries=tuple(str(e) for e in excepted),
        except_note=str(data.get("except_note") or ""),
        source=ctx.source,
        review_only=review_only,
        note=str(data.get("note") or ""),
    )


def _parse_file(
    path: str, text: str
) -> tuple[str, str, Unlisted | None, list[ControlRule], list[CarveOut], AccessPolicy | None, frozenset[str] | None]:
    ctx = _Ctx(path)
    try:
        raw = load_yaml(text)
    except YamlError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc})") from None
    data = ctx.mapping(raw, "bundle", _TOP_KEYS, ("jurisdiction",))
    jurisdiction = ctx.text(data["jurisdiction"], "jurisdiction")
    unlisted = None
    if "unlisted" in data:
        u = ctx.mapping(
            data["unlisted"],
            "unlisted",
            {"classification", "citation", "status"},
            ("classification", "citation", "status"),
        )
        unlisted = Unlisted(
            ctx.text(u["classification"], "unlisted.classification"),
            ctx.text(u["citation"], "unlisted.citation"),
            ctx.status(u["status"], "unlisted.status"),
        )
    rules_raw = data.get("rules") or []
    carve_raw = data.get("carveouts") or []
    if not isinstance(rules_raw, list) or not isinstance(carve_raw, list):
        raise ctx.fail("rules", "expected lists of rules and carveouts")
    rules = [_rule(ctx, r, f"rules[{i}]", jurisdiction) for i, r in enumerate(rules_raw)]
    carveouts = [_carveout(ctx, c, f"carveouts[{i}]", jurisdiction) for i, c in enumerate(carve_raw)]
    access = parse_access(data["access"], path, jurisdiction) if "access" in data else None
    covers = None
    if "covers" in data:
        # Which subject types this jurisdiction's rules speak to: any other subject is
        # INCOMPLETE there, never "not listed" (a missing rule is not a negative answer).
        raw_covers = data["covers"]
        if not isinstance(raw_covers, list) or not raw_covers:
            raise ctx.fail("covers", "expected a non-empty list of subject types")
        for index, subject in enumerate(raw_covers):
            if subject not in SUBJECT_TYPES:
                raise ctx.fail(f"covers[{index}]", f"expected one of {', '.join(SUBJECT_TYPES)}, got {subject!r}")
        covers = frozenset(raw_covers)
    return jurisdiction, str(data.get("title") or jurisdiction), unlisted, rules, carveouts, access, covers


def _check_overlaps(rules: Iterable[ControlRule]) -> None:
    """Rules of one subject partition it by qubit count: their bands must be disjoint."""
    by_subject: dict[str, list[ControlRule]] = {}
    for rule in rules:
        by_subject.setdefault(rule.subject, []).append(rule)
    for group in by_subject.values():
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                if _qubit_interval(a).overlaps(_qubit_interval(b)):
                    raise PolicyError(
                        f"{b.source}: rule {b.id}: threshold band overlaps rule {a.id} ({a.source}) "
                        "on physical_qubits; the bands of one subject must be disjoint"
                    )


@dataclass(frozen=True)
class _Interval:
    low: float
    high: float
    high_inclusive: bool

    def overlaps(self, other: _Interval) -> bool:
        self_below = self.high < other.low or (self.high == other.low and not self.high_inclusive)
        other_below = other.high < self.low or (other.high == self.low and not other.high_inclusive)
        return not (self_below or other_below)


def _qubit_interval(rule: ControlRule) -> _Interval:
    band = next((b for b in rule.when if b.parameter == "physical_qubits"), None)
    return _Interval(-math.inf, math.inf, True) if band is None else _Interval(*band.interval())


def policy_files(extra_dir: Path | None = None) -> dict[str, str]:
    """The files a policy set is made of: the built-in bundles, then an organisation's directory.

    Keys are ``builtin/<bundle>/<file>.yaml`` and ``org/<path>.yaml``; this mapping is what
    ``qgov policy publish`` stores, so a published set loads the same on any qgov version."""
    return {key: text for key, (_, text) in _collect(extra_dir).items()}


def _collect(extra_dir: Path | None) -> dict[str, tuple[Path, str]]:
    found = {f"builtin/{p.relative_to(BUILTIN_DIR).as_posix()}": p for p in sorted(BUILTIN_DIR.glob("*/*.yaml"))}
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise PolicyError(f"policy directory {extra_dir}: not a directory")
        for path in sorted(extra_dir.rglob("*.yaml")):
            found[f"{ORG_PREFIX}{path.relative_to(extra_dir).as_posix()}"] = path
    files = {key: (path, _read(path)) for key, path in found.items()}
    total = sum(len(text) for _, text in files.values())
    if total > MAX_POLICY_BYTES:
        raise PolicyError(f"policy directory {extra_dir}: {total} bytes of YAML, expected at most {MAX_POLICY_BYTES}")
    return files


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot be read as UTF-8 text ({exc.__class__.__name__})") from None


def load_policies(extra_dir: Path | None = None) -> PolicySet:
    """Load the built-in bundles, then an organisation's directory over them."""
    collected = _collect(extra_dir)
    return load_policy_files(
        {key: text for key, (_, text) in collected.items()}, {key: str(path) for key, (path, _) in collected.items()}
    )


def load_policy_files(files: Mapping[str, str], shown_as: Mapping[str, str] | None = None) -> PolicySet:
    """Parse a policy set from its files (see :func:`policy_files`): built-in ones first, each
    rule id once; then the organisation's, whose rules extend or replace them. Errors name a
    file as ``shown_as`` says (default: its key)."""
    partial: dict[str, dict[str, Any]] = {}
    ordered = sorted(files, key=lambda name: (name.startswith(ORG_PREFIX), name))
    aliases: dict[str, str] = {}
    for name in ordered:
        shown = (shown_as or {}).get(name, name)
        jurisdiction = _merge(partial, shown, files[name], override=name.startswith(ORG_PREFIX))
        if name.startswith("builtin/"):
            aliases[name.split("/")[1].casefold()] = jurisdiction
    bundles = {}
    for jurisdiction, part in partial.items():
        if part["unlisted"] is None:
            raise PolicyError(
                f"jurisdiction {jurisdiction}: no file declares 'unlisted' (the answer for unlisted items)"
            )
        rules = tuple(part["rules"].values())
        _check_overlaps(rules)
        # Without a declaration a bundle covers the subjects it has rules for (and "none").
        covers = part["covers"] or frozenset({r.subject for r in rules} | {"none"})
        bundles[jurisdiction] = Bundle(
            jurisdiction,
            part["title"],
            part["unlisted"],
            rules,
            tuple(part["carveouts"].values()),
            tuple(sorted(part["overridden"])),
            part["access"],
            covers | {r.subject for r in rules},
        ).with_version()
    return PolicySet(bundles, aliases)


def _merge(partial: dict[str, dict[str, Any]], path: str, text: str, override: bool) -> str:
    jurisdiction, title, unlisted, rules, carveouts, access, covers = _parse_file(path, text)
    part = partial.setdefault(
        jurisdiction,
        {
            "title": title,
            "unlisted": None,
            "rules": {},
            "carveouts": {},
            "overridden": set(),
            "access": None,
            "covers": None,
        },
    )
    if covers is not None:
        part["covers"] = (part["covers"] or frozenset()) | covers
    if unlisted is not None:
        part["unlisted"] = unlisted
    if access is not None:
        part["access"] = access  # an organisation's access section replaces the built-in one
    seen: set[str] = set()
    for item, table in [(r, "rules") for r in rules] + [(c, "carveouts") for c in carveouts]:
        if item.id in seen:
            raise PolicyError(f"{path}: rule {item.id}: duplicate rule id in this file")
        seen.add(item.id)
        if item.id in part[table]:
            if not override:
                raise PolicyError(f"{path}: rule {item.id}: duplicate rule id (also in {part[table][item.id].source})")
            part["overridden"].add(item.id)
        part[table][item.id] = item
    return jurisdiction


__all__ = [
    "BUILTIN_DIR",
    "CLAIM_FIELDS",
    "ITEM_KINDS",
    "NUMERIC_PARAMETERS",
    "PARAMETERS",
    "STATUSES",
    "SUBJECT_TYPES",
    "Band",
    "Bundle",
    "CarveOut",
    "ControlRule",
    "Parameter",
    "PolicySet",
    "Unlisted",
    "load_policies",
    "load_policy_files",
    "policy_files",
]
