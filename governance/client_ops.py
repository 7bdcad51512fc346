"""The command line's operations beyond the access workflow, for both kinds of client.

:class:`ClientOps` declares them (a client that cannot do one says so in one line),
:class:`EmbeddedOps` calls the services on the local store and :class:`RemoteOps` the HTTP
API of `qgov serve` (``/api/v1``); :mod:`governance.client` mixes them into its
``EmbeddedClient`` and ``RemoteClient``. Both return the documents the command line prints
with ``--json``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from qgov.canonical import iso_utc
from qgov.errors import InputError

if TYPE_CHECKING:  # the services load only when a client uses them (the CLI starts faster)
    from governance.app import App
    from governance.audit import EventFilter
    from governance.dataset_edit import DatasetChanges


@dataclasses.dataclass(frozen=True)
class Operation:
    """One command's call: the service function the local store runs (``module:function``,
    called with the store and the arguments by name) and the API route a client of `qgov
    serve` calls instead (``{name}`` in the path is that argument; the rest go in the query
    of a GET, else in the JSON body). Both answer with the same document."""

    service: str
    method: str
    path: str


OPERATIONS: dict[str, Operation] = {
    op_name: Operation(service, method, path)
    for op_name, service, method, path in (
        # the catalog (governance.api.catalog_routes)
        ("artifact.show", "governance.catalog_views:artifact_doc", "GET", "/artifacts/{artifact}"),
        ("dataset.register", "governance.catalog_views:register_doc", "POST", "/datasets"),
        # retention, legal holds, deletion, erasure (governance.api.retention_routes)
        ("hold.place", "governance.retention:place_hold", "POST", "/holds"),
        ("hold.release", "governance.retention:release_hold", "POST", "/holds/{hold_id}/release"),
        ("hold.list", "governance.retention:list_holds", "GET", "/holds"),
        ("retention.show", "governance.retention:retention_of", "GET", "/artifacts/{artifact}/retention"),
        ("deletion.plan", "governance.deletion:plan_deletion", "GET", "/artifacts/{artifact}/deletion-plan"),
        ("deletion.delete", "governance.deletion:delete_artifact", "POST", "/artifacts/{artifact}/deletion"),
        ("person.erase", "governance.erasure:erase_person", "POST", "/people/{name}/erasure"),
        # privacy budgets and DP releases (governance.api.privacy_routes)
        ("budget.show", "governance.privacy:budget_show", "GET", "/datasets/{dataset}/budget"),
        ("budget.set", "governance.privacy:set_profile", "PUT", "/datasets/{dataset}/budget"),
        ("budget.reconcile", "governance.releases:reconcile", "POST", "/datasets/{dataset}/budget/reconciliations"),
        ("release.request", "governance.releases:request_release", "POST", "/releases"),
        ("release.decide", "governance.releases:decide_review", "POST", "/releases/{release_id}/review"),
        (
            "release.classify",
            "governance.releases:review_classification",
            "POST",
            "/releases/{release_id}/classification",
        ),
        # grants, lineage, audit, policy (governance.api.admin_routes)
        ("grant.revoke", "governance.operations:revoke_grant", "POST", "/grants/{grant_id}/revocation"),
        ("lineage.trace", "governance.operations:trace_doc", "GET", "/lineage/{node_id}"),
        ("audit.checkpoint", "governance.operations:checkpoint_doc", "POST", "/checkpoints"),
        ("audit.verify", "governance.operations:verify_doc", "POST", "/audit/verifications"),
        ("audit.report", "governance.operations:report_doc", "GET", "/audit/reports/{node}"),
        ("policy.list", "governance.operations:policies_doc", "GET", "/policies"),
        ("token.create", "governance.operations:create_token_doc", "POST", "/tokens"),
        ("token.revoke", "governance.operations:revoke_token_doc", "POST", "/tokens/{token_id}/revocation"),
        ("token.list", "governance.operations:tokens_doc", "GET", "/tokens"),
        ("policy.publish", "governance.operations:publish_doc", "POST", "/policies"),
        ("classification.override", "governance.operations:override_doc", "POST", "/artifacts/{artifact}/override"),
        (
            "classification.declassify",
            "governance.operations:declassify_doc",
            "POST",
            "/artifacts/{artifact}/declassification",
        ),
        ("lineage.derive", "governance.operations:derive_doc", "POST", "/derivations"),
        ("lineage.retract", "governance.operations:retract_doc", "POST", "/derivations/{activity}/retraction"),
        ("screen", "governance.operations:screen_doc", "POST", "/screenings"),
        ("person.add", "governance.operations:add_person", "POST", "/people"),
        ("person.email", "governance.people:set_email", "PUT", "/people/{person}/email"),
        # compliance operations (governance.api.compliance_routes)
        ("anomaly.scan", "governance.compliance.anomaly:scan", "POST", "/anomaly/scans"),
        ("anomaly.list", "governance.compliance.anomaly:list_alerts", "GET", "/anomaly/alerts"),
        ("anomaly.show", "governance.compliance.anomaly:show_alert", "GET", "/anomaly/alerts/{alert_id}"),
        (
            "anomaly.dismiss",
            "governance.compliance.anomaly:dismiss_alert",
            "POST",
            "/anomaly/alerts/{alert_id}/dismiss",
        ),
        ("incident.open", "governance.compliance.incidents:open_incident", "POST", "/incidents"),
        ("incident.contain", "governance.operations:contain_doc", "POST", "/incidents/{incident_id}/contain"),
        ("incident.list", "governance.compliance.incidents:list_incidents", "GET", "/incidents"),
        # the vendor register and violations (governance.api.vendor_routes)
        ("vendor.add", "governance.vendors:register_vendor", "POST", "/vendors"),
        ("vendor.list", "governance.vendors:list_vendors", "GET", "/vendors"),
        ("vendor.show", "governance.vendors:show_vendor", "GET", "/vendors/{name}"),
        ("vendor.assess", "governance.vendors:assess_vendor", "POST", "/vendors/{name}/assessments"),
        ("vendor.retire", "governance.vendors:retire_vendor", "POST", "/vendors/{name}/retire"),
        ("violation.record", "governance.operations:record_violation_doc", "POST", "/violations"),
        ("violation.list", "governance.compliance.violations:list_violations", "GET", "/violations"),
        ("violation.show", "governance.compliance.violations:show_violation", "GET", "/violations/{violation_id}"),
        (
            "violation.remediate",
            "governance.compliance.violations:complete_step",
            "POST",
            "/violations/{violation_id}/remediation",
        ),
        ("incident.show", "governance.compliance.incidents:show_incident", "GET", "/incidents/{incident_id}"),
        ("incident.readiness", "governance.compliance.incidents:readiness", "GET", "/incident-readiness"),
        ("incident.remind", "governance.compliance.incidents:remind", "POST", "/incident-reminders"),
        ("incident.close", "governance.compliance.incidents:close", "POST", "/incidents/{incident_id}/close"),
        (
            "incident.deadline",
            "governance.compliance.incidents:meet_deadline",
            "POST",
            "/incidents/{incident_id}/deadlines/{deadline}",
        ),  # fmt: skip
    )
}


class ClientOps:
    """The operations; each raises a one-line InputError unless a client provides it."""

    def _unavailable(self, what: str) -> Any:
        raise InputError(f"{what}: not available through this client")

    def call(self, op_name: str, **args: Any) -> Any:
        """Run the command line's operation ``op_name`` (:data:`OPERATIONS`) with ``args``."""
        return self._unavailable(op_name)

    def my_access(self) -> dict[str, Any]:
        return self._unavailable("access mine")

    def ask(self, request: str, question: str) -> dict[str, Any]:
        return self._unavailable("access ask")

    def answer(self, request: str, text: str) -> dict[str, Any]:
        return self._unavailable("access answer")

    def send_notifications(self) -> dict[str, int]:
        return self._unavailable("notify send")

    def notification_deliveries(self) -> dict[str, Any]:
        return self._unavailable("notify status")

    def people(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._unavailable("person list")

    def person(self, name: str) -> dict[str, Any]:
        return self._unavailable("person show")

    def grant_role(self, person: str, role: str) -> dict[str, Any]:
        return self._unavailable("role grant")

    def revoke_role(self, person: str, role: str) -> dict[str, Any]:
        return self._unavailable("role revoke")

    def datasets(self) -> list[dict[str, Any]]:
        return self._unavailable("dataset list")

    def dataset(self, name: str) -> dict[str, Any]:
        return self._unavailable("dataset show")

    def update_dataset(self, name: str, changes: DatasetChanges) -> dict[str, Any]:
        return self._unavailable("dataset update")

    def artifacts(self, dataset: str | None = None) -> list[dict[str, Any]]:
        return self._unavailable("artifact list")

    def artifact(self, artifact: str) -> dict[str, Any]:
        return self._unavailable("artifact show")

    def ingest(self, path: Path, dataset: str) -> dict[str, Any]:
        return self._unavailable("ingest")

    def classify(self, item: dict[str, Any], jurisdiction: str = "US-EAR") -> dict[str, Any]:
        return self._unavailable("classify")

    def trace(
        self, node: str, direction: str = "upstream", depth: int | None = None, as_of: datetime | None = None
    ) -> dict[str, Any]:
        return self._unavailable("lineage trace")

    def release(
        self, dataset: str, stat: str, column: str, epsilon: str, purpose: str, **options: Any
    ) -> dict[str, Any]:
        return self._unavailable("release")

    def verify(self) -> dict[str, Any]:
        return self._unavailable("audit verify")

    def events(
        self, subject: str | None = None, where: EventFilter | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._unavailable("audit events")

    def checkpoints(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return self._unavailable("audit checkpoints")


class EmbeddedOps(ClientOps):
    """On the local store, acting as the configured user."""

    app: App

    def call(self, op_name: str, **args: Any) -> Any:
        import importlib

        module, function = OPERATIONS[op_name].service.split(":")
        return getattr(importlib.import_module(module), function)(self.app, **args)

    def my_access(self) -> dict[str, Any]:
        from governance.grant_status import my_access

        return my_access(self.app)

    def ask(self, request: str, question: str) -> dict[str, Any]:
        from governance.info_requests import ask

        return ask(self.app, request, question)

    def answer(self, request: str, text: str) -> dict[str, Any]:
        from governance.info_requests import answer

        return answer(self.app, request, text)

    def send_notifications(self) -> dict[str, int]:
        from governance.mailer import send_notifications

        return send_notifications(self.app)

    def notification_deliveries(self) -> dict[str, Any]:
        from governance.mailer import delivery_status

        return delivery_status(self.app)

    def people(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        from governance.people import list_people

        return list_people(self.app, limit, offset)

    def person(self, name: str) -> dict[str, Any]:
        from governance.people import show_person

        return show_person(self.app, name)

    def grant_role(self, person: str, role: str) -> dict[str, Any]:
        from governance.catalog import grant_role

        grant_role(self.app, person, role)
        return {"person": person, "role": role, "granted": True}

    def revoke_role(self, person: str, role: str) -> dict[str, Any]:
        from governance.people import revoke_role

        return {"person": person, "role": role, "revoked": revoke_role(self.app, person, role)}

    def datasets(self) -> list[dict[str, Any]]:
        from governance.catalog_views import datasets_doc

        return datasets_doc(self.app)

    def dataset(self, name: str) -> dict[str, Any]:
        from governance.catalog_views import dataset_doc

        return dataset_doc(self.app, name)

    def update_dataset(self, name: str, changes: DatasetChanges) -> dict[str, Any]:
        from governance.dataset_edit import update_dataset

        return update_dataset(self.app, name, changes).to_json()

    def artifacts(self, dataset: str | None = None) -> list[dict[str, Any]]:
        from governance.catalog_views import artifacts_doc

        return artifacts_doc(self.app, dataset)

    def artifact(self, artifact: str) -> dict[str, Any]:
        from governance.catalog_views import artifact_doc

        return artifact_doc(self.app, artifact)

    def ingest(self, path: Path, dataset: str) -> dict[str, Any]:
        from flows.runtime import configure_prefect, flow_settings
        from governance.ingest import check_ingest

        check_ingest(self.app, path, dataset)  # a typo fails at once, not after Prefect starts
        configure_prefect(self.app.settings.home)
        from flows.ingest import ingest_flow
        from flows.session import flow_args

        with flow_settings():
            report = ingest_flow(*flow_args(self.app.settings), str(path), dataset)
        return dataclasses.asdict(report)

    def classify(self, item: dict[str, Any], jurisdiction: str = "US-EAR") -> dict[str, Any]:
        from governance.catalog_views import classify_doc

        return classify_doc(self.app, item, jurisdiction)

    def trace(
        self, node: str, direction: str = "upstream", depth: int | None = None, as_of: datetime | None = None
    ) -> dict[str, Any]:
        from governance.provenance import trace_lineage

        if direction not in ("upstream", "downstream"):
            raise InputError(f"direction: expected upstream or downstream, got {direction!r}")
        return trace_lineage(self.app, node, direction, depth, as_of)  # type: ignore[arg-type]

    def release(
        self, dataset: str, stat: str, column: str, epsilon: str, purpose: str, **options: Any
    ) -> dict[str, Any]:
        from governance.releases import request_release

        return request_release(self.app, dataset, stat, column, epsilon, purpose=purpose, **options)

    def verify(self) -> dict[str, Any]:
        from governance.audit import verification_document, verify_log

        return verification_document(verify_log(self.app))

    def events(
        self, subject: str | None = None, where: EventFilter | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        from governance.catalog_views import events_doc

        return events_doc(self.app, subject, where, limit)

    def checkpoints(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        from governance.audit import list_checkpoints

        return list_checkpoints(self.app, limit, offset)


class RemoteOps(ClientOps):
    """Through the HTTP API; keys, database and blobs stay in the service."""

    url: str

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError  # governance.client.RemoteClient

    def call(self, op_name: str, **args: Any) -> Any:
        op = OPERATIONS[op_name]
        args = {k: iso_utc(v) if isinstance(v, datetime) else v for k, v in args.items()}
        path = op.path.format(**{k: _seg(str(args.pop(k))) for k in _fields(op.path)})
        if op.method == "GET":
            query = {k: v for k, v in args.items() if v is not None}
            return self._call("GET", path, params=query)
        return self._call(op.method, path, args)

    def my_access(self) -> dict[str, Any]:
        return dict(self._call("GET", "/access/mine"))

    def ask(self, request: str, question: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/access-requests/{_seg(request)}/ask", {"question": question}))

    def answer(self, request: str, text: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/access-requests/{_seg(request)}/answer", {"text": text}))

    def send_notifications(self) -> dict[str, int]:
        return dict(self._call("POST", "/notifications/send"))

    def notification_deliveries(self) -> dict[str, Any]:
        return dict(self._call("GET", "/notifications/deliveries"))

    def people(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return dict(self._call("GET", "/people", params={"limit": limit, "offset": offset}))

    def person(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/people/{_seg(name)}"))

    def grant_role(self, person: str, role: str) -> dict[str, Any]:
        return dict(self._call("PUT", f"/people/{_seg(person)}/roles/{_seg(role)}"))

    def revoke_role(self, person: str, role: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/people/{_seg(person)}/roles/{_seg(role)}"))

    def datasets(self) -> list[dict[str, Any]]:
        return _all_pages(lambda p: self._call("GET", "/datasets", params=p))

    def dataset(self, name: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/datasets/{_seg(name)}"))

    def update_dataset(self, name: str, changes: DatasetChanges) -> dict[str, Any]:
        return dict(self._call("PATCH", f"/datasets/{_seg(name)}", dataclasses.asdict(changes)))

    def artifacts(self, dataset: str | None = None) -> list[dict[str, Any]]:
        extra = {"dataset": dataset} if dataset is not None else {}
        return _all_pages(lambda p: self._call("GET", "/artifacts", params=p | extra))

    def artifact(self, artifact: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/artifacts/{_seg(artifact)}"))

    def ingest(self, path: Path, dataset: str) -> dict[str, Any]:
        raise InputError(
            f"ingest {path}: the files must be on the server's machine; run 'qgov ingest' there (without QGOV_URL)"
        )

    def classify(self, item: dict[str, Any], jurisdiction: str = "US-EAR") -> dict[str, Any]:
        return dict(self._call("POST", "/classifications", item, params={"jurisdiction": jurisdiction}))

    def trace(
        self, node: str, direction: str = "upstream", depth: int | None = None, as_of: datetime | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"direction": direction}
        if depth is not None:
            params["depth"] = depth
        if as_of is not None:
            params["as_of"] = iso_utc(as_of)
        return dict(self._call("GET", f"/lineage/{_seg(node)}", params=params))

    def release(
        self, dataset: str, stat: str, column: str, epsilon: str, purpose: str, **options: Any
    ) -> dict[str, Any]:
        body = {"dataset": dataset, "stat": stat, "column": column, "epsilon": epsilon, "purpose": purpose} | options
        return dict(self._call("POST", "/releases", body))

    def verify(self) -> dict[str, Any]:
        return dict(self._call("POST", "/audit/verify"))

    def events(
        self, subject: str | None = None, where: EventFilter | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        from governance.audit import EventFilter

        where = where or EventFilter()
        params: dict[str, Any] = {"type": list(where.types)}
        for key, value in (("subject", subject), ("actor", where.actor)):
            if value is not None:
                params[key] = value
        for key, moment in (("since", where.since), ("until", where.until)):
            if moment is not None:
                params[key] = iso_utc(moment)
        return _all_pages(lambda p: self._call("GET", "/events", params=params | p), limit)

    def checkpoints(self, limit: int = 50, offset: int = 0) -> dict[str, Any]:
        return dict(self._call("GET", "/checkpoints", params={"limit": limit, "offset": offset}))


def _fields(path: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(path) if name]


def _seg(text: str) -> str:
    """One path segment: a name with a slash or a question mark stays one segment."""
    return quote(text, safe="")


def _all_pages(get: Any, limit: int | None = None, page: int = 500) -> list[dict[str, Any]]:
    """Every item of a paginated list route (``items`` with ``total`` or ``next_offset``), or the
    first ``limit``."""
    items: list[dict[str, Any]] = []
    while True:
        want = page if limit is None else min(page, limit - len(items))
        doc = get({"limit": want, "offset": len(items)})
        items.extend(doc["items"])
        done = doc.get("next_offset") is None if "total" not in doc else len(items) >= doc["total"]
        if not doc["items"] or done or (limit is not None and len(items) >= limit):
            return items


__all__ = ["OPERATIONS", "ClientOps", "EmbeddedOps", "Operation", "RemoteOps"]
