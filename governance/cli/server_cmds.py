"""The service and its credentials: ``qgov serve``, ``qgov token``, ``qgov roles show``."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from governance.cli._context import open_local_app as open_app
from governance.cli._render import console, diagnostics, print_json
from qgov.errors import InputError

token_app = typer.Typer(help="Personal access tokens for the qgov server (admins issue them).", no_args_is_help=True)
account_app = typer.Typer(
    help="Local accounts: password and TOTP, for labs without single sign-on.", no_args_is_help=True
)
roles_app = typer.Typer(help="Roles and the capability table.", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    certfile: Annotated[Path | None, typer.Option("--certfile", help="TLS certificate (PEM): serve HTTPS.")] = None,
    keyfile: Annotated[Path | None, typer.Option("--keyfile", help="TLS private key (PEM).")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='Announce the service as one JSON document {"url", "home"} on stdout.')
    ] = False,
) -> None:
    """Run the qgov HTTP API in the foreground (SIGTERM or Ctrl-C stops it cleanly).

    The service alone holds the keys, the database and the blob store; people use it with a
    personal access token (qgov token create USER)."""
    import uvicorn

    from governance.service_app import create_service

    if not 0 < port < 65536:
        raise InputError(f"--port: expected 1 to 65535, got {port}")
    if (certfile is None) != (keyfile is None):
        raise InputError("--certfile and --keyfile: give both to serve HTTPS, or neither")
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is not None and not path.is_file():
            raise InputError(f"{option} {path}: no such file")
    core = open_app(create=True)
    # Open everything the service holds before the first request: a missing key fails here.
    _ = core.engine, core.kek, core.blobs, core.policies
    scheme = "https" if certfile else "http"
    url = f"{scheme}://{host}:{port}/api/v1"
    if as_json:
        print_json({"url": url, "home": str(core.settings.home)})
    else:
        diagnostics.print(f"qgov serving {core.settings.home} on {url} (Ctrl-C stops)")
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again with the handler
    # it found: this one turns that into a clean exit 0 for service managers.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(
            create_service(core),
            host=host,
            port=port,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            log_level="warning",
            server_header=False,
        )
    finally:
        core.close()


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Argument(help="The registered person the token acts as.")],
    days: Annotated[int, typer.Option(help="Days until it expires (1 to 366).")] = 90,
    note: Annotated[str, typer.Option(help="What the token is for.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Admin: issue a token for USER. It is shown once; only its hash is kept."""
    from governance.cli._context import call

    issued = call("token.create", person=user, days=days, note=note)
    if as_json:
        print_json(issued)
        return
    diagnostics.print(
        f"token {issued['id']} for {user}, expires {issued['expires_at'][:10]} (shown once, keep it secret):"
    )
    typer.echo(issued["token"])


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")], as_json: JsonFlag = False) -> None:
    """Revoke a token (an admin any, everyone their own)."""
    from governance.cli._context import call

    done = call("token.revoke", token_id=token_id)
    if as_json:
        print_json(done)
        return
    console.print(f"revoked token {token_id}")


@token_app.command("list")
def token_list(as_json: JsonFlag = False) -> None:
    """Tokens without their secrets: all of them for an admin, your own otherwise."""
    from governance.cli._context import call

    rows = call("token.list")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "person", "expires", "last used", "state", "note")
    for r in rows:
        state = "revoked" if r["revoked_at"] else "active"
        last = r["last_used_at"][:16] if r["last_used_at"] else "never"
        table.add_row(r["id"], r["person"], r["expires_at"][:10], last, state, r["note"])
    console.print(table)


@account_app.command("password")
def account_password(
    user: Annotated[str, typer.Argument(help="The registered person (yourself, or anyone for an admin).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set USER's password and enrol a new TOTP secret (shown once, for an authenticator app)."""
    import sys

    from governance.accounts import set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    enrolled = set_password(open_app(), user, password)
    if as_json:
        print_json({"person": user, "otpauth_uri": enrolled.provisioning_uri, "totp_secret": enrolled.secret})
        return
    diagnostics.print(f"password set for {user}; add this to an authenticator app (shown once):")
    typer.echo(enrolled.provisioning_uri)


@roles_app.command("show")
def roles_show(as_json: JsonFlag = False) -> None:
    """The capability table: which role may do what (anything not marked is denied)."""
    from governance.capabilities import EVERYONE, table_rows

    rows = table_rows()
    if as_json:
        print_json(rows)
        return
    roles = sorted(EVERYONE)
    table = Table("action", *roles, title="capabilities (default deny; content always needs a grant)")
    for row in rows:
        table.add_row(str(row["action"]), *("yes" if row[r] else "·" for r in roles))
    console.print(table)


__all__ = ["account_app", "roles_app", "serve_command", "token_app"]
