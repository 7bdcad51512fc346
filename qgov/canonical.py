"""The canonical encoding: the one byte form that every qgov hash is computed over.

Rules (kept small so that an auditor can re-implement them in any language):

* JSON (RFC 8259), UTF-8, no insignificant whitespace, object keys sorted by code point;
* ``null`` values inside objects are dropped (absent and null mean the same);
* NaN and infinities are refused; integers are written as integers, floats with
  Python's shortest round-trip ``repr``;
* timestamps are strings in UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (see :func:`iso_utc`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from qgov.errors import InputError


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_nulls(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` canonically; raise InputError for values JSON cannot hold."""
    try:
        text = json.dumps(
            _drop_nulls(value),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"value cannot be encoded canonically: {exc}") from None
    return text.encode("utf-8")


def canonical_json_decoded(value: Any) -> bytes:
    """:func:`canonical_json` for values decoded from JSON (string keys only), faster.

    One C-level encoding; the null-dropping walk runs only when the text shows a ``null``
    (a string that merely contains "null" takes the slow path too, with the same result).
    """
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return canonical_json(value)
    return canonical_json(value) if "null" in text else text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical encoding of ``value``."""
    return sha256_hex(canonical_json(value))


def as_utc(moment: datetime) -> datetime:
    """A timezone-aware UTC datetime; naive values (SQLite returns them) are taken as UTC."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """Format a timestamp the canonical way; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str, field: str = "time") -> datetime:
    """Parse an ISO 8601 timestamp given by a user; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{field}: expected an ISO 8601 time such as 2026-05-01T12:00:00Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


__all__ = [
    "as_utc",
    "canonical_hash",
    "canonical_json",
    "canonical_json_decoded",
    "iso_utc",
    "parse_iso",
    "sha256_hex",
]
