"""RFC 8785 (JCS) encoding with a fast path through the C JSON encoder.

Hashing an event under scheme 2 is JCS + SHA-256; the pure-Python ``rfc8785`` encoder took
0.7 ms per event body, a quarter of the time of ingesting a 1 KiB file (cProfile, ADR 0038).
For the values events hold — dicts with string keys, lists, strings, booleans, None and
integers inside ±(2^53 − 1) — ``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` writes exactly the JCS bytes:

* both escape ``"``, ``\\``, ``\\b \\f \\n \\r \\t`` by name and the other controls below U+0020
  as ``\\u00xx`` in lower-case hex, and write everything else as UTF-8 (RFC 8785 §3.2.2.2);
* integers in that range print the same in both (§3.2.2.3);
* keys sort by UTF-16 code units in JCS (§3.2.3) and by code points in Python: the two
  orders agree unless a string holds a character beyond U+FFFF or a surrogate.

Anything else — a float, a tuple, a subclass, a string with a surrogate or a character
beyond U+FFFF, an integer out of range — goes to ``rfc8785`` itself, which also raises for
what JCS cannot hold. ``tests/unit/test_jcs.py`` checks the two agree on generated values.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

_INT_MAX = 2**53 - 1
_NOT_BMP_OR_SURROGATE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")
_encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _plain_text(text: str) -> bool:
    return text.isascii() or _NOT_BMP_OR_SURROGATE.search(text) is None


def _fast_path_holds(value: Any) -> bool:
    """True when the C encoder's output is the RFC 8785 encoding of ``value`` (module docstring)."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            if not _plain_text(item):
                return False
        elif kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not _plain_text(key):
                    return False
                stack.append(inner)
        elif kind is list:
            stack.extend(item)
        elif kind is int:
            if not -_INT_MAX <= item <= _INT_MAX:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def jcs_bytes(value: Any) -> bytes:
    """The RFC 8785 encoding of ``value``; raises what ``rfc8785.dumps`` raises."""
    if _fast_path_holds(value):
        return _encode(value).encode("utf-8")
    return rfc8785.dumps(value)
