"""kek_keys: the key-encryption keys a rotation has recorded (primary, retiring, retired)

Commits check the key id of every data key they store against this table under the log
head lock, and rotation retires a key here in the same transaction that finds nothing
left under it (ADR 0015). An existing store starts with no rows: its first rotation
records them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kek_keys",
        sa.Column("key_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_kek_keys")),
    )


def downgrade() -> None:
    op.drop_table("kek_keys")
