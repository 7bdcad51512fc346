"""Clearing a false-positive screening match (issue 18): it stays cleared for that list
version and the suspended grant comes back as it was — never rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from governance import tables as t
from governance.content import fetch
from governance.requests import approve, queue, request_access
from governance.screening import load_list, refresh
from governance.screening_clearance import clear_match
from qgov.errors import AccessDenied, InputError
from tests.integration.test_access_workflow import lab  # noqa: F401 - a fixture, used by name

LISTED = (
    "el-9999-001,Entity List (EL) - Bureau of Industry and Security,,Entity,,University of Maryland,,"
    '"College Park, MD, US",99 FR 1,2026-11-20,,N,For all items subject to the EAR.,Case-by-case review.'
    ",,,,,,,,,,,,,,,\n"
)


def _list_with_the_university(tmp_path: Path) -> Path:
    sample = (Path(__file__).resolve().parents[2] / "policies" / "data" / "restricted-parties-sample.csv").read_text()
    path = tmp_path / "csl.csv"
    path.write_text(sample + LISTED)
    return path


def _grant_row(app, grant_id: str):  # type: ignore[no-untyped-def]
    with app.engine.connect() as conn:
        return conn.execute(select(t.grants).where(t.grants.c.id == grant_id)).one()


def test_approving_a_rescreening_review_reinstates_the_grant_as_it_was(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    apps, ids = lab
    first = request_access(apps["marie"], [ids["generic"]], "fit T1 curves", 30, "US")
    before = _grant_row(apps["olga"], first["grant"])
    load_list(apps["olga"], _list_with_the_university(tmp_path))
    refresh(apps["olga"])
    review = next(q for q in queue(apps["olga"]) if q["requester"] == "marie")
    assert approve(apps["olga"], review["request"], None) == first["grant"]  # the same grant, not a new one
    after = _grant_row(apps["olga"], first["grant"])
    assert after.suspended_at is None and after.revoked_at is None
    assert (after.purpose, after.licence, after.expires_at) == (before.purpose, before.licence, before.expires_at)
    with apps["olga"].engine.connect() as conn:
        assert conn.execute(select(t.grants).where(t.grants.c.person == "marie")).all() == [after]
    fetch(apps["marie"], ids["generic"], tmp_path / "t1.csv")  # the grant authorises again (log agrees)
    # cleared for this list version: the next request is decided without the namesake match
    again = request_access(apps["marie"], [ids["generic"]], "more T1 fits", 30, "US")
    assert again["status"] == "granted", again["decision"]
    assert refresh(apps["olga"]) == []


def test_clearing_a_match_on_a_queued_review_leaves_other_people_and_versions_alone(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    apps, ids = lab
    load_list(apps["olga"], _list_with_the_university(tmp_path))
    held = request_access(apps["li"], [ids["generic"]], "calibration", 30, "US")
    assert held["status"] != "granted"
    with pytest.raises(InputError, match="expected one of the entries matched"):
        clear_match(apps["olga"], held["request"], ["el-0000"], "namesake")
    with pytest.raises(InputError, match="needs a reason"):
        clear_match(apps["olga"], held["request"], ["el-9999-001"], " ")
    with pytest.raises(AccessDenied, match="may not clear screening matches"):
        clear_match(apps["li"], held["request"], ["el-9999-001"], "it is not me")
    done = clear_match(apps["olga"], held["request"], ["el-9999-001"], "the university is a namesake")
    assert done["cleared"] == ["el-9999-001"]
    assert request_access(apps["li"], [ids["generic"]], "calibration", 30, "US")["status"] == "granted"
    # marie was not cleared: the same entry still holds her request
    assert request_access(apps["marie"], [ids["generic"]], "fit", 30, "US")["status"] != "granted"
