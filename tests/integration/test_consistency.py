"""Tables that decisions read are checked against the log (issue 13, items 3, 7 and 10b), on
SQLite and PostgreSQL: a rewritten budget, grant, hold, classification or subject index is
found by ``audit verify`` (exit 1, one line each), and a release or fetch relying on it refuses."""

# ruff: noqa: F811 - `controlled` is test_privacy's fixture, imported here and requested by name

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from governance import tables as t
from governance.app import App
from governance.audit import list_events, verify_log
from governance.catalog import grant_role, list_artifacts
from governance.content import fetch
from governance.ledger import fraction_text
from governance.privacy import budget_show, set_profile
from governance.releases import request_release
from governance.requests import Person, register_person, request_access, revoke
from governance.retention import place_hold
from lineage import EventLog, schema
from qgov.errors import AccessDenied, InputError, IntegrityError
from tests.conftest import QGOV
from tests.integration.test_privacy import PROFILE, _worker, controlled  # noqa: F401 - `controlled` is a fixture

OFFICER = "export_control_officer"


def _dataset_id(app: App, name: str) -> str:
    with app.engine.connect() as conn:
        return str(conn.execute(select(t.datasets.c.id).where(t.datasets.c.name == name)).scalar_one())


def _tamper(app: App, *statements: Any) -> None:
    with app.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def _disagreements(app: App) -> list[str]:
    report = verify_log(app)
    assert report.chain.ok  # the log itself is intact: only a derived table was changed
    return [d.line() for d in report.tables]


def _cli_verify(env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [QGOV, "audit", "verify", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_an_untouched_store_verifies_with_every_table_matching(app, controlled, env) -> None:  # type: ignore[no-untyped-def]
    request_release(app, controlled, "mean", "t1_us", "0.3", purpose="T1")
    assert _disagreements(app) == []
    code, doc = _cli_verify(env)
    assert code == 0 and doc["ok"] and doc["tables_disagreeing"] == []


# -- budgets and the ledger ------------------------------------------------------------
def test_a_reset_spent_amount_refuses_the_next_release_and_fails_verify(app, controlled, env) -> None:  # type: ignore[no-untyped-def]
    request_release(app, controlled, "mean", "t1_us", "0.3", purpose="T1")
    ds = _dataset_id(app, controlled)
    _tamper(app, update(t.privacy_budgets).values(spent_epsilon="0/1"))
    with pytest.raises(
        IntegrityError,
        match=rf"privacy budget of {controlled} does not match the log, so nothing is reserved: "
        rf"privacy_budgets\[dataset={ds}\]\.spent_epsilon: table has 0/1, the log says 3/10",
    ):
        request_release(app, controlled, "count", "t1_us", "0.2", purpose="after the reset")
    with app.engine.connect() as conn:
        statuses = sorted(conn.execute(select(t.releases.c.status)).scalars())
    assert statuses == ["approved", "released"]  # nothing reserved for the refused one
    code, doc = _cli_verify(env)
    assert code == 1 and not doc["ok"]
    assert {(d["table"], d["field"]) for d in doc["tables_disagreeing"]} == {("privacy_budgets", "spent_epsilon")}
    done = subprocess.run([QGOV, "audit", "verify"], env={**os.environ, **env}, capture_output=True, text=True)
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if "table disagrees" in ln]
    assert done.returncode == 1 and len(lines) == 1
    assert f"privacy_budgets[dataset={ds}].spent_epsilon: table has 0/1, the log says 3/10" in lines[0]


def test_a_consistent_rewrite_of_budget_and_ledger_is_caught_by_the_log(app, controlled) -> None:  # type: ignore[no-untyped-def]
    request_release(app, controlled, "sum", "t1_us", "0.45", purpose="a")
    request_release(app, controlled, "mean", "t1_us", "0.45", purpose="b")
    # the attacker makes the row and the ledger agree with each other: nothing spent
    _tamper(
        app,
        update(t.privacy_budgets).values(spent_epsilon="0/1"),
        delete(t.privacy_ledger).where(t.privacy_ledger.c.entry != "total"),
    )
    assert budget_show(app, controlled)["ledger_consistent"]  # the old check is fooled
    with pytest.raises(IntegrityError, match=r"spent_epsilon: table has 0/1, the log says 9/10"):
        request_release(app, controlled, "mean", "cnot_error", "0.5", purpose="would overspend")
    lines = _disagreements(app)
    assert any(
        "privacy_budgets[dataset=" in ln and ".spent_epsilon: table has 0/1, the log says 9/10" in ln for ln in lines
    )
    assert any(ln.startswith("privacy_ledger[") for ln in lines)


def test_hiding_budget_events_from_the_subject_index_does_not_hide_them_from_a_release(app, controlled) -> None:  # type: ignore[no-untyped-def]
    first = request_release(app, controlled, "sum", "t1_us", "0.45", purpose="a")
    ds = _dataset_id(app, controlled)
    with app.engine.connect() as conn:
        hidden = [
            e.body.seq for e in EventLog(conn).iter_events() if e.body.type in ("budget.reserved", "release.published")
        ]
    _tamper(
        app,
        update(t.privacy_budgets).values(spent_epsilon="0/1"),
        delete(t.privacy_ledger).where(t.privacy_ledger.c.entry != "total"),
        delete(schema.event_subjects).where(
            schema.event_subjects.c.seq.in_(hidden),
            schema.event_subjects.c.subject_id.in_([ds, first["release_id"]]),
        ),
    )
    with pytest.raises(
        IntegrityError, match=rf"event_subjects\[dataset={ds}, seq={hidden[0]}\]\.row: table has missing"
    ):
        request_release(app, controlled, "mean", "cnot_error", "0.5", purpose="would overspend")
    lines = _disagreements(app)
    assert f"event_subjects[subject={ds}, seq={hidden[0]}].row: table has missing, the log says present" in lines


# -- the subject index ------------------------------------------------------------------
def _granted_artifact(app: App, days: int = 30, at: datetime | None = None) -> tuple[str, str]:
    """Alice (a trained US admin) granted the calibration table; (artifact id, grant id)."""
    artifact = list_artifacts(app, "sponsor-calib")[0].id
    trained = (date.today() - timedelta(days=60)).isoformat()
    register_person(app, Person("alice", ["US"], False, None, "US", "Lab B", trained), ["admin"])
    grant_role(app, "alice", OFFICER)
    result = request_access(app, [artifact], "analysis", days, "US", at=at)
    assert result["status"] == "granted", result
    return artifact, str(result["grant"])


def test_deleted_subject_index_rows_cannot_hide_fetches_from_verify(app, controlled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifact, _ = _granted_artifact(app)
    for i in range(3):
        fetch(app, artifact, tmp_path / f"copy{i}.csv")
    fetched = [e["seq"] for e in list_events(app, subject=artifact) if e["type"] == "artifact.fetched"]
    assert len(fetched) == 3
    _tamper(app, delete(schema.event_subjects).where(schema.event_subjects.c.seq.in_(fetched)))
    assert [e for e in list_events(app, subject=artifact) if e["type"] == "artifact.fetched"] == []
    lines = _disagreements(app)
    for seq in fetched:
        assert f"event_subjects[subject={artifact}, seq={seq}].row: table has missing, the log says present" in lines
    assert len(lines) == 6  # the artifact and its content hash, for each of the three fetches


# -- grants ------------------------------------------------------------------------------
@pytest.mark.parametrize("edit", ["expiry extended", "revocation cleared", "another person"])
def test_an_edited_grant_authorises_no_fetch_and_fails_verify(app, controlled, tmp_path: Path, edit: str) -> None:  # type: ignore[no-untyped-def]
    past = datetime.now(UTC) - timedelta(days=3)
    artifact, grant = _granted_artifact(app, days=1, at=past if edit == "expiry extended" else None)
    g = t.grants
    if edit == "expiry extended":
        change, field = update(g).values(expires_at=datetime.now(UTC) + timedelta(days=365)), "expires_at"
    elif edit == "revocation cleared":
        revoke(app, grant, "left the project")
        change, field = update(g).values(revoked_at=None), "revoked_at"
    else:
        register_person(app, Person("mallory", ["US"], False, None, "US", "Lab B", date.today().isoformat()), [])
        change, field = update(g).values(person="mallory"), "person"
    _tamper(app, change)
    user = app if edit != "another person" else App(app.settings.model_copy(update={"user": "mallory"}))
    try:
        with pytest.raises(
            IntegrityError,
            match=rf"grant {grant} does not match the log, so it authorises nothing: grants\[id={grant}\]\.{field}",
        ):
            fetch(user, artifact, tmp_path / "stolen.csv")
    finally:
        if user is not app:
            user.close()
    assert not (tmp_path / "stolen.csv").exists()
    assert any(ln.startswith(f"grants[id={grant}].{field}: table has ") for ln in _disagreements(app))


# -- holds and classifications ---------------------------------------------------------
def test_a_deleted_legal_hold_is_found_by_verify(app, controlled) -> None:  # type: ignore[no-untyped-def]
    hold = place_hold(app, "litigation", dataset=controlled)["hold"]
    _tamper(app, delete(t.legal_holds))
    assert f"legal_holds[id={hold}].row: table has missing, the log says placed" in _disagreements(app)


def test_a_deleted_legal_hold_does_not_let_a_deletion_through(app, controlled) -> None:  # type: ignore[no-untyped-def]
    from governance.deletion import delete_artifact

    artifact = list_artifacts(app, controlled)[0].id
    place_hold(app, "litigation", dataset=controlled)
    _tamper(app, delete(t.legal_holds))
    with pytest.raises(IntegrityError, match="the legal holds do not match the log, so nothing is deleted"):
        delete_artifact(app, artifact, "contract ended", before_retention_end=True)
    with app.engine.connect() as conn:
        assert conn.execute(select(t.artifacts.c.deleted_at).where(t.artifacts.c.id == artifact)).scalar() is None


def test_an_edited_classification_is_found_by_verify(app, controlled) -> None:  # type: ignore[no-untyped-def]
    artifact = list_artifacts(app, controlled)[0].id
    _tamper(
        app,
        update(t.classifications).values(classification="EAR99"),
        update(t.artifacts).values(classification="EAR99", controlled=False),
    )
    lines = _disagreements(app)
    assert any(
        ln.startswith("classifications[decision_id=") and ".classification: table has EAR99, the log says 4E906" in ln
        for ln in lines
    )
    assert f"artifacts[id={artifact}].classification: table has EAR99, the log says 4E906" in lines


def test_an_access_decision_refuses_a_classification_edited_behind_the_log(app, controlled) -> None:  # type: ignore[no-untyped-def]
    artifact = list_artifacts(app, controlled)[0].id
    register_person(app, Person("li", ["CN"], False, None, "US", "Lab B", date.today().isoformat()), ["researcher"])
    _tamper(app, update(t.artifacts).values(classification="EAR99", controlled=False))
    with pytest.raises(IntegrityError, match=f"the classification of artifact {artifact} does not match the log"):
        request_access(app.acting_for("li"), [artifact], "readout", 30, "US")
    with app.engine.connect() as conn:
        assert conn.execute(select(t.access_requests)).first() is None


# -- budget settings after spending (item 7) ---------------------------------------------
def test_a_new_privacy_unit_rescales_what_was_spent(app, controlled) -> None:  # type: ignore[no-untyped-def]
    request_release(app, controlled, "mean", "t1_us", "0.3", purpose="laplace")
    request_release(app, controlled, "count", "t1_us", "0.2", "0.0000001", mechanism="gaussian", purpose="gaussian")
    shown = set_profile(app, controlled, PROFILE | {"contributions": 2})
    # laplace: 0.3 x 2; gaussian: 0.2 x 2**2 (rho scales with the square of the contribution bound);
    # each with a 1e-6 margin for OpenDP's rounding
    margin = Fraction(1_000_001, 1_000_000)
    assert Fraction(shown["exact"]["spent_epsilon"]) == (Fraction(3, 10) * 2 + Fraction(2, 10) * 4) * margin
    assert shown["ledger_consistent"] and shown["contributions"] == 2
    refused = request_release(app, controlled, "sum", "t1_us", "0.1", purpose="over")
    assert refused["status"] == "refused"
    with app.engine.connect() as conn:
        configured = [e for e in EventLog(conn).iter_events() if e.body.type == "privacy.configured"][-1]
    rescaled = configured.body.payload["rescaled"]
    assert rescaled["contributions"] == {"from": 1, "to": 2}
    assert rescaled["spent_epsilon"] == {"from": "1/2", "to": fraction_text(Fraction(7, 5) * margin)}
    # back to one row per contributor gives budget back: an officer and a reason
    with pytest.raises(
        AccessDenied, match="a smaller privacy unit for sponsor-calib .* needs an export-control officer"
    ):
        set_profile(app, controlled, PROFILE)
    grant_role(app, "alice", OFFICER)
    with pytest.raises(InputError, match="--reason: a smaller privacy unit"):
        set_profile(app, controlled, PROFILE)
    shown = set_profile(app, controlled, PROFILE, reason="the table has one row per device, checked")
    assert shown["exact"]["spent_epsilon"] == "1/2" and shown["ledger_consistent"]
    assert _disagreements(app) == []


def test_raising_the_total_after_spending_needs_an_officer_and_a_reason(app, controlled) -> None:  # type: ignore[no-untyped-def]
    request_release(app, controlled, "mean", "t1_us", "0.3", purpose="a")
    request_release(app, controlled, "sum", "t1_us", "0.3", purpose="b")
    bigger = PROFILE | {"budget": {"epsilon": "100", "delta": "0.000001"}}
    with pytest.raises(
        AccessDenied, match=r"raising the total of sponsor-calib from ε 1 to ε 100 needs an export-control officer"
    ):
        set_profile(app, controlled, bigger)
    grant_role(app, "alice", OFFICER)
    with pytest.raises(InputError, match="--reason: raising the total"):
        set_profile(app, controlled, bigger, reason="  ")
    shown = set_profile(app, controlled, bigger, reason="sponsor agreed to a larger budget (letter 2026-04)")
    assert shown["epsilon"]["total"] == "100" and shown["epsilon"]["spent"] == "0.6"
    with app.engine.connect() as conn:
        event = [e for e in EventLog(conn).iter_events() if e.body.type == "privacy.configured"][-1]
    assert event.body.payload["total_raised"]["epsilon"] == {"from": "1/1", "to": "100/1"}
    assert event.body.payload["reason"] == "sponsor agreed to a larger budget (letter 2026-04)"
    # lowering the total needs neither
    assert (
        set_profile(app, controlled, PROFILE | {"budget": {"epsilon": "0.8", "delta": "0"}})["epsilon"]["total"]
        == "0.8"
    )
    assert _disagreements(app) == []


# -- per-requester caps (item 10b) -------------------------------------------------------
@pytest.fixture
def capped(app, env, tmp_path: Path) -> tuple[App, dict[str, str]]:  # type: ignore[no-untyped-def]
    """The bundled access policy with ``per_requester_epsilon: "0.3"``, published as the policy in force."""
    bundled = Path(__file__).resolve().parents[2] / "policies" / "bundles" / "ear" / "access.yaml"
    org = tmp_path / "org-policy"
    org.mkdir()
    body = bundled.read_text(encoding="utf-8")
    line = '    max_epsilon_per_release: "1.0"\n'
    assert line in body
    (org / "access.yaml").write_text(body.replace(line, line + '    per_requester_epsilon: "0.3"\n'))
    from governance.policy_store import publish_policy

    publish_policy(app, org, "per-requester cap")  # the store's policy: a caller's directory is not read
    yield app, env


def test_one_requester_cannot_spend_more_than_the_per_requester_cap(app, controlled, capped) -> None:  # type: ignore[no-untyped-def]
    capped_app, _ = capped
    assert request_release(capped_app, controlled, "sum", "t1_us", "0.2", purpose="a")["status"] == "released"
    refused = request_release(capped_app, controlled, "mean", "t1_us", "0.2", purpose="b")
    assert refused["status"] == "refused"
    assert refused["error"] == (
        "this release needs ε 0.2 but alice has already spent ε 0.2 of this dataset's per-requester cap "
        "of ε 0.3 (policy access.privacy.per_requester_epsilon)"
    )
    register_person(app, Person("bob", ["US"], False, None, "US", "Lab B", date.today().isoformat()), ["researcher"])
    bob = App(capped_app.settings.model_copy(update={"user": "bob"}))
    try:
        assert request_release(bob, controlled, "mean", "t1_us", "0.2", purpose="bob's")["status"] == "released"
    finally:
        bob.close()


def test_concurrent_releases_of_one_requester_stay_under_the_cap(app, controlled, capped) -> None:  # type: ignore[no-untyped-def]
    _, env = capped
    asked = [Fraction(50 + i, 1000) for i in range(8)]  # 0.050 … 0.057: 0.428 in all, the cap is 0.3
    procs = [_worker(env, str(float(eps)), f"purpose {eps}") for eps in asked]
    statuses = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-2000:]
        statuses.append(json.loads(out.strip().splitlines()[-1])["status"])
    released = [eps for eps, s in zip(asked, statuses, strict=True) if s == "released"]
    assert statuses.count("refused") >= 1 and sum(released) <= Fraction(3, 10)
    assert Fraction(budget_show(app, controlled)["exact"]["spent_epsilon"]) == sum(released)
    with app.engine.connect() as conn:
        assert conn.execute(text("select count(*) from releases where status = 'reserved'")).scalar_one() == 0
