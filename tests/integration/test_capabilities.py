"""Every service entry point × every role against the capability table.

Each role-gated entry point is called as a person who holds exactly one role. Where the table
gives that role the action, the call must get past authorization (it may still fail for other
reasons: the ids here mostly do not exist); where it does not, the call must be refused with
the table's own words. A public service function that is neither in ``GATED`` nor in
``NOT_ROLE_GATED`` (with the reason) fails the completeness test: a new entry point needs a row.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import governance
from governance.app import App
from governance.capabilities import CAPABILITIES, EVERYONE
from qgov.errors import AccessDenied, QgovError

TRAINED = date.today().isoformat()
NOPE = "00000000-0000-0000-0000-000000000000"


def _req(module: str, name: str) -> Callable[..., Any]:
    return getattr(importlib.import_module(f"governance.{module}"), name)  # type: ignore[no-any-return]


# (module, function) -> (action, call with the acting App)
GATED: dict[tuple[str, str], tuple[str, Callable[[App], Any]]] = {
    ("requests", "register_person"): (
        "person.register",
        lambda a: _req("requests", "register_person")(
            a, _req("requests", "Person")("newcomer", ["US"], False, None, "US", "Lab B", TRAINED), ["researcher"]
        ),
    ),
    ("catalog", "register_dataset"): (
        "dataset.register",
        lambda a: _req("catalog", "register_dataset")(
            a, _req("catalog", "DatasetSpec")(name=f"ds-{a.user}", owner=a.user)
        ),
    ),
    ("catalog", "grant_role"): ("role.manage", lambda a: _req("catalog", "grant_role")(a, "r-researcher", "auditor")),
    ("catalog", "find_artifact"): ("catalog.read", lambda a: _req("catalog", "find_artifact")(a, NOPE)),
    ("catalog", "find_dataset"): ("catalog.read", lambda a: _req("catalog", "find_dataset")(a, "nope")),
    ("catalog", "list_artifacts"): ("catalog.read", lambda a: _req("catalog", "list_artifacts")(a)),
    ("catalog", "list_datasets"): ("catalog.read", lambda a: _req("catalog", "list_datasets")(a)),
    ("catalog", "list_quarantine"): ("catalog.read", lambda a: _req("catalog", "list_quarantine")(a)),
    ("requests", "queue"): ("access.queue", lambda a: _req("requests", "queue")(a)),
    ("operations", "revoke_grant"): ("access.revoke", lambda a: _req("operations", "revoke_grant")(a, NOPE, "why")),
    ("operations", "policies_doc"): ("catalog.read", lambda a: _req("operations", "policies_doc")(a)),
    ("operations", "create_token_doc"): (
        "token.create",
        lambda a: _req("operations", "create_token_doc")(a, "r-researcher", 1, "t"),
    ),
    ("operations", "verify_doc"): ("audit.read", lambda a: _req("operations", "verify_doc")(a)),
    ("operations", "report_doc"): ("audit.read", lambda a: _req("operations", "report_doc")(a, NOPE)),
    ("operations", "publish_doc"): ("policy.publish", lambda a: _req("operations", "publish_doc")(a, {})),
    ("operations", "add_person"): (
        "person.register",
        lambda a: _req("operations", "add_person")(a, "newcomer2", ["US"], "US", "Lab B"),
    ),
    ("operations", "override_doc"): (
        "classification.override",
        lambda a: _req("operations", "override_doc")(a, NOPE, "EAR99", "why"),
    ),
    ("operations", "declassify_doc"): (
        "classification.override",
        lambda a: _req("operations", "declassify_doc")(a, NOPE, "why"),
    ),
    ("operations", "derive_doc"): (
        "lineage.record",
        lambda a: _req("operations", "derive_doc")(a, "fit", [NOPE], [NOPE + "1"]),
    ),
    ("operations", "retract_doc"): ("lineage.retract", lambda a: _req("operations", "retract_doc")(a, NOPE, "why")),
    ("people", "list_people"): ("person.read", lambda a: _req("people", "list_people")(a)),
    ("people", "revoke_role"): ("role.manage", lambda a: _req("people", "revoke_role")(a, "r-researcher", "auditor")),
    ("grant_status", "my_access"): ("access.request", lambda a: _req("grant_status", "my_access")(a)),
    ("audit", "list_checkpoints"): ("audit.read", lambda a: _req("audit", "list_checkpoints")(a)),
    ("requests", "approve"): ("access.decide", lambda a: _req("requests", "approve")(a, NOPE, "BIS D1")),
    ("requests", "deny"): ("access.decide", lambda a: _req("requests", "deny")(a, NOPE, "no")),
    ("requests", "revoke"): ("access.revoke", lambda a: _req("requests", "revoke")(a, NOPE, "ended")),
    ("access_views", "list_requests"): ("access.request", lambda a: _req("access_views", "list_requests")(a)),
    ("access_views", "get_request"): ("access.request", lambda a: _req("access_views", "get_request")(a, NOPE)),
    ("identity", "create_token"): ("token.create", lambda a: _req("identity", "create_token")(a, "r-researcher")),
    ("keys", "rotate"): ("keys.rotate", lambda a: _req("keys", "rotate")(a)),
    ("erasure", "erase_person"): ("person.erase", lambda a: _req("erasure", "erase_person")(a, "nobody", "why")),
    ("screening", "refresh"): ("screening.load", lambda a: _req("screening", "refresh")(a)),
    ("self_service", "my_requests"): ("access.request", lambda a: _req("self_service", "my_requests")(a)),
    ("self_service", "preview_request"): (
        "access.request",
        lambda a: _req("self_service", "preview_request")(a, [NOPE], "why", "US"),
    ),
    ("self_service", "why_not_fetchable"): (
        "access.request",
        lambda a: _req("self_service", "why_not_fetchable")(a, NOPE),
    ),
    ("review_context", "queue_context"): ("access.queue", lambda a: _req("review_context", "queue_context")(a)),
    ("metrics", "dashboard"): ("access.read_all", lambda a: _req("metrics", "dashboard")(a)),
    ("event_search", "search_events"): ("audit.read", lambda a: _req("event_search", "search_events")(a)),
    ("event_search", "event_types"): ("audit.read", lambda a: _req("event_search", "event_types")(a)),
    ("event_search", "list_checkpoints"): ("audit.read", lambda a: _req("event_search", "list_checkpoints")(a)),
    ("screening_clearance", "clear_match"): (
        "screening.clear",
        lambda a: _req("screening_clearance", "clear_match")(a, NOPE, ["el-1"], "namesake"),
    ),
    ("provenance", "retract"): ("lineage.retract", lambda a: _req("provenance", "retract")(a, NOPE, "wrong")),
    ("provenance", "trace_lineage"): ("catalog.read", lambda a: _req("provenance", "trace_lineage")(a, NOPE)),
    ("derivation", "record_derivation"): (
        "lineage.record",
        lambda a: _req("derivation", "record_derivation")(a, "fit", [NOPE], [NOPE + "1"]),
    ),
    ("sweep", "sweep"): ("retention.sweep", lambda a: _req("sweep", "sweep")(a, act=True)),
    ("classification", "override"): (
        "classification.override",
        lambda a: _req("classification", "override")(a, NOPE, "EAR99", "why"),
    ),
    ("classification", "declassify"): (
        "classification.override",
        lambda a: _req("classification", "declassify")(a, NOPE, "why"),
    ),
    ("classification", "reclassify_all"): (
        "classification.reclassify",
        lambda a: _req("classification", "reclassify_all")(a),
    ),
    ("classification", "history"): ("catalog.read", lambda a: _req("classification", "history")(a, NOPE)),
    ("retention", "place_hold"): ("hold.manage", lambda a: _req("retention", "place_hold")(a, "why", artifact=NOPE)),
    ("retention", "release_hold"): ("hold.manage", lambda a: _req("retention", "release_hold")(a, NOPE, "why")),
    ("retention", "list_holds"): ("audit.read", lambda a: _req("retention", "list_holds")(a)),
    ("retention", "retention_of"): ("catalog.read", lambda a: _req("retention", "retention_of")(a, NOPE)),
    ("deletion", "plan_deletion"): ("artifact.delete", lambda a: _req("deletion", "plan_deletion")(a, NOPE)),
    ("deletion", "get_certificate"): ("catalog.read", lambda a: _req("deletion", "get_certificate")(a, NOPE)),
    ("audit", "verify_log"): ("audit.read", lambda a: _req("audit", "verify_log")(a)),
    ("audit", "verify_blobs"): ("audit.read", lambda a: _req("audit", "verify_blobs")(a)),
    ("audit", "prove_inclusion"): ("audit.read", lambda a: _req("audit", "prove_inclusion")(a, NOPE)),
    ("audit", "prove_consistency"): ("audit.read", lambda a: _req("audit", "prove_consistency")(a, 1)),
    ("audit", "list_events"): ("audit.read", lambda a: _req("audit", "list_events")(a)),
    ("catalog_views", "datasets_doc"): ("catalog.read", lambda a: _req("catalog_views", "datasets_doc")(a)),
    ("catalog_views", "dataset_doc"): ("catalog.read", lambda a: _req("catalog_views", "dataset_doc")(a, "nope")),
    ("catalog_views", "artifacts_doc"): ("catalog.read", lambda a: _req("catalog_views", "artifacts_doc")(a)),
    ("catalog_views", "artifact_doc"): ("catalog.read", lambda a: _req("catalog_views", "artifact_doc")(a, NOPE)),
    ("catalog_views", "events_doc"): ("audit.read", lambda a: _req("catalog_views", "events_doc")(a)),
    ("catalog_views", "register_doc"): (
        "dataset.register",
        lambda a: _req("catalog_views", "register_doc")(a, {"name": f"dsv-{a.user}"}),
    ),
    ("audit", "iter_events"): ("audit.read", lambda a: list(_req("audit", "iter_events")(a))),
    ("audit", "export_events"): (
        "audit.read",
        lambda a: _req("audit", "export_events")(a, Path("/nonexistent/x.csv"), "csv"),
    ),
    ("audit_report", "build_report"): ("audit.read", lambda a: _req("audit_report", "build_report")(a, NOPE)),
    ("privacy", "budget_show"): ("catalog.read", lambda a: _req("privacy", "budget_show")(a, "nope")),
    ("ingest_upload", "ingest_uploads"): (
        "dataset.ingest",
        lambda a: _req("ingest_upload", "ingest_uploads")(a, "nope", []),
    ),
    ("collaboration", "collaboration_matrix"): (
        "catalog.read",
        lambda a: _req("collaboration", "collaboration_matrix")(a, [], [NOPE]),
    ),
    ("notifications", "my_notifications"): ("access.request", lambda a: _req("notifications", "my_notifications")(a)),
    ("releases", "decide_review"): ("release.decide", lambda a: _req("releases", "decide_review")(a, NOPE, True, "ok")),
    ("releases", "review_classification"): (
        "release.decide",
        lambda a: _req("releases", "review_classification")(a, NOPE, "EAR99", "ok"),
    ),
    ("policy_store", "publish_policy"): (
        "policy.publish",
        # a directory with no YAML: the built-in policy, already in force (publishes nothing new)
        lambda a: _req("policy_store", "publish_policy")(a, Path(__file__).resolve().parents[1] / "data" / "merkle"),
    ),
    ("policy_store", "publish_policy_files"): (
        "policy.publish",
        lambda a: _req("policy_store", "publish_policy_files")(a, {}),  # the built-in policy, already in force
    ),
    ("policy_store", "list_policies"): ("catalog.read", lambda a: _req("policy_store", "list_policies")(a)),
    ("policy_store", "published_policy"): ("catalog.read", lambda a: _req("policy_store", "published_policy")(a)),
    ("releases", "reconcile"): (
        "budget.reconcile",
        lambda a: _req("releases", "reconcile")(a, "nope", NOPE, "refund", "x"),
    ),
    ("compliance.anomaly", "scan"): ("compliance.sweep", lambda a: _req("compliance.anomaly", "scan")(a)),
    ("compliance.tabletop", "run_tabletop"): (
        "compliance.tabletop",
        lambda a: _req("compliance.tabletop", "run_tabletop")(a, "insider_exfiltration", "nobody-here"),
    ),
    ("compliance.tabletop", "tabletop_report"): (
        "compliance.tabletop",
        lambda a: _req("compliance.tabletop", "tabletop_report")(a, Path("/nonexistent-tabletop")),
    ),
    ("compliance.anomaly", "list_alerts"): ("anomaly.read", lambda a: _req("compliance.anomaly", "list_alerts")(a)),
    ("compliance.anomaly", "show_alert"): (
        "anomaly.read",
        lambda a: _req("compliance.anomaly", "show_alert")(a, NOPE),
    ),
    ("compliance.anomaly", "dismiss_alert"): (
        "incident.manage",
        lambda a: _req("compliance.anomaly", "dismiss_alert")(a, NOPE, "fine"),
    ),
    ("compliance.incidents", "open_incident"): (
        "incident.manage",
        lambda a: _req("compliance.incidents", "open_incident")(a, "t", alert=NOPE),
    ),
    ("operations", "contain_doc"): (
        "incident.manage",
        lambda a: _req("operations", "contain_doc")(a, NOPE, "why", suspend_grants=True),
    ),
    ("compliance.incidents", "contain"): (
        "incident.manage",
        lambda a: _req("compliance.incidents", "contain")(a, NOPE, "why", suspend=True),
    ),
    ("compliance.incidents", "meet_deadline"): (
        "incident.manage",
        lambda a: _req("compliance.incidents", "meet_deadline")(a, NOPE, "incident.contain", "done"),
    ),
    ("compliance.incidents", "close"): (
        "incident.manage",
        lambda a: _req("compliance.incidents", "close")(a, NOPE, "fixed"),
    ),
    ("compliance.incidents", "show_incident"): (
        "incident.read",
        lambda a: _req("compliance.incidents", "show_incident")(a, NOPE),
    ),
    ("compliance.incidents", "list_incidents"): (
        "incident.read",
        lambda a: _req("compliance.incidents", "list_incidents")(a),
    ),
    ("compliance.incidents", "remind"): ("compliance.sweep", lambda a: _req("compliance.incidents", "remind")(a)),
    ("compliance.training", "record_training"): (
        "training.record",
        lambda a: _req("compliance.training", "record_training")(a, "nobody", "2026-01-01"),
    ),
    ("compliance.training", "training_status"): (
        "access.read_all",
        lambda a: _req("compliance.training", "training_status")(a),
    ),
    ("compliance.training", "training_sweep"): (
        "compliance.sweep",
        lambda a: _req("compliance.training", "training_sweep")(a),
    ),
    ("compliance.appeals", "file_appeal"): (
        "access.request",
        lambda a: _req("compliance.appeals", "file_appeal")(a, NOPE, "grounds"),
    ),
    ("compliance.appeals", "decide_appeal"): (
        "access.decide",
        lambda a: _req("compliance.appeals", "decide_appeal")(a, NOPE, False, "no"),
    ),
    ("compliance.appeals", "list_appeals"): ("access.request", lambda a: _req("compliance.appeals", "list_appeals")(a)),
    ("compliance.impact", "policy_impact"): (
        "classification.reclassify",
        lambda a: _req("compliance.impact", "policy_impact")(a, Path(__file__).parent),
    ),
    ("compliance.end_use", "attest"): ("access.request", lambda a: _req("compliance.end_use", "attest")(a, NOPE, "ok")),
    ("compliance.end_use", "end_use_sweep"): (
        "compliance.sweep",
        lambda a: _req("compliance.end_use", "end_use_sweep")(a),
    ),
    ("compliance.end_use", "audit_sample"): (
        "access.queue",
        lambda a: _req("compliance.end_use", "audit_sample")(a, 0.5, "q4"),
    ),
    ("compliance.incidents", "readiness"): ("incident.read", lambda a: _req("compliance.incidents", "readiness")(a)),
    ("vendors", "register_vendor"): (
        "vendor.manage",
        lambda a: _req("vendors", "register_vendor")(a, f"v-{a.user}", "cloud_storage", "US", "EAR99", False, []),
    ),
    ("vendors", "assess_vendor"): (
        "vendor.manage",
        lambda a: _req("vendors", "assess_vendor")(a, "nope", "low", "findings"),
    ),
    ("vendors", "retire_vendor"): (
        "vendor.manage",
        lambda a: _req("vendors", "retire_vendor")(a, "nope", "reason"),
    ),
    ("vendors", "list_vendors"): ("vendor.read", lambda a: _req("vendors", "list_vendors")(a)),
    ("vendors", "show_vendor"): (
        "vendor.read",
        lambda a: _req("vendors", "show_vendor")(a, "nope"),
    ),
    ("compliance.violations", "record_violation"): (
        "violation.manage",
        lambda a: _req("compliance.violations", "record_violation")(
            a, "nobody", "what", "warning", ["step@2999-01-01"], [NOPE]
        ),
    ),
    ("operations", "record_violation_doc"): (
        "violation.manage",
        lambda a: _req("operations", "record_violation_doc")(
            a, "nobody", "what", "warning", ["step@2999-01-01"], [NOPE]
        ),
    ),
    ("compliance.violations", "complete_step"): (
        "access.request",
        lambda a: _req("compliance.violations", "complete_step")(a, NOPE, 1, "note"),
    ),
    ("compliance.violations", "list_violations"): (
        "access.request",
        lambda a: _req("compliance.violations", "list_violations")(a),
    ),
    ("compliance.violations", "show_violation"): (
        "access.request",
        lambda a: _req("compliance.violations", "show_violation")(a, NOPE),
    ),
    ("info_requests", "ask"): ("access.decide", lambda a: _req("info_requests", "ask")(a, NOPE, "which lab?")),
    ("info_requests", "answer"): ("access.request", lambda a: _req("info_requests", "answer")(a, NOPE, "lab B")),
    ("mailer", "send_notifications"): ("notification.send", lambda a: _req("mailer", "send_notifications")(a)),
    ("mailer", "delivery_status"): ("notification.send", lambda a: _req("mailer", "delivery_status")(a)),
    ("people", "set_email"): (
        "person.register",
        lambda a: _req("people", "set_email")(a, "nobody-else", "someone@example.org"),
    ),
}

# Public service functions that no role gates, and why.
NOT_ROLE_GATED: dict[tuple[str, str], str] = {
    ("access", "check"): "what-if evaluation of a document the caller gives; records nothing",
    ("access", "screen"): "what-if screening of a name against the list in force; records nothing",
    ("access", "screen_requester"): "called inside access requests, after their own check",
    ("access_views", "what_if"): "checks catalog.read itself; the API's what-if",
    ("accounts", "set_password"): "one's own password, or person.register for someone else's",
    ("accounts", "sign_in"): "authentication itself",
    ("accounts", "reseal_totp_secrets"): "a step of key rotation, inside rotate's own check",
    ("audit", "trusted_verifiers"): "reads public keys only",
    ("content", "fetch"): "needs a valid grant, not a role (admins included)",
    ("content", "open_for_reading"): "needs a valid grant, not a role",
    ("content", "record_read"): "needs a valid grant, not a role",
    ("catalog", "grant_initial_admin"): "only on a store with no role at all (qgov init)",
    ("content", "open_content"): "needs a valid grant, not a role",
    ("deletion", "complete_removals"): "finishes removals of objects already shredded (sweep, next run)",
    ("deletion", "delete_artifact"): "checks artifact.delete and artifact.delete_early after the retention check",
    ("identity", "authenticate_token"): "authentication itself",
    ("identity", "create_token_for"): "after create_token's check or a completed sign-in",
    ("identity", "list_tokens"): "everyone's own; all of them with token.list",
    ("identity", "revoke_token"): "one's own; others' with token.revoke",
    ("ingest", "store_paths"): "the store's own paths, which ingest refuses to read",
    ("ingest", "check_ingest"): "checks dataset.ingest itself (ingest's first step)",
    ("ingest", "plan_ingest"): "calls check_ingest",
    ("ingest", "ingest_batch"): "a step of an ingest planned under plan_ingest's check",
    ("ingest", "finish_run"): "a step of an ingest planned under plan_ingest's check",
    ("ingest_dvc", "record_dvc_lineage"): "a step of an ingest planned under plan_ingest's check",
    ("ingest_dvc", "pull_outputs"): "calls check_ingest (dataset.ingest) before it pulls",
    ("quarantine", "release_superseded"): "a step of an ingest batch planned under plan_ingest's check",
    ("keys", "create_key_file"): "qgov init, on the store's own machine",
    ("keys", "fence_pending_keys"): "inside an ingest's committing transaction",
    ("keys", "readable_key"): "inside reads that checked their grant",
    ("oidc", "authenticate_jwt"): "authentication itself",
    ("oidc", "verify_id_token"): "authentication itself",
    ("oidc", "person_of"): "authentication itself",
    ("os_identity", "register_initial_admin"): "only on a store with no role at all (qgov init)",
    ("policy_store", "publish_default_policy"): "qgov init, only while nothing is published",
    ("privacy", "privacy_policy"): "reads the policy bundle",
    ("privacy", "set_profile"): "the dataset's owner, or budget.set; an officer to give budget back",
    ("provenance", "dataset_for_record"): "a step of lineage record, under lineage.record",
    ("releases", "request_release"): "every registered person may ask; policy, screening and budget decide",
    ("releases", "queued"): "lists release ids for the release flow",
    ("releases", "run_release"): "runs a release already requested and decided",
    ("requests", "request_access"): "every registered person may ask; policy decides",
    ("requests", "sweep_expired"): "records expiries that have already happened",
    ("screening", "current_matcher"): "reads the list in force",
    ("screening", "list_in_force"): "reads which list is in force",
    ("screening", "screening_warnings"): "reads the list in force and whether it is too old to clear anyone",
    ("catalog_views", "classify_doc"): "what-if classification of a document the caller gives; records nothing",
    ("screening", "load_list"): "checks screening.load itself",
    ("signing", "checkpoint"): "signs the log as it stands; adds nothing",
    ("operations", "checkpoint_doc"): "signing.checkpoint's document (qgov audit checkpoint, POST /checkpoints)",
    ("operations", "tokens_doc"): "identity.list_tokens' document: one's own, all with token.list",
    ("operations", "revoke_token_doc"): "identity.revoke_token's document: one's own, others' with token.revoke",
    ("operations", "screen_doc"): "access.screen's document: what-if screening; records nothing",
    ("operations", "trace_doc"): "trace_lineage's redacted document; trace_lineage checks catalog.read",
    ("signing", "checkpoint_transaction"): "inside every writing transaction",
    ("signing", "create_signing_key"): "qgov init, on the store's own machine",
    ("signing", "existing_verifier"): "reads the public key",
    ("signing", "load_signer"): "the service's own key",
    ("signing", "open_witness"): "the service's own witness",
    ("signing", "witness"): "after every writing transaction",
    ("classification", "set_research"): "the dataset's owner, or dataset.update",
    ("compliance.anomaly", "compliance_policy"): "reads the compliance parameters (policies/compliance.yaml)",
    ("dataset_edit", "update_dataset"): "the dataset's owner, or dataset.update",
    ("people", "show_person"): "one's own always; anyone else's with person.read",
    ("jurisdictions", "decide_artifact"): "a step of access requests and checks, under their own; records nothing",
    (
        "metrics",
        "public_figures",
    ): "the public transparency page: policy text and aggregates, counts under 5 suppressed",
}

SKIP_MODULES = {"app", "config", "db", "tables", "demo", "demo_server", "sample_data", "client", "capabilities"}


SERVICE_PACKAGES = ("compliance",)  # packages of service modules (cli, api, web and migrations are not)


def _service_functions() -> set[tuple[str, str]]:
    found = set()
    modules = [i.name for i in pkgutil.iter_modules(governance.__path__) if not i.ispkg]
    for package in SERVICE_PACKAGES:
        path = importlib.import_module(f"governance.{package}").__path__
        modules += [f"{package}.{i.name}" for i in pkgutil.iter_modules(path) if not i.ispkg]
    for qualified in modules:
        leaf = qualified.rsplit(".", 1)[-1]
        if leaf.startswith("_") or leaf in SKIP_MODULES:
            continue
        module = importlib.import_module(f"governance.{qualified}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = list(inspect.signature(fn).parameters)
            if params and params[0] == "app":
                found.add((qualified, name))
    return found


def test_every_service_entry_point_has_a_row() -> None:
    listed = set(GATED) | set(NOT_ROLE_GATED)
    missing = sorted(_service_functions() - listed)
    assert not missing, f"service entry points with no row in the capability test: {missing}"
    stale = sorted(listed - _service_functions())
    assert not stale, f"rows for functions that no longer exist: {stale}"
    for action, _ in GATED.values():
        assert action in CAPABILITIES


@pytest.fixture
def people(app: App) -> dict[str, App]:
    from governance.requests import Person, register_person

    acting = {}
    for role in sorted(EVERYONE):
        name = f"r-{role}"
        register_person(app, Person(name, ["US"], False, None, "US", "Lab B", TRAINED), [role])
        acting[role] = app.acting_for(name)
    return acting


@pytest.mark.parametrize("entry", sorted(GATED), ids=[f"{m}.{f}" for m, f in sorted(GATED)])
def test_each_role_gets_exactly_what_the_table_gives(entry: tuple[str, str], people: dict[str, App]) -> None:
    action, call = GATED[entry]
    cap = CAPABILITIES[action]
    for role, acting in people.items():
        try:
            call(acting)
        except AccessDenied as exc:
            assert role not in cap.roles, f"{entry} refused {role}, which the table allows: {exc.diagnostics()}"
            assert f"may not {cap.description}" in exc.diagnostics(), (entry, role, exc.diagnostics())
            continue
        except QgovError:
            pass  # past authorization: the ids here mostly do not exist
        assert role in cap.roles, f"{entry} let {role} through, which the table refuses"


def test_a_registered_person_without_a_role_can_neither_register_ingest_nor_read_the_log(
    app: App, tmp_path: Path
) -> None:
    """The review's attack: a person with no role registered a dataset, ingested and read the log."""
    from governance.audit import list_events
    from governance.catalog import DatasetSpec, register_dataset
    from governance.ingest import plan_ingest
    from governance.requests import Person, register_person

    register_person(app, Person("nobody", ["US"], False, None, "US", "Lab B", TRAINED), [])
    register_dataset(app, DatasetSpec(name="calib", owner="alice"))
    (tmp_path / "t1.csv").write_text("q,t1\n0,50\n")
    nobody = app.acting_for("nobody")
    with pytest.raises(AccessDenied, match="may not register datasets"):
        register_dataset(nobody, DatasetSpec(name="mine", owner="nobody"))
    with pytest.raises(AccessDenied, match="may not ingest files into datasets"):
        plan_ingest(nobody, tmp_path, "calib")
    with pytest.raises(AccessDenied, match="may not read the provenance log"):
        list_events(nobody)
