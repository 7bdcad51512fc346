"""differential privacy: budgets, ledger, releases

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_budgets",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("epsilon", sa.String(length=128), nullable=False),
        sa.Column("delta", sa.String(length=128), nullable=False),
        sa.Column("spent_epsilon", sa.String(length=128), nullable=False),
        sa.Column("spent_delta", sa.String(length=128), nullable=False),
        sa.Column("reserved_epsilon", sa.String(length=128), nullable=False),
        sa.Column("reserved_delta", sa.String(length=128), nullable=False),
        sa.Column("contributions", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_privacy_budgets_dataset_id_datasets")),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_privacy_budgets")),
    )
    op.create_table(
        "privacy_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("release_id", sa.String(length=36), nullable=True),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("epsilon", sa.String(length=128), nullable=False),
        sa.Column("delta", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_privacy_ledger_dataset_id_datasets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_ledger")),
    )
    with op.batch_alter_table("privacy_ledger", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_privacy_ledger_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_privacy_ledger_release_id"), ["release_id"], unique=False)
    op.create_table(
        "releases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("artifact_id", sa.String(length=36), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("epsilon", sa.String(length=128), nullable=False),
        sa.Column("delta", sa.String(length=128), nullable=False),
        sa.Column("requester", sa.String(length=256), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("classification", sa.String(length=32), nullable=True),
        sa.Column("reviewed_by", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["artifact_id"], ["artifacts.id"], name=op.f("fk_releases_artifact_id_artifacts")),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"], name=op.f("fk_releases_dataset_id_datasets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_releases_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_releases_query_key"), ["query_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_releases_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("releases")
    op.drop_table("privacy_ledger")
    op.drop_table("privacy_budgets")
