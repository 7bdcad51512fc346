"""Auditor commands: verify the log and its checkpoints, prove, export, report."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from governance.cli._context import open_app, open_client
from governance.cli._render import console, diagnostics, print_json
from qgov.errors import InputError

audit_app = typer.Typer(
    help="Verify the provenance log, prove what it holds, export it and report on an output.", no_args_is_help=True
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]
KeyOption = Annotated[
    list[str] | None,
    typer.Option("--key", help="The log's public key (text or a file), as 'qgov audit public-key' prints it."),
]
Output = Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")]


@audit_app.command("verify")
def audit_verify(
    blobs: Annotated[bool, typer.Option("--blobs", help="Also decrypt and re-hash every stored object.")] = False,
    key: KeyOption = None,
    since: Annotated[
        Path | None,
        typer.Option(
            "--since",
            help="A checkpoint you kept (the signed note 'qgov audit checkpoint' prints, or its --json): "
            "the log must extend it, proved by a consistency proof.",
        ),
    ] = None,
    witness: Annotated[
        bool,
        typer.Option(
            "--witness/--no-witness", help="Check the log against the witness's latest checkpoint (QGOV_WITNESS_DIR)."
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Recompute the hash chain and every signed checkpoint, prove the log extends the witnessed
    (and a kept) checkpoint; exit 1 naming the first problem."""
    from governance.audit import read_since
    from governance.cli._context import call

    if blobs:
        diagnostics.print("verifying the log and every stored object (this reads all of them)…")
    doc = call(
        "audit.verify",
        keys=key or [],
        since=str(since) if since is not None else None,
        since_text=read_since(since) if since is not None else None,
        witness=witness,
        blobs=blobs,
    )
    if as_json:
        print_json(doc)
    else:
        _print_verdict(doc)
    if not doc["ok"]:
        raise SystemExit(1)


def _print_verdict(doc: dict[str, Any]) -> None:
    if "first_bad_event" in doc:
        bad = doc["first_bad_event"]
        console.print(f"[bold red]log tampered[/] at event #{bad['seq']} ({bad['event_id']}): {bad['problem']}")
    else:
        console.print(f"[green]log intact[/]: {doc['events_checked']} events, head {doc['head_hash'][:16]}…")
    if "bad_checkpoint" in doc:
        console.print(f"[bold red]checkpoint failed[/]: {doc['bad_checkpoint']['problem']}")
    elif doc["checkpoints_checked"]:
        console.print(
            f"[green]checkpoints verified[/]: {doc['checkpoints_checked']} signed, latest covers "
            f"{doc['latest_checkpoint']} events ({doc['events_after_latest_checkpoint']} newer)"
        )
    else:
        console.print("no signed checkpoint yet ('qgov audit checkpoint' signs one)")
    if "unsigned_events" in doc:
        console.print(f"[bold red]unsigned events[/]: {doc['unsigned_events']['problem']}")
    for name in ("witness", "since"):
        outside = doc.get(name)
        if outside is None:
            continue
        if outside["problem"] is not None:
            console.print(f"[bold red]{name} check failed[/]: {outside['problem']}")
        elif outside["size"] is None:
            console.print(f"{name}: holds no checkpoint yet")
        else:
            console.print(f"[green]{name} consistent[/]: the log extends its checkpoint of {outside['size']} events")
    from rich.markup import escape

    from governance.consistency import MAX_LINES

    for d in doc["tables_disagreeing"][:MAX_LINES]:
        line = f"{d['table']}[{d['key']}].{d['field']}: table has {d['table_value']}, the log says {d['log_value']}"
        console.print(f"[bold red]table disagrees with the log[/]: {escape(line)}", highlight=False)
    if len(doc["tables_disagreeing"]) > MAX_LINES:
        console.print(f"… and {len(doc['tables_disagreeing']) - MAX_LINES} more (--json lists them all)")
    if not doc["tables_disagreeing"]:
        console.print("[green]derived tables match the log[/]: budgets, ledger, grants, holds, classifications, index")
    if "bad_objects" in doc:
        for bad in doc["bad_objects"]:
            console.print(f"[bold red]bad object[/] {bad['error']}")
        if not doc["bad_objects"]:
            console.print(f"[green]objects intact[/]: {doc['objects_checked']} decrypted and re-hashed")


@audit_app.command("events")
def audit_events(
    subject: Annotated[str | None, typer.Option("--subject", help="Only events about this id.")] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type, e.g. access.granted (repeatable).")
    ] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Only events by this person.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="From this ISO 8601 time on (inclusive).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this ISO 8601 time (exclusive).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many (oldest first).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List provenance events, oldest first, by type, actor, subject and time."""
    from governance.audit import EventFilter
    from qgov.canonical import parse_iso

    where = EventFilter(
        tuple(event_type or ()),
        actor,
        parse_iso(since, "--since") if since else None,
        parse_iso(until, "--until") if until else None,
    )
    events = open_client().events(subject, where, limit)
    if as_json:
        print_json({"events": events})
        return
    table = Table("#", "time", "type", "actor", "subjects")
    for e in events:
        table.add_row(
            str(e["seq"]), e["occurred_at"], e["type"], e["actor"], ", ".join(s[:12] for s in e["subjects"][:3])
        )
    console.print(table)


def audit_checkpoints_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many (newest first).")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List the log's signed checkpoints, newest first: the sizes 'qgov audit consistency' takes, and when."""
    page = open_client().checkpoints(limit, offset)
    if as_json:
        print_json(page)
        return
    table = Table("size (events)", "signed at", "root", "key")
    for cp in page["items"]:
        table.add_row(str(cp["size"]), cp["created_at"], cp["root_hash"][:16] + "…", cp["key_name"])
    console.print(table)
    console.print(f"{len(page['items'])} of {page['total']} checkpoint(s)")


@audit_app.command("checkpoint")
def audit_checkpoint(as_json: JsonFlag = False) -> None:
    """Sign a checkpoint of the log as it stands now (also done in every transaction that writes
    events). Keep the printed note: 'qgov audit verify --since FILE' proves the log still extends it."""
    from governance.cli._context import call

    cp = call("audit.checkpoint")
    if as_json:
        print_json(cp)
        return
    diagnostics.print(f"checkpoint of {cp['size']} events, root {cp['root_hash'][:16]}…")
    typer.echo(cp["note"], nl=False)


@audit_app.command("public-key")
def audit_public_key(as_json: JsonFlag = False) -> None:
    """Print the log's public key (C2SP note verifier key) for third parties to verify with."""
    key = open_app().signer.verifier_key()
    if as_json:
        print_json({"public_key": key})
        return
    typer.echo(key)


@audit_app.command("prove")
def audit_prove(
    event: Annotated[str, typer.Argument(help="Event id, or #SEQ / SEQ for its sequence number.")],
    checkpoint: Annotated[
        int | None, typer.Option("--checkpoint", help="Prove against this checkpoint size (default: the latest).")
    ] = None,
    output: Output = None,
    as_json: JsonFlag = False,
) -> None:
    """Print an inclusion proof of an event that 'qgov audit verify-proof' checks offline."""
    from governance.audit import prove_inclusion

    _write_document(prove_inclusion(open_app(), event, checkpoint), output, as_json)


@audit_app.command("consistency")
def audit_consistency(
    old: Annotated[int, typer.Argument(help="Size of the earlier checkpoint.")],
    new: Annotated[int | None, typer.Argument(help="Size of the later checkpoint (default: the latest).")] = None,
    output: Output = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a proof that a later checkpoint extends an earlier one (nothing was rewritten)."""
    from governance.audit import prove_consistency

    _write_document(prove_consistency(open_app(), old, new), output, as_json)


@audit_app.command("verify-proof")
def audit_verify_proof(
    proof: Annotated[Path, typer.Argument(metavar="PROOF.json", help="A proof from 'qgov audit prove'.")],
    key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check an inclusion or consistency proof offline against the log's public key; exit 1 if it fails."""
    from governance.audit import verify_proof
    from qgov.errors import IntegrityError

    try:
        doc = json.loads(proof.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"proof file {proof}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"proof file {proof}: not a JSON proof document ({' '.join(str(exc).split())})") from None
    if not isinstance(doc, dict):
        raise InputError(f"proof file {proof}: expected a JSON object")
    app = open_app() if not key else None
    try:
        result = verify_proof(doc, key or [], app)
    except IntegrityError as exc:
        if as_json:
            print_json({"ok": False, "problem": exc.diagnostics()})
        else:
            console.print(f"[bold red]proof does not verify[/]: {exc.diagnostics()}")
        raise SystemExit(1) from None
    if as_json:
        print_json(result.to_json())
    elif result.kind == "inclusion":
        console.print(
            f"[green]proof verified[/]: event #{result.seq} ({result.event_id}) is in the signed log of "
            f"{result.tree_size} events, root {result.root_hash[:16]}…"
        )
    else:
        console.print(
            f"[green]proof verified[/]: the signed log of {result.tree_size} events extends the one of "
            f"{result.old_size} events"
        )


@audit_app.command("verify-certificate")
def audit_verify_certificate(
    certificate: Annotated[Path, typer.Argument(metavar="CERTIFICATE.json", help="From 'qgov delete … -o'.")],
    key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a deletion certificate offline against the log's public key; exit 1 if it fails."""
    from governance.deletion import check_certificate
    from qgov.errors import IntegrityError

    try:
        doc = json.loads(certificate.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"certificate file {certificate}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"certificate file {certificate}: not JSON ({' '.join(str(exc).split())})") from None
    try:
        document = check_certificate(doc, key or [], open_app() if not key else None)
    except IntegrityError as exc:
        if as_json:
            print_json({"ok": False, "problem": exc.diagnostics()})
        else:
            console.print(f"[bold red]certificate does not verify[/]: {exc.diagnostics()}")
        raise SystemExit(1) from None
    if as_json:
        print_json({"ok": True, "certificate": document})
        return
    names = ", ".join(a["path"] for a in document["artifacts"])
    console.print(
        f"[green]certificate verified[/]: {names} deleted on {document['deleted_at']} by {document['deleted_by']} "
        f"({document['reason']}); log event #{document['event']['seq']}"
    )


@audit_app.command("certificate")
def audit_certificate(
    certificate: Annotated[str, typer.Argument(help="The certificate id (or a unique prefix).")],
    output: Output = None,
    as_json: JsonFlag = False,
) -> None:
    """Print (or write) a stored deletion certificate."""
    from governance.deletion import get_certificate

    _write_document(get_certificate(open_app(), certificate), output, as_json)


@audit_app.command("export")
def audit_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "parquet",
    subject: Annotated[str | None, typer.Option("--subject", help="Only events about this id.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export the events of the log as CSV or Parquet (streamed; schema qgov.events/v1)."""
    from governance.audit import export_events

    if fmt not in ("csv", "parquet"):
        raise InputError(f"--format: expected csv or parquet, got {fmt!r}")
    kind: Literal["csv", "parquet"] = "csv" if fmt == "csv" else "parquet"
    rows = export_events(open_app(), output, kind, subject)
    if as_json:
        print_json({"output": str(output), "format": kind, "events": rows, "schema": "qgov.events/v1"})
        return
    console.print(f"wrote {rows} events to {output}")


@audit_app.command("report")
def audit_report(
    node: Annotated[str, typer.Argument(help="The output (artifact id) to report on.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The HTML file to write.")],
    key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Write a self-contained HTML audit report: lineage graph, classifications, access, integrity."""
    from governance.cli._context import call
    from governance.report import render_report

    doc = call("audit.report", node=node, keys=key or [])
    _atomic_write(output, render_report(doc))
    summary = {
        "output": str(output),
        "nodes": len(doc["trace"]["nodes"]),
        "access_events": len(doc["access"]),
        "integrity_ok": doc["integrity"]["chain_ok"] and doc["integrity"].get("checkpoint_ok", True),
    }
    if as_json:
        print_json(summary)
    else:
        console.print(
            f"wrote {output}: {summary['nodes']} lineage nodes, {summary['access_events']} access events, "
            f"integrity {'verified' if summary['integrity_ok'] else '[bold red]FAILED[/]'}"
        )
    if not summary["integrity_ok"]:
        raise SystemExit(1)  # the report is written, and it says the log failed verification


def _write_document(doc: dict[str, Any], output: Path | None, as_json: bool = False) -> None:
    """A JSON document to stdout, or to ``output`` (then, with --json, stdout says where it went)."""
    write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", output, quiet=as_json)
    if as_json and output is not None:
        print_json({"output": str(output), "document": doc})


def write_text(text: str, output: Path | None, quiet: bool = False) -> None:
    """To stdout, or to ``output`` atomically (complete or not at all), saying so on stdout."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    _atomic_write(output, text)
    if not quiet:
        console.print(f"wrote {output}")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["audit_app", "write_text"]
