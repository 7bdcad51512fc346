"""Tables of compliance operations: anomaly scans and alerts, incidents and their deadlines.

Registered on the shared MetaData (``governance.tables`` imports this module), so the one
Alembic history (revision 0024) creates them. The log holds the events; these rows are what
the queue and reports read.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, ForeignKey, Integer, String, Table, Text

from lineage.schema import metadata

anomaly_scans = Table(
    "anomaly_scans",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
    Column("alerts", Integer, nullable=False),
    Column("notes", JSON, nullable=False),
    Column("scanned_by", String(256), nullable=False),
    Column("scanned_at", DateTime(timezone=True), nullable=False),
)

# One row per distinct finding: ``key`` (rule, person, anchor) makes a re-scan idempotent.
anomaly_alerts = Table(
    "anomaly_alerts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("scan_id", String(36), ForeignKey("anomaly_scans.id"), nullable=False),
    Column("rule", String(32), nullable=False, index=True),
    Column("person", String(256), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("reviewer", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Column("evidence", JSON, nullable=False),  # [{"seq", "event_id"}]
    Column("score", Float, nullable=True),
    Column("status", String(16), nullable=False, index=True),  # open | dismissed | incident
    Column("incident_id", String(36), nullable=True),
    Column("resolution", Text, nullable=True),
    Column("resolved_by", String(256), nullable=True),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", Text, nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(16), nullable=False, index=True),  # open | contained | closed
    Column("person", String(256), nullable=True),
    Column("alert_id", String(36), nullable=True),
    Column("began_at", DateTime(timezone=True), nullable=True),  # the first evidence
    Column("detected_at", DateTime(timezone=True), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(256), nullable=False),
    Column("contained_at", DateTime(timezone=True), nullable=True),
    Column("containment", JSON, nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("closed_by", String(256), nullable=True),
    Column("remediation", Text, nullable=True),
    Column("report", JSON, nullable=True),
)

incident_deadlines = Table(
    "incident_deadlines",
    metadata,
    Column("incident_id", String(36), ForeignKey("incidents.id"), primary_key=True),
    Column("deadline", String(64), primary_key=True),  # the policy's deadline id
    Column("text", Text, nullable=False),
    Column("citation", Text, nullable=False),
    Column("status", String(1), nullable=False),  # V | P | U, as the policy marks it
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("reminded", JSON, nullable=False),  # days-before marks already reminded, and "overdue"
    Column("met_at", DateTime(timezone=True), nullable=True),
    Column("met_by", String(256), nullable=True),
    Column("note", Text, nullable=True),
)

# Training notices already given (a reminder at each mark, one lapse), per completion date, so a
# daily sweep says each thing once; a new completion date starts afresh.
training_notices = Table(
    "training_notices",
    metadata,
    Column("person", String(256), primary_key=True),
    Column("completed_on", String(10), primary_key=True),
    Column("notice", String(16), primary_key=True),  # a days-before mark, or "lapsed"
    Column("at", DateTime(timezone=True), nullable=False),
)

# Appeals of denied access requests: one per request, decided by an officer other than the
# one who denied it (and never the requester).
appeals = Table(
    "appeals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("access_requests.id"), nullable=False, unique=True),
    Column("appellant", String(256), nullable=False, index=True),
    Column("grounds", Text, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),  # pending | upheld | granted
    Column("decided_by", String(256), nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("reason", Text, nullable=True),
    Column("grant_id", String(36), nullable=True),
)

# End-use attestations: the holder of a grant of controlled data confirms its use matches the
# approved purpose; notices (due, suspended) are said once per attestation period.
attestations = Table(
    "attestations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("grant_id", String(36), ForeignKey("grants.id"), nullable=False, index=True),
    Column("person", String(256), nullable=False),
    Column("statement", Text, nullable=False),
    Column("attested_at", DateTime(timezone=True), nullable=False),
)

end_use_notices = Table(
    "end_use_notices",
    metadata,
    Column("grant_id", String(36), primary_key=True),
    Column("period_start", DateTime(timezone=True), primary_key=True),
    Column("notice", String(16), primary_key=True),  # due | suspended
    Column("at", DateTime(timezone=True), nullable=False),
)

# The vendor risk register (docs/adr/0035): third parties data passes through. ``covers`` names
# the storage URL prefixes and endpoint URLs the vendor operates; it is how the store's storage
# backend and an access request's vendor are joined to this row.
vendors = Table(
    "vendors",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("kind", String(32), nullable=False),  # cloud_storage | quantum_processor | collaboration
    Column("jurisdiction", String(2), nullable=False),  # ISO 3166 country of the vendor's service
    Column("max_classification", String(16), nullable=False),  # the highest classification it may receive
    Column("controlled", Boolean, nullable=False),  # whether controlled data may go to it at all
    Column("covers", JSON, nullable=False),  # ["s3://bucket/prefix", "https://host:port", ...]
    Column("risk_tier", String(8), nullable=True),  # low | medium | high, set by an assessment
    Column("assessed_at", DateTime(timezone=True), nullable=True),
    Column("assessed_by", String(256), nullable=True),
    Column("review_due", DateTime(timezone=True), nullable=True),
    Column("findings", Text, nullable=True),
    Column("status", String(16), nullable=False),  # active | retired
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(256), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

# Violations recorded against a person, with a sanction from the policy's list and remediation
# steps (each with a due date and, once done, who recorded it).
violations = Table(
    "violations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("person", String(256), nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("evidence", JSON, nullable=False),  # event ids in the log
    Column("sanction", String(64), nullable=False),
    Column("remediation", JSON, nullable=False),  # [{"step", "due_on", "done_at", "done_by", "note"}]
    Column("status", String(16), nullable=False),  # open | remediated
    Column("recorded_by", String(256), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

__all__ = [
    "anomaly_alerts",
    "anomaly_scans",
    "appeals",
    "attestations",
    "end_use_notices",
    "incident_deadlines",
    "incidents",
    "training_notices",
    "vendors",
    "violations",
]
