"""The names qgov knows, so that a typo is bad input with a did-you-mean, never a new name.

A misspelt parameter (``physical_qbits``) would otherwise register and leave every artifact
INCOMPLETE; a misspelt classification (``EAR-99``, ``4E9O6``) would become an officer's
override that no rule knows; a role granted to an unregistered name would go to nobody.
The known names come from the policy bundle in force (parameters per subject type, the
classifications its rules can give) and from the people registry.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select, union

from governance import tables as t
from policies.bundle import Bundle, PolicySet
from qgov.errors import InputError, NotFoundError

# Answers an officer may give besides the control-list entries (DESIGN.md classify output).
GENERIC_CLASSIFICATIONS = ("NOT_SUBJECT", "INCOMPLETE")


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for the closest known name, or an empty string."""
    candidates = list(known)
    close = difflib.get_close_matches(value, candidates, n=1, cutoff=0.6)
    if not close:  # case and punctuation slips: EAR-99, ear99
        folded = {_fold(c): c for c in candidates}
        close = [folded[_fold(value)]] if _fold(value) in folded else []
    return f"; did you mean {close[0]!r}?" if close else ""


def _fold(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


# -- subject parameters ---------------------------------------------------------------
def subject_parameters(policies: PolicySet, subject_type: str) -> list[str]:
    """The parameters any bundle's rules read for ``subject_type`` (its bands)."""
    return sorted(
        {
            band.parameter
            for bundle in policies.bundles.values()
            for rule in bundle.rules
            if rule.subject == subject_type
            for band in rule.when
        }
    )


def check_subject_parameters(policies: PolicySet, subject: Mapping[str, Any], where: str = "subject") -> None:
    """Refuse a parameter no rule reads for this subject type, naming the nearest known one."""
    subject_type = str(subject.get("type", "none"))
    known = subject_parameters(policies, subject_type)
    for key in subject:
        if key == "type" or key in known:
            continue
        listed = f"known: {', '.join(known)}" if known else f"the policy states no parameter for {subject_type}"
        raise InputError(
            f"{where}.{key} (--param {key}): not a parameter of a {subject_type} item"
            f"{did_you_mean(key, known)} ({listed})"
        )


# -- classifications ------------------------------------------------------------------
def known_classifications(bundle: Bundle) -> list[str]:
    """Every answer the bundle's rules can give, plus NOT_SUBJECT and INCOMPLETE."""
    names = {bundle.unlisted.classification, *GENERIC_CLASSIFICATIONS}
    for rule in bundle.rules:
        names.update(c for c in (rule.hardware, rule.software, rule.technology) if c)
    return sorted(names)


def check_classification(bundle: Bundle, value: str, option: str = "--as") -> str:
    """``value`` if the bundle knows it (exact spelling), else bad input with a did-you-mean."""
    known = known_classifications(bundle)
    if value in known:
        return value
    raise InputError(
        f"{option} {value!r}: not a classification of {bundle.jurisdiction}"
        f"{did_you_mean(value, known)} (known: {', '.join(known)})"
    )


# -- people ---------------------------------------------------------------------------
def known_people(conn: Connection) -> list[str]:
    """Registered people, and those who hold a role without facts (the initial admin)."""
    query = union(select(t.people.c.name), select(t.role_assignments.c.person))
    return sorted(r[0] for r in conn.execute(query))


def require_person(conn: Connection, name: str, what: str = "person", hint: bool = True) -> None:
    """Refuse a name that is not registered (not found), naming the nearest registered one
    when ``hint`` (only for callers who may read the people registry: a did-you-mean
    discloses a registered name)."""
    if conn.execute(select(t.people.c.name).where(t.people.c.name == name)).first():
        return
    if conn.execute(select(t.role_assignments.c.person).where(t.role_assignments.c.person == name)).first():
        return
    near = did_you_mean(name, known_people(conn)) if hint else ""
    raise NotFoundError(f"{what} {name!r} is not registered{near}; an admin registers people with 'qgov person add'")


__all__ = [
    "GENERIC_CLASSIFICATIONS",
    "check_classification",
    "check_subject_parameters",
    "did_you_mean",
    "known_classifications",
    "known_people",
    "require_person",
    "subject_parameters",
]
