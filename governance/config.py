"""Settings: read once from the environment into a typed object and passed down.

| variable            | default                              | meaning                                   |
|---------------------|--------------------------------------|-------------------------------------------|
| QGOV_HOME           | ./.qgov                              | where the embedded database, blobs and key file live |
| QGOV_DATABASE_URL   | sqlite:///$QGOV_HOME/qgov.db         | SQLAlchemy URL; PostgreSQL as postgresql+psycopg://… |
| QGOV_STORAGE_URL    | $QGOV_HOME/blobs                     | a directory, file://…, or s3://bucket/prefix |
| QGOV_KEY_FILE       | $QGOV_HOME/keys/kek.json             | the key-encryption key (Tink keyset, mode 0600) |
| QGOV_KEK            | unset                                | the same keyset as JSON text, instead of a file |
| QGOV_SIGNING_KEY_FILE | $QGOV_HOME/keys/checkpoint.key     | the Ed25519 key that signs log checkpoints (mode 0600) |
| QGOV_SIGNING_KEY    | unset                                | the same key as text (PRIVATE+KEY+…), instead of a file |
| QGOV_S3_ENDPOINT_URL| unset                                | endpoint of an S3-compatible store (MinIO, Ceph, moto) |
| QGOV_POLICY_DIR     | unset                                | an organisation's own policy bundles  |
| QGOV_URL            | unset                                | a qgov server: the command line becomes its client |
| QGOV_TOKEN          | unset                                | the personal access token for QGOV_URL     |
| QGOV_OIDC_ISSUER    | unset                                | OpenID Connect issuer whose ID tokens count |
| QGOV_OIDC_AUDIENCE  | unset                                | client id the tokens are issued to |
| QGOV_OIDC_USERNAME_CLAIM | preferred_username              | the claim naming the registered person    |
| QGOV_OIDC_CLIENT_SECRET | unset                             | client secret for browser sign-in (PKCE only if unset) |
| QGOV_WITNESS_DIR    | $QGOV_HOME/witness                   | the checkpoint witness (append-only, 0700) |
| QGOV_WORK_POOL      | unset                                | Prefect work pool (PREFECT_API_URL) running flows |
| QGOV_SMTP_HOST      | unset                                | mail server for decision e-mails (unset: page only) |
| QGOV_SMTP_PORT      | 25 (587 with STARTTLS)               | its port                                  |
| QGOV_SMTP_FROM      | unset                                | the sender address (required with QGOV_SMTP_HOST) |
| QGOV_SMTP_USER      | unset                                | user name, when the server wants a login  |
| QGOV_SMTP_PASSWORD  | unset                                | its password (only with QGOV_SMTP_USER)   |
| QGOV_SMTP_STARTTLS  | no                                   | yes: STARTTLS before sending |

Nothing else in qgov reads the environment (Prefect and DVC read their own variables). No
variable names the acting person: the embedded command line acts as the person mapped to the
operating-system account (``governance.os_identity``), the server as the authenticated one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from qgov.errors import ConfigError

SETTINGS_VARIABLES = (
    "QGOV_HOME",
    "QGOV_DATABASE_URL",
    "QGOV_STORAGE_URL",
    "QGOV_KEY_FILE",
    "QGOV_KEK",
    "QGOV_SIGNING_KEY_FILE",
    "QGOV_SIGNING_KEY",
    "QGOV_S3_ENDPOINT_URL",
    "QGOV_POLICY_DIR",
    "QGOV_URL",
    "QGOV_TOKEN",
    "QGOV_OIDC_ISSUER",
    "QGOV_OIDC_AUDIENCE",
    "QGOV_OIDC_USERNAME_CLAIM",
    "QGOV_OIDC_CLIENT_SECRET",
    "QGOV_WITNESS_DIR",
    "QGOV_WORK_POOL",
    "QGOV_SMTP_HOST",
    "QGOV_SMTP_PORT",
    "QGOV_SMTP_FROM",
    "QGOV_SMTP_USER",
    "QGOV_SMTP_PASSWORD",
    "QGOV_SMTP_STARTTLS",
)


class SmtpSettings(BaseModel):
    """Where decision e-mails go out (``governance.mailer``)."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    sender: str
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = False


class Settings(BaseModel):
    """Everything qgov needs to know about where it runs."""

    model_config = ConfigDict(frozen=True)

    home: Path
    database_url: str
    storage_url: str
    key_file: Path
    kek_json: SecretStr | None = None
    signing_key_file: Path
    signing_key: SecretStr | None = None
    # Who acts: set in-process only (the server, after authentication); None means the
    # person mapped to this process's operating-system account, or ``acting_as`` (qgov --as).
    user: str | None = None
    acting_as: str | None = None
    s3_endpoint_url: str | None = None
    policy_dir: Path | None = None
    server_url: str | None = None
    token: SecretStr | None = None
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_client_secret: SecretStr | None = None
    witness_dir: Path
    work_pool: str | None = None  # None: flows run in this process (Prefect's ephemeral mode)
    smtp: SmtpSettings | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def storage_options(self) -> dict[str, object]:
        if self.storage_url.startswith("s3://") and self.s3_endpoint_url:
            return {"client_kwargs": {"endpoint_url": self.s3_endpoint_url}}
        return {}

    def redacted(self) -> dict[str, str]:
        """The settings as a user may see them (no secrets, no passwords)."""
        from sqlalchemy.engine import make_url

        return {
            "home": str(self.home),
            "database_url": make_url(self.database_url).render_as_string(hide_password=True),
            "storage_url": self.storage_url,
            "key": "QGOV_KEK (environment)" if self.kek_json else str(self.key_file),
            "signing_key": "QGOV_SIGNING_KEY (environment)" if self.signing_key else str(self.signing_key_file),
            "user": self.user or "the person mapped to this operating-system account",
            "witness_dir": str(self.witness_dir),
            "smtp": f"{self.smtp.host}:{self.smtp.port} from {self.smtp.sender}" if self.smtp else "not configured",
        }


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    home = Path(env.get("QGOV_HOME") or ".qgov").expanduser().resolve()
    database_url = env.get("QGOV_DATABASE_URL") or f"sqlite:///{home / 'qgov.db'}"
    if not database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(
            f"QGOV_DATABASE_URL: expected sqlite:///PATH or postgresql+psycopg://…, got {database_url.split(':', 1)[0]}://…"
        )
    if database_url.startswith("postgresql://") or database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.split("://", 1)[1]
    storage_url = env.get("QGOV_STORAGE_URL") or str(home / "blobs")
    server_url = (env.get("QGOV_URL") or "").rstrip("/") or None
    token = env.get("QGOV_TOKEN") or None
    if server_url and not server_url.startswith(("https://", "http://127.", "http://localhost", "http://[::1]")):
        raise ConfigError(f"QGOV_URL: expected an https:// URL (plain http only on loopback), got {server_url}")
    if server_url and not token:
        raise ConfigError("QGOV_TOKEN: required with QGOV_URL (ask an admin: qgov token create YOU)")
    issuer = (env.get("QGOV_OIDC_ISSUER") or "").rstrip("/") or None
    audience = env.get("QGOV_OIDC_AUDIENCE") or None
    if issuer and not audience:
        raise ConfigError("QGOV_OIDC_AUDIENCE: required with QGOV_OIDC_ISSUER (the client id tokens are issued to)")
    if issuer and not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"QGOV_OIDC_ISSUER: expected an https:// URL (plain http only on loopback), got {issuer}")
    kek = env.get("QGOV_KEK")
    signing_key = env.get("QGOV_SIGNING_KEY")
    return Settings(
        home=home,
        database_url=database_url,
        storage_url=storage_url,
        key_file=Path(env.get("QGOV_KEY_FILE") or home / "keys" / "kek.json").expanduser(),
        kek_json=SecretStr(kek) if kek else None,
        signing_key_file=Path(env.get("QGOV_SIGNING_KEY_FILE") or home / "keys" / "checkpoint.key").expanduser(),
        signing_key=SecretStr(signing_key) if signing_key else None,
        s3_endpoint_url=env.get("QGOV_S3_ENDPOINT_URL") or None,
        policy_dir=Path(env["QGOV_POLICY_DIR"]).expanduser() if env.get("QGOV_POLICY_DIR") else None,
        server_url=server_url,
        token=SecretStr(token) if token else None,
        oidc_issuer=issuer,
        oidc_audience=audience,
        oidc_username_claim=env.get("QGOV_OIDC_USERNAME_CLAIM") or "preferred_username",
        oidc_client_secret=SecretStr(env["QGOV_OIDC_CLIENT_SECRET"]) if env.get("QGOV_OIDC_CLIENT_SECRET") else None,
        witness_dir=Path(env.get("QGOV_WITNESS_DIR") or home / "witness").expanduser(),
        work_pool=(env.get("QGOV_WORK_POOL") or "").strip() or None,
        smtp=_smtp(env),
    )


_YES = {"1": True, "yes": True, "true": True, "on": True, "0": False, "no": False, "false": False, "off": False}


def _smtp(env: Mapping[str, str]) -> SmtpSettings | None:
    host = (env.get("QGOV_SMTP_HOST") or "").strip()
    if not host:
        for name in ("QGOV_SMTP_FROM", "QGOV_SMTP_USER", "QGOV_SMTP_PASSWORD"):
            if env.get(name):
                raise ConfigError(f"{name}: set QGOV_SMTP_HOST too (the mail server), or unset {name}")
        return None
    starttls_text = (env.get("QGOV_SMTP_STARTTLS") or "no").strip().lower()
    if starttls_text not in _YES:
        raise ConfigError(f"QGOV_SMTP_STARTTLS: expected yes or no, got {starttls_text!r}")
    starttls = _YES[starttls_text]
    port_text = (env.get("QGOV_SMTP_PORT") or ("587" if starttls else "25")).strip()
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ConfigError(f"QGOV_SMTP_PORT: expected a port number from 1 to 65535, got {port_text!r}")
    sender = (env.get("QGOV_SMTP_FROM") or "").strip()
    if not sender:
        raise ConfigError("QGOV_SMTP_FROM: required with QGOV_SMTP_HOST (the address decision e-mails come from)")
    from governance.email_address import check_email

    check_email(sender, "QGOV_SMTP_FROM", ConfigError)
    user = env.get("QGOV_SMTP_USER") or None
    password = env.get("QGOV_SMTP_PASSWORD") or None
    if password and not user:
        raise ConfigError("QGOV_SMTP_PASSWORD: set QGOV_SMTP_USER too (the login the password belongs to)")
    return SmtpSettings(
        host=host,
        port=int(port_text),
        sender=sender,
        user=user,
        password=SecretStr(password) if password else None,
        starttls=starttls,
    )


__all__ = ["SETTINGS_VARIABLES", "Settings", "SmtpSettings", "load_settings"]
