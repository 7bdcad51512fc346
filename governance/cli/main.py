"""The ``qgov`` command line: parse, call one service function, render. Nothing more."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer._click import exceptions as click_exceptions  # typer 0.29 vendors click

from governance.cli._context import (
    call,
    embedded_settings,
    open_app,
    open_client,
    set_acting_as,
    store_settings,
)
from governance.cli._lazy import invoked_only
from governance.cli._render import (
    console,
    diagnostics,
    escape,
    exit_with_error,
    exit_with_usage_error,
    human_size,
    plain,
    print_json,
    progress,
    set_json_errors,
)
from governance.cli.access_cmds import access_app, screen_command, screening_app
from governance.cli.audit_cmds import audit_app, audit_checkpoints_command
from governance.cli.classify_cmds import declassify_command, derive_command, override_command, reclassify_command
from governance.cli.compliance_cmds import (
    anomaly_app,
    appeal_app,
    enduse_app,
    impact_command,
    incident_app,
    training_app,
)
from governance.cli.dataset_cmds import dataset_update_command
from governance.cli.lineage_cmds import lineage_app
from governance.cli.notify_cmds import notify_app
from governance.cli.people_cmds import (
    access_mine_command,
    person_list_command,
    person_show_command,
    role_revoke_command,
)
from governance.cli.policy_cmds import classify_command, policy_app
from governance.cli.privacy_cmds import budget_app, release_command, releases_app
from governance.cli.request_cmds import (
    approve_command,
    deny_command,
    person_app,
    queue_command,
    request_command,
    revoke_command,
    sweep_command,
)
from governance.cli.retention_cmds import delete_command, erase_command, hold_app, retention_app
from governance.cli.run_cmds import runs_app, submit_ingest
from governance.cli.server_cmds import account_app, roles_app, serve_command, token_app
from governance.cli.tabletop_cmds import compliance_app
from governance.cli.vendor_cmds import vendor_app, violation_app
from qgov.errors import InputError, QgovError
from qgov.private_files import set_private_umask

app = typer.Typer(
    name="qgov",
    help="Governance and provenance for quantum research outputs: register and ingest data, keep it "
    "encrypted, classify it against export controls, decide access requests, release private "
    "statistics, and prove what happened to it. Exit codes: 0 ok, 1 a negative verdict, 2 bad input, "
    "3 not permitted, 4 not found; --json prints one JSON document on stdout (also for an error).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)
dataset_app = typer.Typer(help="Register and inspect datasets.", no_args_is_help=True)
artifact_app = typer.Typer(help="Inspect ingested artifacts.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the key-encryption key.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(artifact_app, name="artifact")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(policy_app, name="policy")
app.command("classify")(classify_command)
app.command("override")(override_command)
app.command("declassify")(declassify_command)
app.command("reclassify")(reclassify_command)
app.add_typer(lineage_app, name="lineage")
lineage_app.command("derive")(derive_command)
app.command("screen")(screen_command)
app.add_typer(access_app, name="access")
app.add_typer(person_app, name="person")
app.add_typer(notify_app, name="notify")
app.add_typer(screening_app, name="screening")
access_app.command("request")(request_command)
access_app.command("queue")(queue_command)
access_app.command("approve")(approve_command)
access_app.command("deny")(deny_command)
access_app.command("revoke")(revoke_command)
access_app.command("sweep")(sweep_command)
app.command("release")(release_command)
app.add_typer(budget_app, name="budget")
app.add_typer(retention_app, name="retention")
app.add_typer(hold_app, name="hold")
app.command("delete")(delete_command)
person_app.command("erase")(erase_command)
app.add_typer(releases_app, name="releases")
role_app = typer.Typer(help="Grant and revoke roles (admins).", no_args_is_help=True)
app.add_typer(role_app, name="role")
role_app.command("revoke")(role_revoke_command)
person_app.command("list")(person_list_command)
person_app.command("show")(person_show_command)
access_app.command("mine")(access_mine_command)
dataset_app.command("update")(dataset_update_command)
audit_app.command("checkpoints")(audit_checkpoints_command)
app.command("serve")(serve_command)
app.add_typer(token_app, name="token")
app.add_typer(roles_app, name="roles")
app.add_typer(account_app, name="account")
app.add_typer(anomaly_app, name="anomaly")
app.add_typer(incident_app, name="incident")
app.add_typer(training_app, name="training")
app.add_typer(appeal_app, name="appeal")
app.add_typer(enduse_app, name="enduse")
app.add_typer(compliance_app, name="compliance")
app.add_typer(vendor_app, name="vendor")
app.add_typer(violation_app, name="violation")
app.add_typer(runs_app, name="runs")
policy_app.command("impact")(impact_command)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


@app.callback()
def _global_options(
    acting_as: Annotated[
        str | None,
        typer.Option(
            "--as",
            metavar="NAME",
            help="Admins only: act as this registered person; every event records the admin too.",
        ),
    ] = None,
) -> None:
    """Governance and provenance for quantum research outputs."""
    set_acting_as(acting_as)


# -- init -------------------------------------------------------------------
@app.command()
def init(
    name: Annotated[
        str | None, typer.Option("--name", help="The first admin's name (default: your operating-system account).")
    ] = None,
    citizenship: Annotated[
        list[str] | None, typer.Option("--citizenship", help="The admin's citizenship, ISO code (repeatable).")
    ] = None,
    location: Annotated[str | None, typer.Option(help="Where the admin works now (ISO code).")] = None,
    affiliation: Annotated[str | None, typer.Option(help="The admin's employer or institution.")] = None,
    permanent_residence: Annotated[str | None, typer.Option("--permanent-residence", help="ISO code.")] = None,
    us_permanent_resident: Annotated[bool, typer.Option("--us-permanent-resident", help="Green-card holder.")] = False,
    training: Annotated[str | None, typer.Option("--training-completed-on", help="YYYY-MM-DD.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the store under QGOV_HOME: schema, key file (0600), built-in policy as version 1,
    and you (your operating-system account) as its first admin.

    Give your facts (--citizenship, --location, --affiliation, …) to be able to request
    access yourself; an admin still needs a grant to read controlled content."""
    from governance.db import current_revision
    from governance.keys import create_key_file
    from governance.os_account import os_account
    from governance.os_identity import register_initial_admin
    from governance.policy_store import publish_default_policy
    from governance.requests import Person, training_date
    from governance.signing import create_signing_key

    account = os_account()
    admin_name = (name or account).strip()
    facts = None
    if citizenship or location or affiliation or permanent_residence or training or us_permanent_resident:
        if not (citizenship and location and affiliation):
            raise InputError("--citizenship, --location and --affiliation: give all three to register your facts")
        facts = Person(
            admin_name,
            [c.upper() for c in citizenship],
            us_permanent_resident,
            permanent_residence.upper() if permanent_residence else None,
            location.upper(),
            affiliation,
            training_date(training),
        )
    from governance.app import App
    from governance.config import load_settings

    qg = App(load_settings().model_copy(update={"user": admin_name}))
    created_key = create_key_file(qg)
    created_signing_key = create_signing_key(qg)
    revision = current_revision(qg.engine)
    admin = register_initial_admin(qg, admin_name, account, facts)
    # On a store that has its admin already, the policy (if none is published yet: a store
    # upgraded to the policy store) is published by the person this account is mapped to.
    publish_default_policy(qg if admin else App(embedded_settings()))
    result = {
        "home": str(qg.settings.home),
        "settings": qg.settings.redacted(),
        "schema_revision": revision,
        "key_created": created_key,
        "signing_key_created": created_signing_key,
        "public_key": qg.signer.verifier_key(),
        "admin_granted_to": qg.user if admin else None,
        "os_account": account,
    }
    if as_json:
        print_json(result)
        return
    console.print(f"qgov store ready at [bold]{qg.settings.home}[/]")
    console.print(f"  database  {result['settings']['database_url']} (schema {revision})")
    console.print(f"  storage   {qg.settings.storage_url}")
    console.print(f"  key       {result['settings']['key']}" + (" [green](new)[/]" if created_key else ""))
    console.print(
        f"  signing   {result['settings']['signing_key']}" + (" [green](new)[/]" if created_signing_key else "")
    )
    console.print(f"  public key (give it to your auditors) {result['public_key']}")
    if admin:
        console.print(f"  admin     {qg.user} (operating-system account {account})")


# -- datasets ---------------------------------------------------------------
def load_document(path: Path, what: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{what} file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} file {path}: cannot be read ({exc})") from None
    import yaml

    try:
        return yaml.safe_load(text) if path.suffix.lower() in {".yaml", ".yml"} else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        kind = "YAML" if path.suffix.lower() in {".yaml", ".yml"} else "JSON"
        detail = " ".join(str(exc).split())[:160]
        raise InputError(f"{what} file {path}: not valid {kind} ({detail})") from None


def _parse_subject(subject_type: str, params: list[str]) -> dict[str, Any]:
    from governance.catalog import parse_subject

    return parse_subject(subject_type, params, "--param")


def _tristate(value: str | None, option: str) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered in {"yes", "true", "y", "1"}:
        return True
    if lowered in {"no", "false", "n", "0"}:
        return False
    if lowered in {"unknown", ""}:
        return None
    raise InputError(f"{option}: expected yes, no or unknown, got {value!r}")


def _research_flags(
    fundamental: str | None, publication: str | None, restrictions: str | None
) -> dict[str, bool | None]:
    """The research-context options that were given, as yes / no / unknown (None)."""
    flags: dict[str, bool | None] = {}
    for key, value, option in (
        ("fundamental", fundamental, "--fundamental"),
        ("intended_for_publication", publication, "--intended-for-publication"),
        ("restrictions_accepted", restrictions, "--restrictions-accepted"),
    ):
        if value is not None:
            flags[key] = _tristate(value, option)
    return flags


@dataset_app.command("register")
def dataset_register(
    name: Annotated[str, typer.Argument(help="Unique dataset name, e.g. transmon-calibration-2026-03.")],
    spec: Annotated[
        Path | None, typer.Option("--spec", help="YAML/JSON file with all fields (flags override it).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Responsible person (default: you).")] = None,
    description: Annotated[str | None, typer.Option(help="What the data is.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="technology | source_code | object_code | hardware | dataset.")
    ] = None,
    subject_type: Annotated[
        str | None, typer.Option("--subject-type", help="quantum_computer, qkd, cryogenic_cooling, … or none.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Technical parameter KEY=VALUE of the subject (repeatable).")
    ] = None,
    fundamental: Annotated[str | None, typer.Option(help="Fundamental research? yes / no / unknown.")] = None,
    publication: Annotated[str | None, typer.Option("--intended-for-publication", help="yes / no / unknown.")] = None,
    restrictions: Annotated[
        str | None, typer.Option("--restrictions-accepted", help="Sponsor restrictions accepted? yes / no / unknown.")
    ] = None,
    sponsor: Annotated[str | None, typer.Option(help="Sponsor of the research.")] = None,
    expectations: Annotated[
        Path | None,
        typer.Option("--expectations", help="YAML/JSON list of Great Expectations checks for tabular files."),
    ] = None,
    privacy: Annotated[
        Path | None,
        typer.Option("--privacy", help="YAML/JSON privacy profile: contributions, column bounds, budget."),
    ] = None,
    jurisdiction: Annotated[
        list[str] | None,
        typer.Option(
            "--jurisdiction",
            help="A collaborator's jurisdiction whose rules apply too, e.g. uk or eu (repeatable); "
            "the lab's own (ear) always applies.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a dataset: owner, research context, its technical subject and the jurisdictions that apply."""
    data: dict[str, Any] = dict(load_document(spec, "spec")) if spec else {}
    if spec and not isinstance(data, dict):
        raise InputError(f"spec file {spec}: expected a mapping of dataset fields")
    data["name"] = name
    for key, value in (("owner", owner), ("description", description), ("kind", kind), ("sponsor", sponsor)):
        if value is not None:
            data[key] = value
    if subject_type is not None or param:
        data["subject"] = _parse_subject(subject_type or data.get("subject", {}).get("type", "none"), param or [])
    data["research"] = dict(data.get("research") or {}) | _research_flags(fundamental, publication, restrictions)
    if expectations is not None:
        data["expectations"] = load_document(expectations, "expectations")
    if jurisdiction:
        data["jurisdictions"] = list(data.get("jurisdictions") or []) + list(jurisdiction)
    profile = load_document(privacy, "privacy profile") if privacy is not None else None
    # the files are read here; the fields go to the service (the server's, with QGOV_URL)
    doc = call(
        "dataset.register",
        spec=data,
        privacy=profile,
        source=str(spec) if spec else "dataset",
        privacy_source=str(privacy) if privacy else "privacy profile",
    )
    if as_json:
        print_json(doc)
        return
    console.print(
        f"registered dataset [bold]{doc['name']}[/] ({doc['id']}), owner {doc['owner']}; "
        f"jurisdictions: {', '.join(doc['jurisdictions'])}"
    )


@dataset_app.command("list")
def dataset_list(as_json: JsonFlag = False) -> None:
    """List registered datasets with their artifact counts."""
    rows = open_client().datasets()
    if as_json:
        print_json({"datasets": rows})
        return
    table = Table("dataset", "owner", "subject", "jurisdictions", "artifacts", "size")
    for ds in rows:
        table.add_row(
            ds["name"],
            ds["owner"],
            ds["item"].get("subject", {}).get("type", "?"),
            ", ".join(ds["jurisdictions"]),
            str(ds["artifacts"]),
            human_size(ds["bytes"]),
        )
    console.print(table)


@dataset_app.command("show")
def dataset_show(name: str, as_json: JsonFlag = False) -> None:
    """Show one dataset: its description as an ITEM, its artifacts and quarantined files."""
    doc = open_client().dataset(name)
    if as_json:
        print_json(doc)
        return
    listed, quarantined = doc.pop("artifact_list"), doc.pop("quarantine")
    console.print_json(json.dumps(doc, default=str))
    _artifact_table(listed)
    for q in quarantined:
        console.print(f"[yellow]quarantined[/] {q['path']}: {q['reason']}")


@role_app.command("grant")
def role_grant(person: str, role: str, as_json: JsonFlag = False) -> None:
    """Admin: give PERSON a ROLE (data_manager, researcher, export_control_officer, auditor, admin)."""
    open_client().grant_role(person, role)
    if as_json:
        print_json({"person": person, "role": role})
        return
    console.print(f"{person} is now {role}")


# -- ingest -----------------------------------------------------------------
def _artifact_table(arts: list[Any]) -> None:
    table = Table("artifact", "path", "media type", "size", "classification", "sha256")
    table.columns[0].overflow = "fold"
    table.columns[0].min_width = 36
    table.columns[1].overflow = "fold"  # a path is never cut short: scripts grep for it
    table.columns[4].overflow = "fold"
    for a in arts:
        get = a.get if isinstance(a, dict) else lambda k, a=a: getattr(a, k, None)
        cls = get("classification") or "—"
        table.add_row(
            get("id"),
            plain(get("path")),
            plain(get("media_type")),
            human_size(int(get("size"))),
            cls,
            _short_digest(get("sha256")),
        )
    console.print(table)


def _short_digest(digest: str) -> str:
    """A digest's first 64 bits, or a keyed reference's (governance.disclosure)."""
    keyed = digest.removeprefix("hmac-sha256:")
    return digest[:16] + "…" if keyed == digest else "hmac:" + keyed[:16] + "…"


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="A file, a directory tree, or a DVC repository.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Registered dataset to ingest into.")],
    batch_files: Annotated[
        int, typer.Option("--batch-files", min=1, max=100000, help="Files per task/transaction.")
    ] = 1000,
    follow_symlinks: Annotated[
        bool,
        typer.Option(
            "--follow-symlinks",
            help="Follow symbolic links to files that stay inside the folder (default: links are skipped).",
        ),
    ] = False,
    dvc_pull: Annotated[
        bool,
        typer.Option(
            "--dvc-pull",
            help="In a DVC repository, first fetch the outputs the workspace lacks from its default remote "
            "(as 'dvc pull' does), then ingest them.",
        ),
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="With QGOV_WORK_POOL: follow the submitted run until it ends.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Ingest files into a dataset: describe, validate, encrypt and record provenance.

    Re-running is safe: what is already ingested is recognised and skipped. Files that
    fail validation are quarantined (not stored); files that cannot be read are listed.
    Symbolic links, devices, FIFOs and sockets, files with names that are not UTF-8 and the
    store's own files (QGOV_HOME, key files) are skipped, each with its reason; bytes that
    were deleted (crypto-shredded) at a path are never ingested again. In a DVC repository,
    outputs DVC declares but the workspace lacks are recorded with their DVC hashes as
    absent (not ingested), and every pipeline stage becomes lineage.
    Exit code 1 when anything was quarantined, skipped or deleted before, 2 when a file could
    not be read. With --dvc-pull, a remote that cannot be reached is one line naming it.
    With QGOV_WORK_POOL set, the run is submitted to that Prefect work pool and its id printed
    (qgov runs show ID); --wait follows it (exit 1 if it fails).
    """
    from flows import progress
    from flows.runtime import configure_prefect, flow_settings
    from governance.ingest import check_ingest

    settings = store_settings()
    check_ingest(open_app(), path, dataset)  # a typo fails at once, not after Prefect starts
    if dvc_pull:
        from governance.ingest_dvc import check_dvc_pull

        check_dvc_pull(path)
    if settings.work_pool:
        opts = {"batch_files": batch_files, "follow_symlinks": follow_symlinks, "dvc_pull": dvc_pull}
        return submit_ingest(settings, path, dataset, **opts, wait=wait, as_json=as_json)
    configure_prefect(settings.home)
    from flows.ingest import ingest_flow
    from flows.session import flow_args

    with _ingest_progress() as sink, progress.watching(sink), flow_settings():
        report = ingest_flow(
            *flow_args(settings),
            str(path),
            dataset,
            batch_files=batch_files,
            follow_symlinks=follow_symlinks,
            dvc_pull=dvc_pull,
        )
    _render_ingest(report, as_json, path)
    if report.failed:
        raise SystemExit(2)
    if report.quarantined or report.skipped or report.deleted:
        raise SystemExit(1)


class _ingest_progress:  # noqa: N801 - used as a context manager like a function
    def __enter__(self) -> Any:
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn

        self.bar = progress(
            TextColumn("[bold]ingest[/]"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            DownloadColumn(binary_units=True),
            TimeElapsedColumn(),
            transient=True,  # the summary that follows says what happened
        )
        self.bar.start()
        self.task = self.bar.add_task("ingest", total=None, files="planning")

        def sink(_stage: str, done: int, total: int, done_bytes: int, total_bytes: int) -> None:
            self.bar.update(self.task, completed=done_bytes, total=max(total_bytes, 1), files=f"{done}/{total} files")

        return sink

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _render_ingest(report: Any, as_json: bool, path: Path) -> None:
    if as_json:
        print_json(
            {
                "dataset": report.dataset,
                "run_id": report.run_id,
                "git_rev": report.git_rev,
                "artifacts": report.artifacts,
                "ingested": report.ingested,
                "unchanged": report.unchanged,
                "quarantined": report.quarantined,
                "failed": report.failed,
                "ingested_by_another_run": report.ingested_by_another_run,
                "skipped": report.skipped,
                "deleted": report.deleted,
                "dvc_stages": report.dvc_stages,
                "dvc_absent": report.dvc_absent,
                "dvc_remote": report.dvc_remote,
                "dvc_pulled": report.dvc_pulled,
            }
        )
        return
    if report.failed and not (report.artifacts or report.quarantined or report.skipped or report.deleted):
        for f in report.failed:  # nothing else to say: just the reasons, one line each, as errors
            diagnostics.print(f"[bold red]error:[/] {escape(f['error'])}", highlight=False)
        return
    console.print(
        f"dataset [bold]{escape(report.dataset)}[/]: {report.ingested} new, {report.unchanged} unchanged, "
        + (f"{report.ingested_by_another_run} ingested by another run, " if report.ingested_by_another_run else "")
        + f"{len(report.quarantined)} quarantined, {len(report.skipped)} skipped, {len(report.failed)} unreadable"
        + (f", {len(report.deleted)} deleted before (not re-ingested)" if report.deleted else "")
        + (f"; {report.dvc_stages} DVC stage(s) recorded as lineage" if report.dvc_stages else "")
    )
    if report.dvc_pulled:
        pulled = report.dvc_pulled
        source = f"remote {escape(pulled['remote'])!r} ({escape(pulled['url'])})"
        console.print(f"dvc pull: {pulled['fetched']} file(s) fetched from {source}")
    if report.artifacts and len(report.artifacts) <= 50:
        _artifact_table(report.artifacts)
    if report.dvc_absent:
        _render_absent(report, path)
    for q in report.quarantined:
        console.print(f"[yellow]quarantined[/] {escape(q['path'])}: {escape(q['reason'])}")
    for skipped in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(skipped['path'])}: {escape(skipped['reason'])}")
    for d in report.deleted:
        console.print(f"[yellow]deleted[/] {escape(d['path'])}: {escape(d['reason'])}")
    for f in report.failed:
        diagnostics.print(f"[red]not ingested[/] {escape(f['error'])}")


def _render_absent(report: Any, path: Path) -> None:
    absent = report.dvc_absent
    names = ", ".join(escape(a["path"]) for a in absent[:10]) + (", …" if len(absent) > 10 else "")
    remote = report.dvc_remote
    where = f"DVC remote {escape(remote['name'])!r} ({escape(remote['url'])})" if remote else "no DVC remote configured"
    console.print(
        f"[yellow]{len(absent)} DVC output(s) declared but absent[/] from the workspace, recorded with their "
        f"DVC hashes, not ingested: {names}"
    )
    fetch = f"qgov ingest {escape(path)} -d {escape(report.dataset)} --dvc-pull"
    console.print(f"  they are in {where}; fetch and ingest them with '{fetch}' (or 'dvc pull', then ingest again)")


# -- fetch ------------------------------------------------------------------
@app.command()
def fetch(
    artifact: Annotated[str, typer.Argument(help="Artifact id (see 'qgov artifact list').")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the plaintext.")],
    as_json: JsonFlag = False,
) -> None:
    """Decrypt an artifact to a file under a valid grant, after verifying all of it."""
    fetched = open_client().fetch(artifact, output)
    if as_json:
        print_json(fetched)
        return
    console.print(f"wrote {output} ({human_size(fetched['size'])}, sha256 {fetched['sha256'][:16]}… verified)")


# -- artifacts --------------------------------------------------------------
@artifact_app.command("list")
def artifact_list(
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Only this dataset.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List ingested artifacts."""
    arts = open_client().artifacts(dataset)
    if as_json:
        print_json({"artifacts": arts})
        return
    _artifact_table(arts)


@artifact_app.command("show")
def artifact_show(artifact: str, as_json: JsonFlag = False) -> None:
    """Show an artifact: format metadata, DVC origin, and its provenance events."""
    doc = call("artifact.show", artifact=artifact)
    if as_json:
        print_json(doc)
        return
    console.print_json(json.dumps(doc, default=str))


# -- keys -------------------------------------------------------------------
@keys_app.command("rotate")
def keys_rotate(as_json: JsonFlag = False) -> None:
    """Add a new key-encryption key and re-wrap every data key under it (no data is re-encrypted)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

    from governance.keys import rotate

    with progress(TextColumn("re-wrapping data keys"), BarColumn(), MofNCompleteColumn()) as bar:
        task = bar.add_task("rewrap", total=None)
        report = rotate(open_app(), progress=lambda done, total: bar.update(task, completed=done, total=total))
    doc = {
        "new_key_id": report.new_key_id,
        "rewrapped": report.rewrapped,
        "retired_key_ids": report.retired_key_ids,
        "resumed": report.resumed,
    }
    if as_json:
        print_json(doc)
        return
    console.print(
        f"rotated: {report.rewrapped} data key(s) re-wrapped under key {report.new_key_id}; "
        f"retired {len(report.retired_key_ids)} old key(s)"
        + (" (finished an interrupted rotation)" if report.resumed else "")
    )


@app.command()
def whoami(as_json: JsonFlag = False) -> None:
    """Who the command line acts as: the local user, or the token's holder on QGOV_URL."""
    me = open_client().whoami()
    if as_json:
        print_json(me)
        return
    typer.echo(f"{me['name']} ({', '.join(me['roles']) or 'no role'}; {me['authenticated_by']})")


# -- demo -------------------------------------------------------------------
@app.command()
def demo(
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where to build the demo (default: a new temp dir).")
    ] = None,
    server: Annotated[
        bool, typer.Option("--server", help="Show the service: qgov serve, four people, four tokens, over HTTP.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the whole story on generated sample quantum data, in a store of its own.

    The story is told on stdout; with --json it goes to stderr and stdout holds its summary."""
    narrator = diagnostics if as_json else console
    if server:
        from governance.demo_server import run_server_demo

        summary = run_server_demo(workdir, narrator)
    else:
        from governance.demo import run_demo

        summary = run_demo(workdir, narrator)
    if as_json:
        print_json(summary)


def main() -> None:
    """Console-script entry point: maps every error to its exit code in one place."""
    # Everything this process creates (database and WAL, blobs, Prefect's database and server,
    # temp and output files) is the owner's alone, from creation on (qgov.private_files).
    set_private_umask()
    args = sys.argv[1:]
    set_json_errors("--json" in args[: args.index("--")] if "--" in args else "--json" in args)
    try:
        invoked_only(app, args)(standalone_mode=False)
    except click_exceptions.UsageError as exc:
        if exc.format_message():  # empty when only the help text was shown
            exit_with_usage_error(exc.format_message())
        raise SystemExit(2) from None
    except typer.Abort:
        diagnostics.print("aborted")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except QgovError as exc:
        exit_with_error(exc)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback
        exit_with_error(exc)


if __name__ == "__main__":
    sys.exit(main())
