"""published policy sets, and the operating-system account each person is mapped to

Revision ID: 0025
Revises: 0019
Create Date: 2026-12-07

A store upgraded to this revision has no published policy set until ``qgov init`` runs
again (it publishes the built-in bundles as version 1) or an admin runs ``qgov policy
publish``; until then recorded decisions refuse instead of reading a caller's directory.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_bundles",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("published_by", sa.String(length=256), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_bundles")),
    )
    op.create_index(op.f("ix_policy_bundles_sha256"), "policy_bundles", ["sha256"], unique=False)
    op.create_table(
        "os_accounts",
        sa.Column("account", sa.String(length=256), nullable=False),
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("mapped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mapped_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_os_accounts")),
        sa.UniqueConstraint("person", name=op.f("uq_os_accounts_person")),
    )


def downgrade() -> None:
    op.drop_table("os_accounts")
    op.drop_index(op.f("ix_policy_bundles_sha256"), table_name="policy_bundles")
    op.drop_table("policy_bundles")
