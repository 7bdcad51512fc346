"""Catalog tables: datasets, stored objects, artifacts, quarantine and ingest runs.

The provenance tables live in :mod:`lineage.schema`; both share one MetaData so that
one Alembic history creates them all.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from lineage.schema import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("owner", String(256), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("kind", String(32), nullable=False),
    Column("subject", JSON, nullable=False),
    Column("research", JSON, nullable=False),
    Column("sponsor", String(256), nullable=True),
    Column("published", Boolean, nullable=False, default=False),
    Column("catalog_course", Boolean, nullable=False, default=False),
    Column("expectations", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Jurisdictions whose rules apply (the lab's own and each collaborator's); NULL: the lab's own.
    Column("jurisdictions", JSON, nullable=True),
)

# One row per distinct plaintext (content address). The wrapped data key lives here and
# nowhere else: destroying it is crypto-shredding.
blobs = Table(
    "blobs",
    metadata,
    Column("object_id", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("ciphertext_size", BigInteger, nullable=False),
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("kek_key_id", BigInteger, nullable=True, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True), nullable=True),
)

# The key-encryption keys rotation has known, by Tink key id: the one data keys must be
# wrapped under now ("primary"), those a rotation is moving data keys off ("retiring") and
# those dropped from the key file ("retired"). A commit checks its wrapped keys against
# this under the log head lock, so no writer holding an old key file can lose data.
kek_keys = Table(
    "kek_keys",
    metadata,
    Column("key_id", BigInteger, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("path", String(1024), nullable=False),
    Column("sha256", String(64), ForeignKey("blobs.object_id"), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("format", JSON, nullable=False),
    Column("source", JSON, nullable=False),
    Column("ingest_run_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The effective export-control classification (automatic, inherited or an officer's
    # override) and the decision that set it; the history is in `classifications`.
    Column("kind", String(32), nullable=True),
    Column("classification", String(32), nullable=True, index=True),
    Column("controlled", Boolean, nullable=True),
    Column("classification_basis", String(16), nullable=True),
    Column("classification_decision", String(36), nullable=True),
    Column("declassified", Boolean, nullable=False, default=False, server_default=false()),
    # A deleted artifact stays as a tombstone (id, hash, classification, dates), never its data.
    Column("deleted_at", DateTime(timezone=True), nullable=True),
    Column("deleted_by", String(256), nullable=True),
    Column("deletion_certificate", String(36), nullable=True),
    UniqueConstraint("dataset_id", "path", "sha256", name="uq_artifacts_dataset_path_sha"),
)

# Every classification decision ever made about an artifact: automatic (with the full
# evaluator output), inherited from inputs, or an officer's override or declassification.
classifications = Table(
    "classifications",
    metadata,
    Column("decision_id", String(36), primary_key=True),
    Column("artifact_id", String(36), ForeignKey("artifacts.id"), nullable=False, index=True),
    Column("source", String(16), nullable=False),
    Column("classification", String(32), nullable=False),
    Column("controlled", Boolean, nullable=True),
    Column("jurisdiction", String(32), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("result", JSON, nullable=False),
    Column("reason", Text, nullable=True),
    Column("decided_by", String(256), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("path", String(1024), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("report", JSON, nullable=False),
    Column("ingest_run_id", String(36), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("dataset_id", "path", "sha256", name="uq_quarantine_dataset_path_sha"),
)

ingest_runs = Table(
    "ingest_runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("source", String(2048), nullable=False),
    Column("status", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("counts", JSON, nullable=False),
)

# Who holds which role. Access grants (a later capability) build on this; until then
# the admin role is what lets a person decrypt.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("person", String(256), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("granted_by", String(256), nullable=False),
)

# The people who act and who request data: the facts access rules need.
people = Table(
    "people",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("citizenships", JSON, nullable=False),
    Column("us_permanent_resident", Boolean, nullable=False),
    Column("permanent_residence", String(2), nullable=True),
    Column("location", String(2), nullable=False),
    Column("affiliation", String(512), nullable=False),
    Column("training_completed_on", String(10), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("email", String(254), nullable=True),  # where decision notifications are mailed
)

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("requester", String(256), ForeignKey("people.name"), nullable=False, index=True),
    Column("artifacts", JSON, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("destination", String(2), nullable=False),
    Column("duration_days", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # queued | info_requested | granted | denied
    Column("outcome", String(20), nullable=False),  # the automatic decision
    Column("decision", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(256), nullable=True),
    Column("licence", String(256), nullable=True),
    Column("reason", Text, nullable=True),
    # an officer's question and the requester's answer (status info_requested while waiting)
    Column("info_question", Text, nullable=True),
    Column("info_answer", Text, nullable=True),
    Column("info_requested_at", DateTime(timezone=True), nullable=True),
    # time spent waiting for the requester: kept out of the review SLA
    Column("review_paused_seconds", Float, nullable=False, server_default=text("0")),
)

# one row per decision event the e-mail sender has handled (governance.mailer)
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("request_id", String(36), nullable=True),
    Column("status", String(16), nullable=False, index=True),  # sent | failed | no_address | skipped
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

grants = Table(
    "grants",
    metadata,
    Column("id", String(36), primary_key=True),
    # One grant per request, enforced by the database: two approvals racing cannot make two.
    Column("request_id", String(36), ForeignKey("access_requests.id"), nullable=False, unique=True),
    Column("person", String(256), nullable=False, index=True),
    Column("artifacts", JSON, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("licence", String(256), nullable=True),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("suspended_at", DateTime(timezone=True), nullable=True),
    Column("expired_recorded", Boolean, nullable=False, default=False, server_default=false()),
)

# Every restricted-party list ever loaded, kept whole and versioned; the newest is in force.
screening_lists = Table(
    "screening_lists",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("source", String(512), nullable=False),
    Column("format", String(8), nullable=False),
    Column("content", Text, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    Column("loaded_by", String(256), nullable=False),
)

# The latest screening result of each person (name and affiliation), to notice new hits.
person_screenings = Table(
    "person_screenings",
    metadata,
    Column("person", String(256), primary_key=True),
    Column("list_version", String(64), nullable=False),
    Column("hits", JSON, nullable=False),
    Column("screened_at", DateTime(timezone=True), nullable=False),
)

# An officer's finding that a screening match is a false positive: it holds for that person,
# that listed entry and that list version only (a new list version screens afresh).
screening_clearances = Table(
    "screening_clearances",
    metadata,
    Column("person", String(256), primary_key=True),
    Column("entry_id", String(256), primary_key=True),
    Column("list_version", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("cleared_by", String(256), nullable=False),
    Column("cleared_at", DateTime(timezone=True), nullable=False),
)

# Differential privacy: each dataset's profile and budget (exact fractions as "n/d" text),
# the append-only ledger of every reservation, commit and refund, and the releases.
privacy_budgets = Table(
    "privacy_budgets",
    metadata,
    Column("dataset_id", String(36), ForeignKey("datasets.id"), primary_key=True),
    Column("epsilon", String(128), nullable=False),
    Column("delta", String(128), nullable=False),
    Column("spent_epsilon", String(128), nullable=False),
    Column("spent_delta", String(128), nullable=False),
    Column("reserved_epsilon", String(128), nullable=False),
    Column("reserved_delta", String(128), nullable=False),
    Column("contributions", Integer, nullable=False),
    Column("columns", JSON, nullable=False),
    Column("source", String(16), nullable=False),  # policy | data_manager
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", String(256), nullable=False),
)

privacy_ledger = Table(
    "privacy_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("release_id", String(36), nullable=True, index=True),
    Column("entry", String(16), nullable=False),  # total | reserve | commit | refund
    Column("epsilon", String(128), nullable=False),
    Column("delta", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(256), nullable=False),
    Column("reason", Text, nullable=True),
)

releases = Table(
    "releases",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False, index=True),
    Column("artifact_id", String(36), ForeignKey("artifacts.id"), nullable=False),
    Column("query_key", String(64), nullable=False, index=True),
    Column("query", JSON, nullable=False),
    Column("epsilon", String(128), nullable=False),
    Column("delta", String(128), nullable=False),
    Column("requester", String(256), nullable=False),
    Column("purpose", Text, nullable=False),
    # review | approved | denied | refused | reserved | released | failed
    Column("status", String(16), nullable=False, index=True),
    Column("decision", JSON, nullable=False),
    Column("result", JSON, nullable=True),
    Column("error", Text, nullable=True),
    Column("classification", String(32), nullable=True),
    Column("reviewed_by", String(256), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Legal holds: on an artifact, a dataset or a person. A hold covers its target and everything
# upstream of it in the lineage (computed when asked, so lineage recorded later counts too).
legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("scope", String(16), nullable=False),  # artifact | dataset | person
    Column("target", String(256), nullable=False, index=True),  # artifact id, dataset id, person name
    Column("reason", Text, nullable=False),
    Column("placed_by", String(256), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True), nullable=True),
    Column("released_by", String(256), nullable=True),
    Column("release_reason", Text, nullable=True),
)

# Signed deletion certificates (the document and its Ed25519 signature by the log's key).
deletion_certificates = Table(
    "deletion_certificates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("signature", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Personal access tokens: only a SHA-256 of the secret is kept (governance.identity).
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("person", String(256), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_by", String(256), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)

# Local accounts (governance.accounts): an Argon2id password hash and a TOTP secret sealed
# under the key-encryption key; the last accepted TOTP step stops a code being replayed.
local_accounts = Table(
    "local_accounts",
    metadata,
    Column("person", String(256), primary_key=True),
    Column("password_hash", String(256), nullable=False),
    Column("totp_secret", LargeBinary, nullable=False),
    Column("totp_last_step", BigInteger, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# The operating-system account the embedded command line maps to a person (one each way);
# a person needs no registered facts to be mapped (the first admin at qgov init).
os_accounts = Table(
    "os_accounts",
    metadata,
    Column("account", String(256), primary_key=True),
    Column("person", String(256), nullable=False, unique=True),
    Column("mapped_at", DateTime(timezone=True), nullable=False),
    Column("mapped_by", String(256), nullable=False),
)

# Published policy sets (governance.policy_store): the one with the highest version is in
# force for every recorded decision; ``files`` holds the YAML texts it was published from.
policy_bundles = Table(
    "policy_bundles",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("files", JSON, nullable=False),
    Column("published_by", String(256), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=False, default=""),
)

ROLES = ("data_manager", "researcher", "export_control_officer", "auditor", "admin")

__all__ = [
    "ROLES",
    "api_tokens",
    "local_accounts",
    "os_accounts",
    "policy_bundles",
    "deletion_certificates",
    "legal_holds",
    "privacy_budgets",
    "privacy_ledger",
    "releases",
    "person_screenings",
    "screening_clearances",
    "screening_lists",
    "access_requests",
    "grants",
    "people",
    "classifications",
    "role_assignments",
    "artifacts",
    "blobs",
    "kek_keys",
    "datasets",
    "ingest_runs",
    "metadata",
    "quarantine",
]

import governance.compliance_tables  # noqa: E402, F401 - registers the compliance tables on the same MetaData
