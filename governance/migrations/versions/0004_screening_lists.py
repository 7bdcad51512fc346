"""screening lists

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_screenings",
        sa.Column("person", sa.String(length=256), nullable=False),
        sa.Column("list_version", sa.String(length=64), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person", name=op.f("pk_person_screenings")),
    )
    op.create_table(
        "screening_lists",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_screening_lists")),
    )


def downgrade() -> None:
    op.drop_table("screening_lists")
    op.drop_table("person_screenings")
