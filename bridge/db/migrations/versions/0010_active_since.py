"""When each account became active (created, or last reactivated).

Reports expect a person only from the start of their account (or its reactivation) until
its deactivation; `created_ts` is kept across reactivations, so the start of the current
stretch needs its own column. Existing rows start at their `created_ts`.

Revision ID: 0014 (the file is numbered 0010, its place in the chain; the id is the one
databases upgraded before the files were renamed already record, so it stays)
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add directory_users.active_since_ts, filled from created_ts."""
    with op.batch_alter_table("directory_users") as batch:
        batch.add_column(sa.Column("active_since_ts", sa.BigInteger(), nullable=True))
    op.execute("UPDATE directory_users SET active_since_ts = created_ts")


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("directory_users") as batch:
        batch.drop_column("active_since_ts")
