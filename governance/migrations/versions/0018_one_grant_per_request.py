"""one grant per access request: a unique constraint on grants.request_id

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

A store where two racing approvals already made two grants for one request cannot take the
constraint: the upgrade stops and names the requests, for an officer to revoke the extra grant.
"""

import sqlalchemy as sa
from alembic import op

from qgov.errors import IntegrityError

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    twice = (
        op.get_bind()
        .execute(sa.text("SELECT request_id FROM grants GROUP BY request_id HAVING COUNT(*) > 1 ORDER BY request_id"))
        .scalars()
        .all()
    )
    if twice:
        raise IntegrityError(
            "grants: requests with more than one grant (revoke the extra ones, then migrate again): " + ", ".join(twice)
        )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_grants_request_id"), ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_grants_request_id"), type_="unique")
