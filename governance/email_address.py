"""E-mail addresses: one plain ``local@domain`` address, checked before it is stored or used.

Deliberately strict: no display names, no comments, no line breaks (a CR or LF in an address
would let it add mail headers), a dot in the domain, at most 254 characters (RFC 5321).
"""

from __future__ import annotations

import re

from qgov.errors import InputError, QgovError

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def check_email(text: str, field: str = "--email", error: type[QgovError] = InputError) -> str:
    """``text`` as an address, or ``error`` naming ``field`` and what was expected."""
    if len(text) > 254 or not _ADDRESS.fullmatch(text) or ".." in text:
        raise error(f"{field}: expected an e-mail address like name@example.org, got {text!r}")
    return text


__all__ = ["check_email"]
