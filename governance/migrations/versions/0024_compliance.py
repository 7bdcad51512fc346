"""compliance operations: anomaly alerts, incidents, training notices, appeals, end-use attestations

Revision ID: 0024
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anomaly_scans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("scanned_by", sa.String(length=256), nullable=False),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_scans")),
    )
    op.create_table(
        "anomaly_alerts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("scan_id", sa.String(length=36), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("reviewer", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=256), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["anomaly_scans.id"], name=op.f("fk_anomaly_alerts_scan_id_anomaly_scans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomaly_alerts")),
        sa.UniqueConstraint("key", name=op.f("uq_anomaly_alerts_key")),
    )
    op.create_index(op.f("ix_anomaly_alerts_person"), "anomaly_alerts", ["person"])
    op.create_index(op.f("ix_anomaly_alerts_rule"), "anomaly_alerts", ["rule"])
    op.create_index(op.f("ix_anomaly_alerts_status"), "anomaly_alerts", ["status"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=True),
        sa.Column("alert_id", sa.String(length=36), nullable=True),
        sa.Column("began_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=256), nullable=False),
        sa.Column("contained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("containment", sa.JSON(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=256), nullable=True),
        sa.Column("remediation", sa.Text(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"])
    op.create_table(
        "incident_deadlines",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("deadline", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citation", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=1), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded", sa.JSON(), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_by", sa.String(length=256), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_deadlines_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "deadline", name=op.f("pk_incident_deadlines")),
    )
    op.create_table(
        "training_notices",
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("completed_on", sa.String(length=10), nullable=False),
        sa.Column("notice", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person", "completed_on", "notice", name=op.f("pk_training_notices")),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("appellant", sa.String(length=256), nullable=False),
        sa.Column("grounds", sa.Text(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=256), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("grant_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["access_requests.id"], name=op.f("fk_appeals_request_id_access_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
        sa.UniqueConstraint("request_id", name=op.f("uq_appeals_request_id")),
    )
    op.create_index(op.f("ix_appeals_appellant"), "appeals", ["appellant"])
    op.create_table(
        "attestations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("attested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["grants.id"], name=op.f("fk_attestations_grant_id_grants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
    )
    op.create_index(op.f("ix_attestations_grant_id"), "attestations", ["grant_id"])
    op.create_table(
        "end_use_notices",
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grant_id", "period_start", "notice", name=op.f("pk_end_use_notices")),
    )


def downgrade() -> None:
    op.drop_table("end_use_notices")
    op.drop_index(op.f("ix_attestations_grant_id"), table_name="attestations")
    op.drop_table("attestations")
    op.drop_index(op.f("ix_appeals_appellant"), table_name="appeals")
    op.drop_table("appeals")
    op.drop_table("training_notices")
    op.drop_table("incident_deadlines")
    op.drop_index(op.f("ix_incidents_status"), table_name="incidents")
    op.drop_table("incidents")
    for name in ("status", "rule", "person"):
        op.drop_index(op.f(f"ix_anomaly_alerts_{name}"), table_name="anomaly_alerts")
    op.drop_table("anomaly_alerts")
    op.drop_table("anomaly_scans")
