"""dataset jurisdictions: which jurisdictions' rules apply to a dataset (the lab's own and each collaborator's)

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for datasets registered before: the lab's own jurisdiction alone, as before.
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("jurisdictions", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("jurisdictions")
