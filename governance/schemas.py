"""The ITEM and REQUEST documents as JSON Schema (2020-12), and validation against them.

The schemas are built here from the same constants the evaluators check (item kinds, subject
types, technical parameters, research facts), so they cannot drift from the code; the files
under ``docs/schemas/`` are these documents as published (``tests/unit/test_schemas.py``
fails when they differ). ``qgov classify`` and ``qgov access check`` validate their input
against them after the evaluators' own checks (whose messages are more specific), so a
document either side accepts is one the published schema accepts.

Validation needs the ``jsonschema`` package, imported when first used.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from policies.bundle import ITEM_KINDS, SUBJECT_TYPES
from policies.parameters import PARAMETERS
from qgov.errors import ConfigError, InputError

BASE_URI = "https://qgov.dev/schemas/"
_FACT = {"enum": [True, False, None, "unknown"], "description": 'yes, no, or not known (null or "unknown")'}
_COUNTRY = {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166 two-letter code"}


def _subject() -> dict[str, Any]:
    parameters: dict[str, Any] = {
        name: {"type": "integer" if p.integer else "number", "description": p.expected}
        for name, p in sorted(PARAMETERS.items())
    }
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(SUBJECT_TYPES)}} | parameters,
        "additionalProperties": {"type": ["number", "string"]},
    }


def item_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + "item.schema.json",
        "title": "ITEM: what is being classified (DESIGN.md)",
        "type": "object",
        "required": ["kind"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "kind": {"enum": list(ITEM_KINDS)},
            "subject": _subject(),
            "research": {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: _FACT for k in ("fundamental", "intended_for_publication", "restrictions_accepted")},
            },
            "published": _FACT,
            "catalog_course": _FACT,
        },
    }


def request_schema() -> dict[str, Any]:
    requester = {
        "type": "object",
        "required": ["name", "citizenships", "affiliation"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "citizenships": {"type": "array", "items": _COUNTRY},
            "us_permanent_resident": {"type": "boolean"},
            "protected_individual": {"type": "boolean"},
            "permanent_residence": {"oneOf": [_COUNTRY, {"type": "null"}]},
            "location": {"oneOf": [_COUNTRY, {"type": "null"}]},
            "affiliation": {"type": "string", "minLength": 1},
            "affiliation_country": {"oneOf": [_COUNTRY, {"type": "null"}]},
            "training_completed_on": {"oneOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
        },
    }
    registered = {
        "type": "object",
        "required": ["artifact"],
        "additionalProperties": False,
        "properties": {"artifact": {"type": "string", "minLength": 1, "description": "a registered artifact's id"}},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_URI + "access-request.schema.json",
        "title": "REQUEST: an access request, decided as given by 'qgov access check' (DESIGN.md)",
        "type": "object",
        "required": ["requester", "item", "destination"],
        "additionalProperties": False,
        "properties": {
            "requester": requester,
            "item": {"oneOf": [registered, {"$ref": "item.schema.json"}]},
            "purpose": {"type": "string"},
            "destination": _COUNTRY,
        },
    }


SCHEMAS = {"item.schema.json": item_schema, "access-request.schema.json": request_schema}


def _validator(name: str) -> Any:
    try:
        import jsonschema
        from referencing import Registry, Resource
    except ImportError:  # pragma: no cover - an installation without it
        raise ConfigError(
            "the jsonschema package is not installed; qgov needs it to check documents against docs/schemas"
        ) from None
    registry: Registry[Any] = Registry().with_resources(
        (BASE_URI + key, Resource.from_contents(build())) for key, build in SCHEMAS.items()
    )
    return jsonschema.Draft202012Validator(SCHEMAS[name](), registry=registry)


def validate(document: Any, name: str, source: str) -> None:
    """InputError (one line: the field and what was expected) unless ``document`` fits ``name``."""
    validator = _validator(name)
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(document))
    if error is None:
        return
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "enum":
        choices = [json.dumps(c) if not isinstance(c, str) else c for c in error.validator_value]
        close = difflib.get_close_matches(str(error.instance), [c for c in choices if c], n=1)
        message = f"expected one of {', '.join(choices)}, got {error.instance!r}" + (
            f" (did you mean {close[0]!r}?)" if close else ""
        )
    else:
        message = " ".join(error.message.split())[:300]
    raise InputError(f"{source}{where}: {message} (schema {name})")


__all__ = ["SCHEMAS", "item_schema", "request_schema", "validate"]
