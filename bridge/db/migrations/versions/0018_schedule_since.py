"""Since when each person is on their schedule.

Reports expect a person for a shift only when it overlaps the time their account was
active *and on that schedule*: someone moved from days to nights on Wednesday is not
missing from Monday's night shift. Existing rows are taken to have been on their schedule
since their account's current active stretch began.

Revision ID: 0018
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add directory_users.schedule_since_ts, filled from active_since_ts (or created_ts)."""
    with op.batch_alter_table("directory_users") as batch:
        batch.add_column(sa.Column("schedule_since_ts", sa.BigInteger(), nullable=True))
    op.execute("UPDATE directory_users SET schedule_since_ts = COALESCE(active_since_ts, created_ts)")


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("directory_users") as batch:
        batch.drop_column("schedule_since_ts")
