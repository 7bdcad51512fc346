"""The policy in force is the one published into the store (governance.policy_store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from governance import tables as t
from governance.app import App
from governance.config import load_settings
from governance.policy_store import list_policies, publish_policy
from qgov.errors import ConfigError, PolicyError

ROOT = Path(__file__).resolve().parents[2]


def _org(tmp_path: Path) -> Path:
    org = tmp_path / "org"
    org.mkdir()
    body = (ROOT / "policies" / "bundles" / "ear" / "access.yaml").read_text(encoding="utf-8")
    (org / "access.yaml").write_text(body.replace("review_sla_hours: 72", "review_sla_hours: 48"))
    return org


def test_a_store_without_a_published_policy_decides_nothing(env: dict[str, str]) -> None:
    bare = App(load_settings(env).model_copy(update={"user": "alice"}))
    try:
        with pytest.raises(ConfigError, match="no policy is published in this store: run 'qgov init'"):
            _ = bare.policies
    finally:
        bare.close()


def test_publishing_makes_a_new_version_in_force_and_a_caller_directory_does_not(app: App, tmp_path: Path) -> None:
    org = _org(tmp_path)
    posing = App(app.settings.model_copy(update={"policy_dir": org}))
    try:
        assert posing.policies.get("US-EAR").require_access().review_sla_hours == 72
    finally:
        posing.close()
    published, new = publish_policy(app, org, "shorter review")
    assert new and published.version == 2 and published.sha256 == app.policies.digest
    assert app.policies.get("US-EAR").require_access().review_sla_hours == 48
    assert [(v.version, v.in_force) for v in list_policies(app)] == [(2, True), (1, False)]


def test_an_edited_policy_row_is_refused_not_decided_on(app: App, tmp_path: Path) -> None:
    publish_policy(app, _org(tmp_path))
    with app.engine.begin() as conn:
        row = conn.execute(t.policy_bundles.select().where(t.policy_bundles.c.version == 2)).one()
        files = dict(row.files)
        files["org/access.yaml"] = files["org/access.yaml"].replace("review_sla_hours: 48", "review_sla_hours: 1")
        conn.execute(
            update(t.policy_bundles).where(t.policy_bundles.c.version == 2).values(files=files, sha256="0" * 64)
        )
    with pytest.raises(PolicyError, match="published policy v2: content hash .* does not match the recorded 0000"):
        _ = app.policies
