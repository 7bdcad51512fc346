"""Erasing a person: their name leaves every table, the hash chain still verifies."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from governance import tables as t
from governance.app import App
from governance.audit import list_events, verify_log
from governance.catalog import grant_role
from governance.erasure import erase_person
from governance.requests import Person, register_person, request_access
from governance.retention import place_hold, release_hold
from lineage import schema
from qgov.errors import AccessDenied, NotFoundError


@pytest.fixture
def bob(app, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    """bob: registered, a researcher who asked for something and holds a role."""
    from governance.catalog import DatasetSpec, list_artifacts, register_dataset
    from governance.ingest import finish_run, ingest_batch, plan_ingest

    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "x.json").write_text("{}")
    register_dataset(app, DatasetSpec(name="d", owner="alice"))
    plan = plan_ingest(app, folder, "d")
    from datetime import UTC, datetime

    finish_run(app, plan, ingest_batch(app, plan, plan.files), datetime.now(UTC), 0)
    artifact = list_artifacts(app, "d")[0].id
    register_person(
        app,
        Person("Bob Q. Researcher", ["DE"], False, "DE", "DE", "TU Dresden", date.today().isoformat()),
        ["researcher"],
    )
    as_bob = App(app.settings.model_copy(update={"user": "Bob Q. Researcher"}))
    try:
        request_access(as_bob, [artifact], "thesis", 30, "DE")
    finally:
        as_bob.close()
    return "Bob Q. Researcher"


def _everything(app) -> str:  # type: ignore[no-untyped-def]
    meta = MetaData()
    meta.reflect(app.engine)
    with app.engine.connect() as conn:
        return " ".join(f"{table.name}:{row}" for table in meta.sorted_tables for row in conn.execute(select(table)))


def test_erasure_removes_the_name_everywhere_and_the_log_still_verifies(app, bob) -> None:  # type: ignore[no-untyped-def]
    assert bob in _everything(app) and "TU Dresden" in _everything(app)
    before = [e["hash"] for e in list_events(app)]
    done = erase_person(app, bob, "erasure request of 2026-11-25")
    dump = _everything(app)
    assert bob not in dump and "TU Dresden" not in dump  # name and facts gone from every table
    assert done["pseudonym"] in dump and done["rows_pseudonymised"] >= 3
    events = list_events(app)
    assert [e["hash"] for e in events][: len(before)] == before  # no hashed byte changed
    assert verify_log(app).ok
    assert {e["actor"] for e in events if e["type"] == "access.requested"} == {"[erased]"}
    assert events[-1]["type"] == "person.erased" and events[-1]["payload"]["person_ref"] == done["person_ref"]
    with app.engine.connect() as conn:
        assert conn.execute(select(t.access_requests.c.requester)).scalar_one() == done["pseudonym"]
        assert (
            conn.execute(select(schema.actors.c.name).where(schema.actors.c.ref == done["person_ref"])).scalar_one()
            is None
        )


def test_a_legal_hold_on_the_person_blocks_erasure(app, bob) -> None:  # type: ignore[no-untyped-def]
    grant_role(app, "alice", "export_control_officer")
    hold = place_hold(app, "records request", person=bob)
    with pytest.raises(AccessDenied, match=f"under legal hold {hold['hold']}"):
        erase_person(app, bob, "request")
    assert bob in _everything(app)
    release_hold(app, hold["hold"], "closed")
    erase_person(app, bob, "request")
    assert bob not in _everything(app)


def test_erasure_needs_an_admin_and_a_known_person(app, bob) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFoundError, match="no person 'nobody'"):
        erase_person(app, "nobody", "r")
    as_bob = App(app.settings.model_copy(update={"user": bob}))
    try:
        with pytest.raises(AccessDenied):
            erase_person(as_bob, "alice", "r")
    finally:
        as_bob.close()
