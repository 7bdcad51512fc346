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


__all__ = ["checkpoint_doc", "policies_doc", "revoke_grant", "trace_doc"]
