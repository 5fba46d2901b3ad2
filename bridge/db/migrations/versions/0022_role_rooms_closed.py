"""Role rooms remember when they were closed: a role removed from the org file ends, and
its conversation rooms are closed read-only (kept, with their history), then reopened if
the role comes back.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """role_rooms.closed_ts: when the room was closed (NULL: open)."""
    with op.batch_alter_table("role_rooms") as batch:
        batch.add_column(sa.Column("closed_ts", sa.BigInteger, nullable=True))


def downgrade() -> None:
    """Drop the column (closed rooms stay read-only on Synapse)."""
    with op.batch_alter_table("role_rooms") as batch:
        batch.drop_column("closed_ts")
