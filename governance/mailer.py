"""Decision notifications by e-mail: an outbox read from the provenance log, sent after commit.

Every decision the requester is told about in the page (:data:`governance.notifications.WORDS`)
is also mailed to the requester's address when SMTP is configured (``QGOV_SMTP_*``). The
sender runs *after* the deciding transaction has committed (:func:`notifies` wraps the
deciding service functions), so a mail server that is down, slow or refusing never fails or
rolls back a decision. Each decision event gets one row in ``notification_deliveries``:

    sent | failed (retried on the next run, up to MAX_ATTEMPTS) | no_address | not_configured

and each failed attempt is a ``notification.email_failed`` event, visible to auditors and
officers (``qgov audit events --type notification.email_failed``). ``qgov notify send``
retries at once. A message carries ids, the outcome, the rules and citations behind it and
where to read more — never a purpose, reason, question or any controlled content: mail
leaves the system unencrypted and unaccounted for.
"""

from __future__ import annotations

import contextlib
import functools
import smtplib
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from governance import tables as t
from governance.app import App
from governance.capabilities import authorize
from governance.config import SmtpSettings
from governance.db import transaction
from governance.notifications import WORDS
from lineage import EventLog, NewEvent, schema
from qgov.canonical import as_utc, iso_utc

MAX_ATTEMPTS = 5
BATCH = 200
STALE = timedelta(minutes=10)  # a claim older than this was left by a process that died mid-send
TIMEOUT_SECONDS = 10

P = ParamSpec("P")
R = TypeVar("R")


def notifies(fn: Callable[P, R]) -> Callable[P, R]:
    """Run the e-mail sender after ``fn`` (a deciding service taking the App first) returns."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = fn(*args, **kwargs)
        app = args[0]
        if isinstance(app, App):
            # the decision is committed: a fault of the sender (even of its database) must not undo it
            with contextlib.suppress(Exception):
                _deliver(app)
        return result

    return wrapper


def send_notifications(app: App) -> dict[str, int]:
    """Officers and admins: send (or retry) the pending decision e-mails now."""
    with app.engine.connect() as conn:
        authorize(conn, app.user, "notification.send")
    return _deliver(app)


def _deliver(app: App, at: datetime | None = None) -> dict[str, int]:
    at = at or datetime.now(UTC)
    smtp = app.settings.smtp
    claimed = _claim(app, smtp is not None, at)
    counts = {"sent": 0, "failed": 0}
    for job in claimed:
        assert smtp is not None  # nothing is claimed for sending without SMTP
        try:
            _send(smtp, _message(smtp, job))
        except (OSError, smtplib.SMTPException) as exc:
            counts["failed"] += 1
            _record_failure(app, job, exc)
        else:
            counts["sent"] += 1
            with transaction(app.engine) as conn:
                conn.execute(
                    update(t.notification_deliveries)
                    .where(t.notification_deliveries.c.seq == job["seq"])
                    .values(status="sent", attempts=job["attempt"], error=None, updated_at=datetime.now(UTC))
                )
    return counts


def _claim(app: App, configured: bool, at: datetime) -> list[dict[str, Any]]:
    """Mark new decision events and failed deliveries as being sent by this process; return
    what to send. Two processes racing for the same event: the second's insert conflicts and
    it leaves the batch to the first."""
    d, e = t.notification_deliveries, schema.events
    try:
        with transaction(app.engine) as conn:
            head = conn.execute(select(func.max(d.c.seq))).scalar() or 0
            new = conn.execute(
                select(e.c.seq, e.c.type, e.c.occurred_at, e.c.payload)
                .where(e.c.seq > head, e.c.type.in_(sorted(WORDS)))
                .order_by(e.c.seq)
                .limit(BATCH)
            ).all()
            retry = conn.execute(
                select(d.c.seq, d.c.attempts)
                .where(
                    d.c.attempts < MAX_ATTEMPTS,
                    or_(d.c.status == "failed", (d.c.status == "sending") & (d.c.updated_at < at - STALE)),
                )
                .order_by(d.c.seq)  # in the order the decisions were made
            ).all()
            if not configured:
                retry = []
            retry_events = {
                r.seq: r
                for r in conn.execute(
                    select(e.c.seq, e.c.type, e.c.occurred_at, e.c.payload).where(e.c.seq.in_([r.seq for r in retry]))
                )
            }
            jobs = []
            for ev in new:
                job = _job(conn, ev)
                status = "sending" if configured and job and job["to"] else "not_configured"
                if configured and job and not job["to"]:
                    status = "no_address"
                conn.execute(
                    insert(d).values(
                        seq=ev.seq,
                        request_id=job["request"] if job else None,
                        status=status if job else "no_address",
                        attempts=0,
                        updated_at=at,
                    )
                )
                if status == "sending" and job:
                    jobs.append(job | {"attempt": 1})
            for r in retry:
                job = _job(conn, retry_events[r.seq])
                taken = conn.execute(
                    update(d)
                    .where(d.c.seq == r.seq, d.c.attempts == r.attempts)
                    .values(status="sending", updated_at=at)
                )
                if job and job["to"] and taken.rowcount == 1:
                    jobs.append(job | {"attempt": r.attempts + 1})
    except DbIntegrityError:
        return []
    return jobs


def _job(conn: Any, ev: Any) -> dict[str, Any] | None:
    """What to mail about one decision event: the request, its requester's address, the outcome
    and the rules and citations behind it. None when the event is about no request."""
    payload = ev.payload or {}
    request_id = payload.get("request")
    if request_id is None and payload.get("grant"):
        request_id = conn.execute(select(t.grants.c.request_id).where(t.grants.c.id == payload["grant"])).scalar()
    if request_id is None:
        return None
    req = conn.execute(select(t.access_requests).where(t.access_requests.c.id == request_id)).first()
    if req is None:
        return None
    to = conn.execute(select(t.people.c.email).where(t.people.c.name == req.requester)).scalar()
    rules: dict[str, str] = {}
    for art in (req.decision or {}).get("artifacts", []):
        for reason in art.get("reasons", []):
            if reason.get("outcome") == req.outcome:
                rules.setdefault(str(reason.get("rule")), str(reason.get("citation") or ""))
    return {
        "seq": ev.seq,
        "type": ev.type,
        "at": iso_utc(as_utc(ev.occurred_at)),
        "request": request_id,
        "grant": payload.get("grant"),
        "status": req.status,
        "outcome": req.outcome,
        "rules": rules,
        "to": to,
    }


def _message(smtp: SmtpSettings, job: dict[str, Any]) -> EmailMessage:
    """Ids, outcome, rules and citations, where to read more: nothing else (see the module doc)."""
    what = WORDS[job["type"]]
    msg = EmailMessage()
    msg["From"] = smtp.sender
    msg["To"] = job["to"]
    msg["Subject"] = f"qgov: access request {job['request'][:8]} {what}"
    lines = [
        f"Your access request {job['request']} was {what} ({job['type']}) at {job['at']}.",
        "",
        f"Request status: {job['status']}",
        f"Policy outcome: {job['outcome']}",
    ]
    if job["grant"]:
        lines.append(f"Grant: {job['grant']}")
    if job["rules"]:
        lines += ["", "Rules behind the outcome:"] + [
            f"  {rule} ({cite})" for rule, cite in sorted(job["rules"].items())
        ]
    lines += [
        "",
        "Read the details (reasons, an officer's question) on the 'My requests' page of your qgov server",
        "(/ui/my) or with 'qgov access mine'. This e-mail carries ids only, by design.",
    ]
    msg.set_content("\n".join(lines) + "\n")
    return msg


def _send(smtp: SmtpSettings, msg: EmailMessage) -> None:
    with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT_SECONDS) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user and smtp.password:
            client.login(smtp.user, smtp.password.get_secret_value())
        client.send_message(msg)


def _record_failure(app: App, job: dict[str, Any], exc: Exception) -> None:
    # The row keeps the server's words for the operator; the log keeps only the kind of fault,
    # since an SMTP error may quote the recipient's address (personal data).
    with transaction(app.engine) as conn:
        conn.execute(
            update(t.notification_deliveries)
            .where(t.notification_deliveries.c.seq == job["seq"])
            .values(status="failed", attempts=job["attempt"], error=str(exc)[:500], updated_at=datetime.now(UTC))
        )
        EventLog(conn).append(
            NewEvent(
                "notification.email_failed",
                "qgov",
                [job["request"]],
                {
                    "request": job["request"],
                    "event_seq": job["seq"],
                    "attempt": job["attempt"],
                    "final": job["attempt"] >= MAX_ATTEMPTS,
                    "error": type(exc).__name__,
                },
            )
        )


def delivery_status(app: App) -> dict[str, Any]:
    """Officers and admins: deliveries by status, and the failed ones with their errors."""
    d = t.notification_deliveries
    with app.engine.connect() as conn:
        authorize(conn, app.user, "notification.send")
        counts = {s: int(n) for s, n in conn.execute(select(d.c.status, func.count()).group_by(d.c.status))}
        failed = conn.execute(select(d).where(d.c.status == "failed").order_by(d.c.seq)).all()
    return {
        "counts": counts,
        "failed": [
            {"event_seq": r.seq, "request": r.request_id, "attempts": r.attempts, "error": r.error} for r in failed
        ],
        "max_attempts": MAX_ATTEMPTS,
    }


__all__ = ["MAX_ATTEMPTS", "delivery_status", "notifies", "send_notifications"]
