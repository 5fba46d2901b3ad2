"""Accounts that still have their mailed initial password.

Revision ID: 0016 (the file is numbered 0009, its place in the chain; the id is the one
databases upgraded before the files were renamed already record, so it stays)
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "initial_passwords",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("set_ts", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("initial_passwords")
