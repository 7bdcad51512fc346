"""Documents for the operations whose services return objects, built once for both doors.

The command line (through :class:`governance.client_ops.EmbeddedOps`) and the HTTP API
(:mod:`governance.api.admin_routes`) call these, so ``qgov … --json`` prints the same document
on the local store and against `qgov serve`. Each checks the capability table through the
service it calls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from governance.app import App
from governance.disclosure import Disclosure


def revoke_grant(app: App, grant_id: str, reason: str) -> dict[str, Any]:
    """Officers: revoke a grant; fetching under it stops at once."""
    from governance.requests import revoke

    revoke(app, grant_id, reason)
    return {"grant": grant_id, "status": "revoked"}


def trace_doc(
    app: App, node_id: str, direction: str = "upstream", depth: int | None = None, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """The ``qgov.trace/v1`` document of a node, redacted for the caller."""
    from governance.provenance import trace_lineage
    from qgov.canonical import parse_iso
    from qgov.errors import InputError

    if direction not in ("upstream", "downstream"):
        raise InputError(f"direction: expected upstream or downstream, got {direction!r}")
    when = parse_iso(as_of, "--as-of") if isinstance(as_of, str) else as_of
    return dict(Disclosure(app).redact(trace_lineage(app, node_id, direction, depth, when)))  # type: ignore[arg-type]


def checkpoint_doc(app: App) -> dict[str, Any]:
    """Sign a checkpoint of the log as it stands now."""
    from governance.signing import checkpoint

    cp = checkpoint(app)
    return {"size": cp.size, "root_hash": cp.root_hash, "note": cp.note, "key_name": cp.key_name}


def policies_doc(app: App) -> dict[str, Any]:
    """The published policy versions, newest (in force) first."""
    from governance.policy_store import list_policies

    return {"versions": [v.to_json() for v in list_policies(app)]}


def publish_doc(
    app: App, files: dict[str, str], note: str = "", source: str = "policy", shown_as: dict[str, str] | None = None
) -> dict[str, Any]:
    """Admins: publish an organisation's policy files (uploaded, ``org/<path>.yaml``) over the
    built-in bundles as the policy in force."""
    from governance.policy_store import publish_policy_files

    published, new = publish_policy_files(app, files, note, source, shown_as)
    return published.to_json() | {"new": new}


def verify_doc(
    app: App,
    keys: list[str] | None = None,
    since: str | None = None,
    since_text: str | None = None,
    witness: bool = True,
    blobs: bool = False,
) -> dict[str, Any]:
    """Auditors: recompute the hash chain and the signed checkpoints, prove the log extends the
    witnessed (and a kept: ``since`` names it, ``since_text`` is its content) checkpoint; with
    ``blobs``, decrypt and re-hash every stored object."""
    from governance.audit import verification_document, verify_blobs, verify_log

    doc = verification_document(verify_log(app, keys or [], since=since, witness=witness, since_text=since_text))
    if blobs:
        check = verify_blobs(app)
        doc["objects_checked"] = check.checked
        doc["bad_objects"] = check.bad
        doc["ok"] = doc["ok"] and not check.bad
    return doc


def report_doc(app: App, node: str, keys: list[str] | None = None) -> dict[str, Any]:
    """Auditors: the audit report's document of an output, redacted for the caller (the command
    line renders it as HTML)."""
    from governance.audit_report import build_report

    return dict(Disclosure(app).redact(build_report(app, node, keys or [])))


def create_token_doc(app: App, person: str, days: int = 90, note: str = "") -> dict[str, Any]:
    """Admins: issue a personal access token for a registered person (shown once)."""
    from governance.identity import create_token

    issued = create_token(app, person, days, note)
    return {"token": issued.token, "id": issued.id, "expires_at": issued.expires_at.isoformat()}


def revoke_token_doc(app: App, token_id: str) -> dict[str, Any]:
    """Revoke a token: an admin any, everyone their own."""
    from governance.identity import revoke_token

    revoke_token(app, token_id)
    return {"revoked": token_id}


def tokens_doc(app: App) -> list[dict[str, Any]]:
    """Tokens without their secrets: everyone's for an admin, one's own otherwise."""
    from governance.identity import list_tokens

    return [{k: str(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in list_tokens(app)]


def _changes(changes: list[Any], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return (extra or {}) | {"changed": len(changes), "changes": [c.to_json() for c in changes]}


def override_doc(app: App, artifact: str, classification: str, reason: str) -> dict[str, Any]:
    """Officers: set an artifact's classification; the changes it made."""
    from governance.classification import override

    return _changes(override(app, artifact, classification, reason))


def declassify_doc(app: App, artifact: str, reason: str) -> dict[str, Any]:
    """Officers: stop a derived artifact inheriting its inputs' classification."""
    from governance.classification import declassify

    return _changes(declassify(app, artifact, reason))


def derive_doc(app: App, activity: str, used: list[str], generated: list[str]) -> dict[str, Any]:
    """Record that artifacts were derived from others; the classifications that changed."""
    from governance.derivation import record_derivation

    activity_id, changes = record_derivation(app, activity, used, generated)
    return _changes(changes, {"activity": activity_id})


def retract_doc(app: App, activity: str, reason: str) -> dict[str, Any]:
    """Officers: withdraw a recorded derivation from now on."""
    from governance.provenance import retract

    return {"activity": activity, "changes": [c.to_json() for c in retract(app, activity, reason)]}


def screen_doc(app: App, name: str, country: str | None = None) -> dict[str, Any]:
    """What-if: screen a name against the restricted-party list in force."""
    from governance.access import screen

    return screen(app, name, country).to_json()


def add_person(
    app: App,
    name: str,
    citizenships: list[str],
    location: str,
    affiliation: str,
    permanent_residence: str | None = None,
    us_permanent_resident: bool = False,
    training_completed_on: str | None = None,
    roles: list[str] | None = None,
    os_account: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    """Admins: register or update a person with the facts access decisions need."""
    from governance.requests import Person, register_person, training_date

    person = Person(
        name,
        [c.upper() for c in citizenships],
        us_permanent_resident,
        permanent_residence.upper() if permanent_residence else None,
        location.upper(),
        affiliation,
        training_date(training_completed_on),
    )
    register_person(app, person, roles or ["researcher"], os_account, email)
    return person.as_requester() | {"roles": roles or ["researcher"], "os_account": os_account, "email": email}


def contain_doc(
    app: App,
    incident_id: str,
    reason: str,
    suspend_grants: bool = False,
    revoke: list[str] | None = None,
    hold: bool = False,
) -> dict[str, Any]:
    """Officers: act on an incident (the API's field names: ``suspend_grants``, ``revoke``)."""
    from governance.compliance.incidents import contain

    return contain(app, incident_id, reason, suspend_grants, tuple(revoke or ()), hold)


def record_violation_doc(
    app: App, person: str, what: str, sanction: str, steps: list[str], evidence: list[str]
) -> dict[str, Any]:
    """Officers: record a violation (the API's field names: ``what``, ``steps``)."""
    from governance.compliance.violations import record_violation

    return record_violation(app, person, what, sanction, steps, evidence)


__all__ = [
    "add_person",
    "record_violation_doc",
    "contain_doc",
    "checkpoint_doc",
    "create_token_doc",
    "declassify_doc",
    "derive_doc",
    "override_doc",
    "policies_doc",
    "publish_doc",
    "report_doc",
    "verify_doc",
    "retract_doc",
    "revoke_grant",
    "revoke_token_doc",
    "screen_doc",
    "tokens_doc",
    "trace_doc",
]
