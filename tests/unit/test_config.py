from __future__ import annotations

from pathlib import Path

import pytest

from governance.config import load_settings
from qgov.errors import ConfigError


def test_defaults_live_under_qgov_home(tmp_path: Path) -> None:
    settings = load_settings({"QGOV_HOME": str(tmp_path), "QGOV_USER": "ada"})
    assert settings.database_url == f"sqlite:///{tmp_path / 'qgov.db'}"
    assert settings.storage_url == str(tmp_path / "blobs")
    assert settings.key_file == tmp_path / "keys" / "kek.json"
    # no variable names the acting person: the OS account's person acts (governance.os_identity)
    assert settings.user is None and settings.acting_as is None


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    settings = load_settings({"QGOV_DATABASE_URL": "postgresql://u:secret@db/qgov"})
    assert settings.database_url == "postgresql+psycopg://u:secret@db/qgov"
    assert "secret" not in str(settings.redacted())


def test_unsupported_database_is_named() -> None:
    with pytest.raises(ConfigError, match="QGOV_DATABASE_URL: expected sqlite:///PATH or postgresql"):
        load_settings({"QGOV_DATABASE_URL": "mysql://x/y"})


def test_key_from_the_environment_is_never_shown() -> None:
    settings = load_settings({"QGOV_KEK": '{"primaryKeyId": 1}'})
    assert "primaryKeyId" not in settings.model_dump_json()
    assert settings.redacted()["key"] == "QGOV_KEK (environment)"


def test_s3_endpoint_becomes_a_storage_option() -> None:
    settings = load_settings({"QGOV_STORAGE_URL": "s3://lab/qgov", "QGOV_S3_ENDPOINT_URL": "http://127.0.0.1:9000"})
    assert settings.storage_options == {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9000"}}


def test_the_witness_lives_under_qgov_home_unless_configured(tmp_path: Path) -> None:
    assert load_settings({"QGOV_HOME": str(tmp_path)}).witness_dir == tmp_path / "witness"
    elsewhere = load_settings({"QGOV_HOME": str(tmp_path), "QGOV_WITNESS_DIR": str(tmp_path / "drop")})
    assert elsewhere.witness_dir == tmp_path / "drop"
