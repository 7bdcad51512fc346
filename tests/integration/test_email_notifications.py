"""Decision e-mails against a real SMTP server (aiosmtpd on loopback), on both databases.

The decision is committed before any mail goes out: a mail server that is down fails nothing,
is recorded (``notification.email_failed``) and is retried by ``send_notifications``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from governance import tables as t
from governance.app import App
from governance.catalog import DatasetSpec, list_artifacts, register_dataset
from governance.config import load_settings
from governance.info_requests import answer, ask
from governance.ingest import finish_run, ingest_batch, plan_ingest
from governance.mailer import delivery_status, send_notifications
from governance.people import set_email, show_person
from governance.requests import Person, approve, deny, queue, register_person, request_access
from lineage import EventLog
from qgov.errors import AccessDenied, ConfigError, InputError

TRAINED = (date.today() - timedelta(days=30)).isoformat()
PURPOSE = "readout benchmark for the sponsor"  # must never leave in a mail


class Inbox:
    """What the SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return _free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    box = Inbox()
    server = Controller(box, hostname="127.0.0.1", port=smtp_port)
    server.start()
    yield box
    server.stop()


def _lab(env: dict[str, str], smtp_port: int, tmp_path: Path) -> tuple[dict[str, App], str]:
    """alice (admin) with a controlled artifact; li (CN researcher, e-mail set); olga (officer)."""
    smtp = {"QGOV_SMTP_HOST": "127.0.0.1", "QGOV_SMTP_PORT": str(smtp_port), "QGOV_SMTP_FROM": "qgov@lab-b.example"}
    settings = load_settings(env | smtp)
    admin = App(settings.model_copy(update={"user": "alice"}))
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "t1.csv").write_text("q,t1\n0,50\n")
    subject = {"type": "quantum_computer", "physical_qubits": 120, "cnot_error": 0.0008}
    register_dataset(
        admin, DatasetSpec(name="sponsor", owner="alice", subject=subject, research={"restrictions_accepted": True})
    )
    plan = plan_ingest(admin, folder, "sponsor")
    finish_run(admin, plan, ingest_batch(admin, plan, plan.files), datetime.now(UTC), 0)
    register_person(
        admin,
        Person("li", ["CN"], False, None, "US", "Univ. of Maryland", TRAINED),
        ["researcher"],
        email="li@umd.example",
    )
    register_person(admin, Person("olga", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    apps = {name: App(settings.model_copy(update={"user": name})) for name in ("alice", "li", "olga")}
    return apps, list_artifacts(admin, "sponsor")[0].id


@pytest.fixture
def lab(app: App, env: dict[str, str], smtp_port: int, tmp_path: Path) -> Iterator[tuple[dict[str, App], str]]:
    apps, artifact = _lab(env, smtp_port, tmp_path)
    yield apps, artifact
    for a in apps.values():
        a.close()


def _bodies(inbox: Inbox) -> list[str]:
    return [str(m.get_content()) for _, m in inbox.messages]


def test_every_decision_is_mailed_to_the_requester_with_ids_and_rules_only(lab, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    apps, artifact = lab
    made = request_access(apps["li"], [artifact], PURPOSE, 30, "US")
    assert made["status"] == "queued"
    rcpt, first = inbox.messages[0]
    assert rcpt == ["li@umd.example"] and first["To"] == "li@umd.example" and first["From"] == "qgov@lab-b.example"
    body = _bodies(inbox)[0]
    assert f"Your access request {made['request']} was decided by the policy" in body
    assert "Policy outcome: license_required" in body and "ear.access.deemed-export" in body
    grant = approve(apps["olga"], made["request"], "BIS licence D123456")
    subjects = [m["Subject"] for _, m in inbox.messages]
    assert subjects[1:] == [
        f"qgov: access request {made['request'][:8]} approved by an officer",
        f"qgov: access request {made['request'][:8]} granted",
    ]
    assert f"Grant: {grant}" in _bodies(inbox)[2]
    for body in _bodies(inbox):  # no purpose, licence, facts: mail is outside the system's control
        assert PURPOSE not in body and "D123456" not in body and "Maryland" not in body


def test_a_person_without_an_address_gets_no_mail_and_nothing_fails(lab, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    apps, artifact = lab
    set_email(apps["li"], "li", None)
    made = request_access(apps["li"], [artifact], PURPOSE, 30, "US")
    deny(apps["olga"], made["request"], "no licence available")
    assert inbox.messages == []
    assert delivery_status(apps["olga"])["counts"] == {"no_address": 2}


def test_a_mail_server_that_is_down_fails_no_decision_and_the_mail_is_retried(  # type: ignore[no-untyped-def]
    app: App, env: dict[str, str], smtp_port: int, tmp_path: Path
) -> None:
    apps, artifact = _lab(env, smtp_port, tmp_path)  # nothing listens on smtp_port yet
    made = request_access(apps["li"], [artifact], PURPOSE, 30, "US")
    deny(apps["olga"], made["request"], "no licence available")
    with apps["olga"].engine.connect() as conn:
        status = conn.execute(select(t.access_requests.c.status).where(t.access_requests.c.id == made["request"]))
        assert status.scalar_one() == "denied"  # the decision stands
        failed = [e for e in (s.body for s in EventLog(conn).iter_events()) if e.type == "notification.email_failed"]
    assert [e.payload["request"] for e in failed] == [made["request"]] * len(failed) and len(failed) >= 2
    assert {e.payload["error"] for e in failed} == {"ConnectionRefusedError"}
    status_now = delivery_status(apps["olga"])
    assert status_now["counts"] == {"failed": 2} and all(f["attempts"] >= 1 for f in status_now["failed"])
    with pytest.raises(AccessDenied, match="may not send or inspect decision e-mails"):
        send_notifications(apps["li"])
    box = Inbox()
    server = Controller(box, hostname="127.0.0.1", port=smtp_port)
    server.start()
    try:
        assert send_notifications(apps["olga"]) == {"sent": 2, "failed": 0}
    finally:
        server.stop()
    short = made["request"][:8]
    assert [m["Subject"] for _, m in box.messages] == [
        f"qgov: access request {short} decided by the policy",
        f"qgov: access request {short} denied",
    ]
    assert delivery_status(apps["olga"])["counts"] == {"sent": 2}
    assert send_notifications(apps["olga"]) == {"sent": 0, "failed": 0}  # nothing is sent twice
    for a in apps.values():
        a.close()


def test_an_officer_s_question_pauses_the_request_and_mails_that_there_is_one(lab, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    apps, artifact = lab
    made = request_access(apps["li"], [artifact], PURPOSE, 30, "US")
    asked = ask(apps["olga"], made["request"][:8], "Which lab will hold the copy?")
    assert asked["status"] == "info_requested" and queue(apps["olga"]) == []
    last = inbox.messages[-1][1]
    assert "waiting for your answer" in last["Subject"] and "Which lab" not in str(last.get_content())
    with pytest.raises(AccessDenied, match="only its requester may"):
        answer(apps["olga"], made["request"], "Lab B")
    with pytest.raises(InputError, match="only a queued request can be asked about"):
        ask(apps["olga"], made["request"], "again?")
    with pytest.raises(InputError, match=r"--text: expected some text"):
        answer(apps["li"], made["request"], "  ")
    done = answer(apps["li"], made["request"], "Lab B, room 12")
    assert done["status"] == "queued"
    (back,) = queue(apps["olga"])
    assert (back["question"], back["answer"]) == ("Which lab will hold the copy?", "Lab B, room 12")
    with apps["li"].engine.connect() as conn:
        types = [e.type for e in (s.body for s in EventLog(conn).iter_events())]
    assert types.count("access.info_requested") == 1 and types.count("access.info_provided") == 1


def test_the_review_clock_stops_while_the_requester_is_asked(lab) -> None:  # type: ignore[no-untyped-def]
    apps, artifact = lab
    start = datetime.now(UTC) - timedelta(hours=100)
    made = request_access(apps["li"], [artifact], PURPOSE, 30, "US", at=start)
    ask(apps["olga"], made["request"], "Which lab?", at=start + timedelta(hours=10))
    answer(apps["li"], made["request"], "Lab B", at=start + timedelta(hours=90))
    (row,) = queue(apps["olga"], at=start + timedelta(hours=100))
    assert row["waited_hours"] == 20.0 and not row["overdue"]  # 100 h elapsed, 80 of them with li


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("li at umd", r"--email: expected an e-mail address like name@example.org, got 'li at umd'"),
        ("li@umd.example\r\nBcc: x@y.example", r"--email: expected an e-mail address"),
        ("li@localhost", r"--email: expected an e-mail address"),
    ],
    ids=["no_at", "header_injection", "no_dot_in_domain"],
)
def test_a_bad_address_is_refused_naming_the_field(lab, address: str, message: str) -> None:  # type: ignore[no-untyped-def]
    apps, _ = lab
    with pytest.raises(InputError, match=message):
        set_email(apps["alice"], "li", address)
    assert show_person(apps["alice"], "li")["email"] == "li@umd.example"


def test_only_admins_set_someone_else_s_address_and_the_log_keeps_no_address(lab) -> None:  # type: ignore[no-untyped-def]
    apps, _ = lab
    with pytest.raises(AccessDenied, match="may not register people"):
        set_email(apps["olga"], "li", "olga@evil.example")
    set_email(apps["li"], "li", "li.wei@umd.example")
    assert show_person(apps["li"], "li")["email"] == "li.wei@umd.example"
    with apps["li"].engine.connect() as conn:
        text = " ".join(str(e.payload) for e in (s.body for s in EventLog(conn).iter_events()))
    assert "umd.example" not in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"QGOV_SMTP_HOST": "mail.example"}, r"QGOV_SMTP_FROM: required with QGOV_SMTP_HOST"),
        ({"QGOV_SMTP_FROM": "a@b.example"}, r"QGOV_SMTP_FROM: set QGOV_SMTP_HOST too"),
        ({"QGOV_SMTP_HOST": "m.example", "QGOV_SMTP_FROM": "a@b.example", "QGOV_SMTP_PORT": "x"}, r"QGOV_SMTP_PORT"),
        ({"QGOV_SMTP_HOST": "m.example", "QGOV_SMTP_FROM": "a@b.example", "QGOV_SMTP_STARTTLS": "maybe"}, "yes or no"),
        ({"QGOV_SMTP_HOST": "m.example", "QGOV_SMTP_FROM": "nobody"}, r"QGOV_SMTP_FROM: expected an e-mail address"),
    ],
    ids=["no_from", "from_without_host", "bad_port", "bad_starttls", "bad_from"],
)
def test_smtp_settings_are_checked_once_with_a_one_line_error(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"QGOV_HOME": "/tmp/x"} | extra)
    starttls = load_settings(
        {
            "QGOV_HOME": "/tmp/x",
            "QGOV_SMTP_HOST": "m.example",
            "QGOV_SMTP_FROM": "a@b.example",
            "QGOV_SMTP_STARTTLS": "yes",
        }
    ).smtp
    assert starttls is not None and starttls.port == 587 and starttls.starttls


def test_an_upgraded_store_never_mails_the_decisions_made_before_the_upgrade(lab, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    from alembic import command

    from governance.db import _alembic_config

    apps, artifact = lab
    without_smtp = App(apps["li"].settings.model_copy(update={"smtp": None}))
    before = request_access(without_smtp, [artifact], PURPOSE, 30, "US")
    without_smtp.close()
    cfg = _alembic_config(apps["alice"].engine)
    command.downgrade(cfg, "0025")  # as a store made before e-mail existed …
    command.upgrade(cfg, "head")  # … and upgraded: the past is marked, not mailed
    set_email(apps["alice"], "li", "li@umd.example")
    after = request_access(apps["li"], [artifact], PURPOSE, 30, "US")
    assert [m["Subject"] for _, m in inbox.messages] == [
        f"qgov: access request {after['request'][:8]} decided by the policy"
    ]
    assert before["request"] != after["request"]
