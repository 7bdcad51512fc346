"""Two officers deciding one request at the same moment: one decision wins, one grant at most."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

import governance.requests as requests_service
from governance import tables as t
from governance.app import App
from governance.requests import Person, approve, deny, register_person, request_access
from qgov.errors import InputError
from tests.e2e.server_support import build_lab

TRAINED = (date.today() - timedelta(days=30)).isoformat()


@pytest.fixture
def queued(app: App, tmp_path: Path) -> tuple[str, dict[str, App]]:
    ids = build_lab(app, tmp_path)
    register_person(app, Person("otto", ["US"], False, None, "US", "Lab B", TRAINED), ["export_control_officer"])
    officers = {name: app.acting_for(name) for name in ("olga", "otto")}
    request = request_access(app.acting_for("li"), [ids["sponsor"]], "readout benchmark", 30, "US")
    assert request["status"] == "queued"
    return request["request"], officers


def _race(monkeypatch: pytest.MonkeyPatch, db_url: str, calls: list) -> list[object]:  # type: ignore[type-arg]
    """Run ``calls`` in threads; on PostgreSQL both read the queued row before either writes."""
    if db_url.startswith("postgresql"):
        barrier = threading.Barrier(len(calls), timeout=30)
        real = requests_service._queued

        def read_then_wait(conn, request_id):  # type: ignore[no-untyped-def]
            row = real(conn, request_id)
            barrier.wait()
            return row

        monkeypatch.setattr(requests_service, "_queued", read_then_wait)
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except InputError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    return results


def test_approve_and_deny_at_once_leave_one_decision(
    queued: tuple[str, dict[str, App]], monkeypatch: pytest.MonkeyPatch, db_url: str, app: App
) -> None:
    request_id, officers = queued
    results = _race(
        monkeypatch,
        db_url,
        [lambda: approve(officers["olga"], request_id, "BIS D1"), lambda: deny(officers["otto"], request_id, "no")],
    )
    losers = [r for r in results if isinstance(r, InputError)]
    assert len(losers) == 1 and "is already" in str(losers[0])
    with app.engine.connect() as conn:
        status = conn.execute(
            select(t.access_requests.c.status).where(t.access_requests.c.id == request_id)
        ).scalar_one()
        grants = conn.execute(
            select(func.count()).select_from(t.grants).where(t.grants.c.request_id == request_id)
        ).scalar_one()
    assert (status, grants) in {("granted", 1), ("denied", 0)}


def test_two_approvals_at_once_make_one_grant(
    queued: tuple[str, dict[str, App]], monkeypatch: pytest.MonkeyPatch, db_url: str, app: App
) -> None:
    request_id, officers = queued
    results = _race(
        monkeypatch,
        db_url,
        [
            lambda: approve(officers["olga"], request_id, "BIS D1"),
            lambda: approve(officers["otto"], request_id, "BIS D2"),
        ],
    )
    assert sum(isinstance(r, InputError) for r in results) == 1
    with app.engine.connect() as conn:
        grants = conn.execute(
            select(func.count()).select_from(t.grants).where(t.grants.c.request_id == request_id)
        ).scalar_one()
    assert grants == 1


def test_the_database_refuses_a_second_grant_for_one_request(queued: tuple[str, dict[str, App]], app: App) -> None:
    from sqlalchemy.exc import IntegrityError as DbIntegrityError

    request_id, officers = queued
    approve(officers["olga"], request_id, "BIS D1")
    with app.engine.connect() as conn:
        first = conn.execute(select(t.grants).where(t.grants.c.request_id == request_id)).one()
    with pytest.raises(DbIntegrityError), app.engine.begin() as conn:
        conn.execute(insert(t.grants).values({**first._mapping, "id": "another"}))
