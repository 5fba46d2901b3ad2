"""Compliance evidence: backup records and the last result of each safeguard check.

Revision ID: 0017 (the file is numbered 0008, its place in the chain; the id is the one
databases upgraded before the files were renamed already record, so it stays)
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("includes_key", sa.Boolean, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
    )
    op.create_index("ix_backup_records_created", "backup_records", ["created_ts"])
    op.create_table(
        "safeguard_checks",
        sa.Column("check_id", sa.String(64), primary_key=True),
        sa.Column("last_result", sa.String(8), nullable=False),
        sa.Column("last_run_ts", sa.BigInteger, nullable=False),
        sa.Column("last_pass_ts", sa.BigInteger, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("safeguard_checks")
    op.drop_index("ix_backup_records_created", table_name="backup_records")
    op.drop_table("backup_records")
