"""screening clearances: an officer's false-positive finding per person, entry and list version

Revision ID: 0023
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_clearances",
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("entry_id", sa.String(length=256), nullable=False),
        sa.Column("list_version", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cleared_by", sa.String(length=256), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person", "entry_id", "list_version", name=op.f("pk_screening_clearances")),
    )


def downgrade() -> None:
    op.drop_table("screening_clearances")
