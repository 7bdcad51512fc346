"""A restricted-party list's licence policy, compared by meaning rather than by spelling.

The Consolidated Screening List writes an Entity List entry's licence review policy as
prose ("Presumption of denial.", "Case-by-case review for ...; presumption of denial for
all other items"); other sources and older loads write ``presumption_of_denial``. Every
comparison of a licence policy — the access decision and the differential-privacy release
path — goes through :func:`normalize_license_policy`, so that the two spellings are one
value. A policy that names a presumption of denial anywhere is read as one: the items qgov
governs are quantum technology, not the carve-outs such mixed policies list first, and the
stricter reading fails closed.

The Entity List (15 CFR 744 Supp. 4) requires a licence for *all items subject to the EAR*
(EAR99 included): :func:`is_entity_list` tells its entries from other lists' by the CSL
``source`` string ("Entity List (EL) - Bureau of Industry and Security").
"""

from __future__ import annotations

import re

PRESUMPTION_OF_DENIAL = "presumption_of_denial"
PRESUMPTION_OF_APPROVAL = "presumption_of_approval"
CASE_BY_CASE = "case_by_case"
UNSTATED = ""

_WORDS = re.compile(r"[^a-z0-9]+")


def normalize_license_policy(text: object) -> str:
    """``presumption_of_denial``, ``case_by_case``, ``presumption_of_approval``, a slug, or ``""``."""
    if not isinstance(text, str):
        return UNSTATED
    words = _WORDS.sub(" ", text.casefold()).split()
    flat = " ".join(words)
    if "presumption of denial" in flat or flat.startswith("policy of denial") or flat == "denial":
        return PRESUMPTION_OF_DENIAL
    if "case by case" in flat:
        return CASE_BY_CASE
    if "presumption of approval" in flat:
        return PRESUMPTION_OF_APPROVAL
    return "_".join(words)


def is_entity_list(source: object) -> bool:
    """Is a match's list the Entity List? A match that does not say which list it is counts as one."""
    if not isinstance(source, str) or not source.strip():
        return True  # fail closed: an unlabelled match may be the Entity List
    return "entity list" in source.casefold()


__all__ = [
    "CASE_BY_CASE",
    "PRESUMPTION_OF_APPROVAL",
    "PRESUMPTION_OF_DENIAL",
    "UNSTATED",
    "is_entity_list",
    "normalize_license_policy",
]
