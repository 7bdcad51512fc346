"""The vendor risk register, and the check that keeps controlled data off unassessed vendors.

Officers and admins register third-party services that data passes through (cloud storage,
remote quantum processors, collaboration platforms), assess them (a risk tier; the policy's
``vendors.assessment_valid_days`` for that tier says when the next review is due) and retire
them. Auditors read the register. Every step is an event.

The join (docs/adr/0035): a vendor row lists in ``covers`` the storage URL prefixes and
endpoint URLs it operates. Controlled data — and data whose control status is not yet known
(deny when unsure) — is refused

- by the store when ``QGOV_STORAGE_URL`` (and, for S3, ``QGOV_S3_ENDPOINT_URL``) is not a local
  directory and some target is covered by no vendor, or by a vendor that is not cleared for it;
- by an access request that names a vendor the data is going to (``--vendor``) when that
  vendor is not cleared for it.

Cleared means: active, registered as receiving controlled data, and assessed with the review
not yet due. Every vendor covering a target must be cleared, not just one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from governance import compliance_tables as ct
from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.config import Settings
from governance.db import transaction
from lineage import EventLog, NewEvent
from policies.compliance import RISK_TIERS, load_compliance
from qgov.canonical import as_utc, iso_utc
from qgov.errors import AccessDenied, InputError, NotFoundError, PolicyError

KINDS = ("cloud_storage", "quantum_processor", "collaboration")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$")
_CLASSIFICATION = re.compile(r"^[A-Z0-9_]{2,16}$")
_UNCONTROLLED = {"EAR99", "NOT_SUBJECT"}


def is_local(url: str) -> bool:
    """A directory on this machine: no third party receives the bytes."""
    return "://" not in url or url.startswith("file://")


def _covers(prefix: str, target: str) -> bool:
    p, t = prefix.rstrip("/"), target.rstrip("/")
    return t == p or t.startswith(p + "/")


def _check_cover(value: str) -> str:
    if not re.match(r"^[a-z][a-z0-9+.-]*://[^\s/]+", value) or value.startswith("file://"):
        raise InputError(f"--covers {value!r}: expected a remote URL prefix such as s3://bucket/prefix or https://host")
    return value.rstrip("/")


def _row(conn: Connection, name: str) -> Any:
    row = conn.execute(select(ct.vendors).where(ct.vendors.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"vendor {name!r} is not in the register ('qgov vendor list')")
    return row


def not_cleared(row: Any, at: datetime) -> str | None:
    """Why controlled data may not go to this vendor at ``at``; None when it may."""
    if row.status != "active":
        return f"vendor {row.name} is retired"
    if not row.controlled:
        return f"vendor {row.name} is registered as receiving no controlled data"
    if row.assessed_at is None or row.review_due is None:
        return f"vendor {row.name} has no assessment"
    if as_utc(row.review_due) <= at:
        return f"vendor {row.name}'s assessment expired on {iso_utc(as_utc(row.review_due))[:10]} (review due)"
    return None


def vendor_json(row: Any, at: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": row.name,
        "kind": row.kind,
        "jurisdiction": row.jurisdiction,
        "max_classification": row.max_classification,
        "controlled": bool(row.controlled),
        "covers": list(row.covers),
        "status": row.status,
        "registered_at": iso_utc(as_utc(row.registered_at)),
    }
    if row.assessed_at is not None:
        doc |= {
            "risk_tier": row.risk_tier,
            "assessed_at": iso_utc(as_utc(row.assessed_at)),
            "assessed_by": row.assessed_by,
            "review_due": iso_utc(as_utc(row.review_due)),
            "findings": row.findings,
        }
    if row.retired_at is not None:
        doc["retired_at"] = iso_utc(as_utc(row.retired_at))
    reason = not_cleared(row, at)
    doc["cleared_for_controlled"] = reason is None
    if reason is not None:
        doc["not_cleared"] = reason
    return doc


def register_vendor(
    app: App,
    name: str,
    kind: str,
    jurisdiction: str,
    max_classification: str,
    controlled: bool,
    covers: list[str],
    at: datetime | None = None,
) -> dict[str, Any]:
    """Officers, admins: put a vendor in the register (unassessed until ``assess_vendor``)."""
    if not _NAME.match(name):
        raise InputError(f"NAME {name!r}: expected 1-128 letters, digits, spaces, '.', '_' or '-'")
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not re.match(r"^[A-Za-z]{2}$", jurisdiction):
        raise InputError(f"--jurisdiction {jurisdiction!r}: expected an ISO 3166 two-letter code")
    top = max_classification.upper()
    if not _CLASSIFICATION.match(top):
        raise InputError(f"--max-classification {max_classification!r}: expected e.g. EAR99 or 4E906")
    if controlled == (top in _UNCONTROLLED):
        raise InputError(
            f"--max-classification {top}: contradicts --{'' if controlled else 'no-'}controlled "
            "(EAR99/NOT_SUBJECT means no controlled data; a controlled entry such as 4E906 means some)"
        )
    cleaned = sorted({_check_cover(c) for c in covers})
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "vendor.manage")
        if conn.execute(select(ct.vendors.c.name).where(ct.vendors.c.name == name)).first() is not None:
            raise InputError(f"vendor {name!r} is already in the register ('qgov vendor show {name}')")
        conn.execute(
            insert(ct.vendors).values(
                name=name,
                kind=kind,
                jurisdiction=jurisdiction.upper(),
                max_classification=top,
                controlled=controlled,
                covers=cleaned,
                status="active",
                registered_at=at,
                registered_by=app.user,
            )
        )
        payload = {"vendor": name, "kind": kind, "jurisdiction": jurisdiction.upper()}
        payload |= {"max_classification": top, "controlled": controlled, "covers": cleaned}
        EventLog(conn).append(NewEvent("vendor.registered", app.user, [f"vendor:{name}"], payload, at))
        return vendor_json(_row(conn, name), at)


def assess_vendor(app: App, name: str, risk_tier: str, findings: str, at: datetime | None = None) -> dict[str, Any]:
    """Officers, admins: record an assessment; the review falls due after the tier's validity."""
    if risk_tier not in RISK_TIERS:
        raise InputError(f"--risk-tier {risk_tier!r}: expected one of {', '.join(RISK_TIERS)}")
    if not findings.strip():
        raise InputError("--findings: an assessment needs its findings (what was checked, what was found)")
    policy = load_compliance().vendors
    if policy is None:
        raise PolicyError("policies/compliance.yaml: no vendors section")
    at = at or datetime.now(UTC)
    due = at + timedelta(days=policy.assessment_valid_days[risk_tier])
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "vendor.manage")
        if _row(conn, name).status != "active":
            raise InputError(f"vendor {name!r} is retired: register it again under a new name to use it")
        values = {"risk_tier": risk_tier, "assessed_at": at, "assessed_by": app.user, "review_due": due}
        conn.execute(update(ct.vendors).where(ct.vendors.c.name == name).values(findings=findings, **values))
        payload = {"vendor": name, "risk_tier": risk_tier, "findings": findings, "review_due": iso_utc(due)}
        EventLog(conn).append(NewEvent("vendor.assessed", app.user, [f"vendor:{name}"], payload, at))
        return vendor_json(_row(conn, name), at)


def retire_vendor(app: App, name: str, reason: str, at: datetime | None = None) -> dict[str, Any]:
    """Officers, admins: no data goes to this vendor any more (the row and its history stay)."""
    if not reason.strip():
        raise InputError("--reason: retiring a vendor needs a reason (kept in the record)")
    at = at or datetime.now(UTC)
    with transaction(app.engine) as conn:
        authorize(conn, app.user, "vendor.manage")
        if _row(conn, name).status == "retired":
            raise InputError(f"vendor {name!r} is already retired")
        conn.execute(update(ct.vendors).where(ct.vendors.c.name == name).values(status="retired", retired_at=at))
        payload = {"vendor": name, "reason": reason}
        EventLog(conn).append(NewEvent("vendor.retired", app.user, [f"vendor:{name}"], payload, at))
        return vendor_json(_row(conn, name), at)


def list_vendors(app: App, at: datetime | None = None) -> list[dict[str, Any]]:
    """Officers, auditors, admins: the register, with whether each vendor is cleared now."""
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "vendor.read")
        return [vendor_json(r, at) for r in conn.execute(select(ct.vendors).order_by(ct.vendors.c.name))]


def show_vendor(app: App, name: str, at: datetime | None = None) -> dict[str, Any]:
    at = at or datetime.now(UTC)
    with app.engine.connect() as conn:
        authorize(conn, app.user, "vendor.read")
        return vendor_json(_row(conn, name), at)


def storage_targets(settings: Settings) -> list[str]:
    """The remote parties the blob store's bytes go to: none for a local directory."""
    if is_local(settings.storage_url):
        return []
    targets = [settings.storage_url]
    if settings.storage_url.startswith("s3://") and settings.s3_endpoint_url:
        targets.append(settings.s3_endpoint_url)
    return targets


def require_cleared_storage(conn: Connection, settings: Settings, at: datetime) -> None:
    """Refuse (AccessDenied) to store controlled data on a remote target no cleared vendor covers."""
    targets = storage_targets(settings)
    if not targets:
        return
    rows = [r for r in conn.execute(select(ct.vendors)) if r.status == "active"]
    for target in targets:
        covering = [r for r in rows if any(_covers(c, target) for c in r.covers)]
        if not covering:
            raise AccessDenied(
                f"storage {target}: no vendor in the register covers it; controlled data is stored there only "
                f"once an officer registers and assesses its vendor ('qgov vendor add NAME --covers {target} …')"
            )
        for r in covering:
            if (why := not_cleared(r, as_utc(at))) is not None:
                raise AccessDenied(
                    f"storage {target}: {why}; controlled data is stored there only after "
                    f"'qgov vendor assess {r.name}' (an officer)"
                )


def any_not_known_uncontrolled(conn: Connection, artifact_ids: list[str]) -> bool:
    """Whether any artifact is controlled or not yet known to be uncontrolled (deny when unsure)."""
    rows = conn.execute(select(t.artifacts.c.controlled).where(t.artifacts.c.id.in_(artifact_ids))).scalars()
    return any(c is not False for c in rows)


def vendor_jurisdiction(conn: Connection, name: str) -> str:
    """The country of a registered vendor (NotFoundError when it is not in the register)."""
    return str(_row(conn, name).jurisdiction)


def require_cleared_vendor(conn: Connection, name: str, at: datetime) -> Any:
    """The vendor an access request sends controlled data to, refused unless cleared."""
    row = _row(conn, name)
    if (why := not_cleared(row, as_utc(at))) is not None:
        raise AccessDenied(
            f"--vendor {name}: {why}; controlled data goes there only after 'qgov vendor assess {name}' (an officer)"
        )
    return row


def require_request_vendor_cleared(conn: Connection, request_id: str, artifact_ids: list[str], at: datetime) -> None:
    """A request that named a vendor depends on it for as long as its grant is used: approving it,
    and every fetch under its grant, is refused for controlled data (or data not yet known to
    be uncontrolled) once that vendor's assessment has lapsed or it was retired."""
    decision = conn.execute(
        select(t.access_requests.c.decision).where(t.access_requests.c.id == request_id)
    ).scalar_one_or_none()
    vendor = decision.get("vendor") if isinstance(decision, dict) else None
    if vendor is None or not any_not_known_uncontrolled(conn, artifact_ids):
        return
    try:
        row = _row(conn, str(vendor))
    except NotFoundError:
        raise AccessDenied(
            f"vendor {vendor}: no longer in the register; request {request_id} sends data there"
        ) from None
    if (why := not_cleared(row, as_utc(at))) is not None:
        raise AccessDenied(
            f"{why}; request {request_id} sends controlled data there, so its grant is "
            f"unusable until 'qgov vendor assess {vendor}' (an officer)"
        )


__all__ = [
    "KINDS",
    "require_request_vendor_cleared",
    "any_not_known_uncontrolled",
    "vendor_jurisdiction",
    "assess_vendor",
    "is_local",
    "list_vendors",
    "not_cleared",
    "register_vendor",
    "require_cleared_storage",
    "require_cleared_vendor",
    "retire_vendor",
    "show_vendor",
    "storage_targets",
]
