"""events: a hash-scheme version per event (1: qgov's canonical JSON, 2: RFC 8785 JCS)

Existing events keep version 1 and verify as before; qgov writes new events under version 2,
whose hash an auditor can recompute with any RFC 8785 implementation (ADR 0014).

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("hash_scheme", sa.SmallInteger(), nullable=False, server_default="1"))


def downgrade() -> None:
    # Events hashed under version 2 would no longer verify without their version: refuse.
    bind = op.get_bind()
    newer = bind.execute(sa.text("SELECT COUNT(*) FROM events WHERE hash_scheme <> 1")).scalar_one()
    if newer:
        raise RuntimeError(f"cannot downgrade below 0012: {newer} event(s) are hashed with RFC 8785 (scheme 2)")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash_scheme")
