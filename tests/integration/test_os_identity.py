"""Embedded mode acts as the person mapped to the operating-system account (governance.os_identity)."""

from __future__ import annotations

from datetime import date

import pytest

from governance.app import App
from governance.config import load_settings
from governance.os_account import os_account
from governance.os_identity import register_initial_admin
from governance.requests import Person, register_person
from qgov.errors import AccessDenied, InputError, NotFoundError

TRAINED = date.today().isoformat()


@pytest.fixture
def app(app: App) -> App:
    """conftest's store, but with no operating-system account mapped yet (its fixture maps this
    account to alice, as ``qgov init --name alice`` does): these tests do the mapping."""
    from governance import tables as t
    from governance.db import transaction

    with transaction(app.engine) as conn:
        conn.execute(t.os_accounts.delete())
    return app


def _embedded(env: dict[str, str], acting_as: str | None = None) -> App:
    return App(load_settings(env).model_copy(update={"acting_as": acting_as}))


def _person(name: str) -> Person:
    return Person(name, ["US"], False, None, "US", "Lab B", TRAINED)


def test_an_unmapped_account_acts_for_nobody(app: App, env: dict[str, str]) -> None:
    embedded = _embedded({**env, "QGOV_USER": "alice"})  # the variable names nobody
    try:
        with pytest.raises(AccessDenied, match=f"account '{os_account()}' is not mapped to a registered person"):
            _ = embedded.user
    finally:
        embedded.close()


def test_a_mapped_account_acts_as_its_person_and_only_an_admin_acts_as_another(app: App, env: dict[str, str]) -> None:
    register_person(app, _person("li"), ["researcher"], os_account())
    register_person(app, _person("olga"), ["export_control_officer"])
    mine = _embedded(env)
    posing = _embedded(env, acting_as="olga")
    try:
        assert mine.user == "li"
        with pytest.raises(AccessDenied, match="user 'li' may not act as another person"):
            _ = posing.user
    finally:
        mine.close()
        posing.close()


def test_one_account_maps_to_one_person_and_a_refused_mapping_registers_nobody(app: App) -> None:
    register_person(app, _person("li"), ["researcher"], os_account())
    with pytest.raises(InputError, match=f"--os-account '{os_account()}': already mapped to 'li'"):
        register_person(app, _person("bob"), ["researcher"], os_account())
    with app.engine.connect() as conn, pytest.raises(NotFoundError):
        from governance.requests import get_person

        get_person(conn, "bob")


def test_a_store_from_before_mapping_maps_its_admin_once(app: App, env: dict[str, str]) -> None:
    register_person(app, _person("olga"), ["export_control_officer"])
    with pytest.raises(InputError, match="'olga' is not one of them"):
        register_initial_admin(app, "olga", os_account())
    assert register_initial_admin(app, "alice", os_account())  # alice is this store's admin
    assert not register_initial_admin(app, "alice", "someone-else")
    embedded = _embedded(env, acting_as="olga")
    try:
        assert embedded.user == "olga"  # alice, an admin, acting as olga
    finally:
        embedded.close()
