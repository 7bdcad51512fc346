"""e-mail addresses, e-mail deliveries of decision notifications, officers' questions

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

A person may have an e-mail address; each decision event the notification sender has looked
at gets one row in ``notification_deliveries`` (sent, failed with the attempts so far, or no
address). A store upgraded to this revision gets one ``skipped`` row at the log's head, so
decisions recorded before it are never mailed. A request waiting for the requester's answer
to an officer's question is ``info_requested``; the time it waits is kept out of the SLA.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("access_requests", sa.Column("info_question", sa.Text(), nullable=True))
    op.add_column("access_requests", sa.Column("info_answer", sa.Text(), nullable=True))
    op.add_column("access_requests", sa.Column("info_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "access_requests",
        sa.Column("review_paused_seconds", sa.Float(), nullable=False, server_default=sa.text("0")),
    )
    deliveries = op.create_table(
        "notification_deliveries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_notification_deliveries")),
    )
    op.create_index(op.f("ix_notification_deliveries_status"), "notification_deliveries", ["status"], unique=False)
    head = op.get_bind().execute(sa.text("SELECT max(seq) FROM events")).scalar()
    if head is not None:
        op.bulk_insert(
            deliveries,
            [{"seq": head, "status": "skipped", "attempts": 0, "updated_at": datetime.now(UTC)}],
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_notification_deliveries_status"), table_name="notification_deliveries")
    op.drop_table("notification_deliveries")
    op.drop_column("access_requests", "review_paused_seconds")
    op.drop_column("access_requests", "info_requested_at")
    op.drop_column("access_requests", "info_answer")
    op.drop_column("access_requests", "info_question")
    op.drop_column("people", "email")
