"""Decision e-mails: send or retry them now, and see what was sent and what failed."""

from __future__ import annotations

from typing import Annotated

import typer

from governance.cli._context import open_client
from governance.cli._render import console, plain, print_json

notify_app = typer.Typer(help="Decision e-mails (when QGOV_SMTP_HOST is set).", no_args_is_help=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


@notify_app.command("send")
def notify_send_command(as_json: JsonFlag = False) -> None:
    """Officer, admin: send the pending decision e-mails and retry the failed ones now."""
    done = open_client().send_notifications()
    if as_json:
        print_json(done)
        return
    console.print(f"{done['sent']} e-mail(s) sent, {done['failed']} failed")
    if done["failed"]:
        raise SystemExit(1)


@notify_app.command("status")
def notify_status_command(as_json: JsonFlag = False) -> None:
    """Officer, admin: decision e-mails by status, and each failed one with the mail server's words."""
    doc = open_client().notification_deliveries()
    if as_json:
        print_json(doc)
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(doc["counts"].items())) or "none yet"
    console.print(f"decision e-mails: {counts}")
    for f in doc["failed"]:
        console.print(
            f"  request {f['request']} (event {f['event_seq']}): {f['attempts']}/{doc['max_attempts']} attempts; "
            f"{plain(f['error'] or '')}"
        )


__all__ = ["notify_app"]
