"""The capability table: which role may do what. One table, default deny, checked in services.

Every service entry point names its action here and calls :func:`authorize` inside its own
transaction, whatever called it (the command line, the HTTP API, a Prefect flow), so a role
check can never be skipped by choosing another door. ``qgov roles show`` prints this table;
``tests/integration/test_capabilities.py`` walks every action × every role against it.

Roles (DESIGN.md): researchers ask for data and see their own requests and grants; data
managers register and ingest datasets; export-control officers decide (never on their own
request: :mod:`governance.requests` checks that); auditors read every record but change
nothing; admins manage people, roles, tokens, keys and policy, and still need a grant to
read controlled content (content is never a role's capability: it needs a grant).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from governance import tables as t
from qgov.errors import AccessDenied, InputError

RESEARCHER = "researcher"
DATA_MANAGER = "data_manager"
OFFICER = "export_control_officer"
AUDITOR = "auditor"
ADMIN = "admin"
EVERYONE = frozenset({RESEARCHER, DATA_MANAGER, OFFICER, AUDITOR, ADMIN})


@dataclass(frozen=True)
class Capability:
    action: str
    description: str  # completes "may not …"
    roles: frozenset[str]


def _cap(action: str, description: str, *roles: str) -> Capability:
    return Capability(action, description, frozenset(roles))


CAPABILITIES: dict[str, Capability] = {
    c.action: c
    for c in (
        # catalog
        _cap("dataset.register", "register datasets", DATA_MANAGER, ADMIN),
        _cap("dataset.update", "change datasets", DATA_MANAGER, OFFICER, ADMIN),
        _cap("dataset.ingest", "ingest files into datasets", DATA_MANAGER, ADMIN),
        _cap("catalog.read", "read the catalog's metadata", *EVERYONE),
        _cap("lineage.record", "record lineage", DATA_MANAGER, ADMIN),
        _cap("lineage.retract", "retract derivations", OFFICER),
        # access
        _cap("access.request", "request access to artifacts", *EVERYONE),
        _cap("access.read_all", "read every access request and grant", OFFICER, AUDITOR, ADMIN),
        _cap("access.queue", "see the review queue", OFFICER),
        _cap("access.decide", "approve or deny access requests, or ask their requesters for information", OFFICER),
        _cap("notification.send", "send or inspect decision e-mails", OFFICER, ADMIN),
        _cap("access.revoke", "revoke grants", OFFICER),
        _cap("screening.load", "load screening lists", OFFICER),
        _cap("screening.clear", "clear screening matches as false positives", OFFICER),
        _cap("classification.override", "override or declassify classifications", OFFICER),
        _cap("classification.reclassify", "reclassify the catalog", OFFICER, ADMIN),
        # privacy
        _cap("release.request", "request differential-privacy releases", *EVERYONE),
        _cap("release.decide", "decide or classify releases", OFFICER),
        _cap("budget.set", "set privacy budgets", DATA_MANAGER, ADMIN),
        _cap("budget.reconcile", "reconcile privacy budgets", ADMIN),
        # retention
        _cap("hold.manage", "place or release legal holds", OFFICER, ADMIN),
        _cap("artifact.delete", "delete artifacts", DATA_MANAGER, ADMIN),
        _cap("artifact.delete_early", "delete before the end of retention", ADMIN),
        _cap("retention.sweep", "run the retention sweep", ADMIN),
        _cap("person.erase", "erase a person's personal data", ADMIN),
        # audit
        _cap("audit.read", "read the provenance log and audit reports", AUDITOR, OFFICER, ADMIN),
        # compliance operations
        _cap("compliance.sweep", "run compliance sweeps (anomaly scans, deadline reminders)", OFFICER, ADMIN),
        _cap("anomaly.read", "read anomaly alerts", OFFICER, AUDITOR, ADMIN),
        _cap("compliance.tabletop", "run a tabletop exercise on a scratch copy of the store", OFFICER, ADMIN),
        _cap("incident.manage", "open, contain or close incidents, or dismiss alerts", OFFICER),
        _cap("incident.read", "read incidents and readiness figures", OFFICER, AUDITOR, ADMIN),
        _cap("training.record", "record completed training", OFFICER, ADMIN),
        _cap("vendor.manage", "register, assess or retire vendors", OFFICER, ADMIN),
        _cap("vendor.read", "read the vendor risk register", OFFICER, AUDITOR, ADMIN),
        _cap("violation.manage", "record violations and sanctions", OFFICER),
        _cap("violation.read", "read other people's violations", OFFICER, AUDITOR, ADMIN),
        # administration
        _cap("person.register", "register people", ADMIN),
        _cap("person.read", "read other people's registered facts", ADMIN, OFFICER, AUDITOR),
        _cap("person.act_as", "act as another person (qgov --as)", ADMIN),
        _cap("role.manage", "grant or revoke roles", ADMIN),
        _cap("token.create", "issue access tokens", ADMIN),
        _cap("token.revoke", "revoke other people's access tokens", ADMIN),
        _cap("token.list", "list every access token", ADMIN),
        _cap("keys.rotate", "rotate keys", ADMIN),
        _cap("policy.publish", "publish policy bundles", ADMIN),
    )
}


def roles_of(conn: Connection, person: str) -> set[str]:
    """The roles ``person`` holds now (this module imports only the tables: every service and
    the identity code below them may use it)."""
    rows = conn.execute(select(t.role_assignments.c.role).where(t.role_assignments.c.person == person))
    return {r.role for r in rows}


def capability(action: str) -> Capability:
    try:
        return CAPABILITIES[action]
    except KeyError:
        # A programming error in qgov, but failing closed all the same.
        raise InputError(f"action {action!r}: not in the capability table") from None


def allowed(roles: frozenset[str] | set[str], action: str) -> bool:
    """Whether any of ``roles`` has ``action``: the pure rule, default deny."""
    return bool(capability(action).roles & set(roles))


def can(conn: Connection, person: str, action: str) -> bool:
    return allowed(roles_of(conn, person), action)


def authorize(conn: Connection, person: str, action: str) -> None:
    """Refuse (:class:`AccessDenied`) unless ``person`` holds a role with ``action``."""
    cap = capability(action)
    if not allowed(roles_of(conn, person), action):
        needed = " or ".join(sorted(cap.roles))
        raise AccessDenied(f"user {person!r} may not {cap.description}: it needs the {needed} role")


def table_rows() -> list[dict[str, object]]:
    """The table as rows of action × role, for ``qgov roles show`` and the API."""
    roles = sorted(EVERYONE)
    return [
        {"action": c.action, "description": c.description} | {r: r in c.roles for r in roles}
        for c in CAPABILITIES.values()
    ]


__all__ = [
    "ADMIN",
    "AUDITOR",
    "CAPABILITIES",
    "DATA_MANAGER",
    "EVERYONE",
    "OFFICER",
    "RESEARCHER",
    "Capability",
    "allowed",
    "authorize",
    "can",
    "capability",
    "roles_of",
    "table_rows",
]
