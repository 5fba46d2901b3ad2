"""Foundation: committed appservice transactions, the archive, consumer cursors.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "as_transactions",
        sa.Column("txn_id", sa.String(255), primary_key=True),
        sa.Column("received_ts", sa.BigInteger, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "archive_events",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("state_key", sa.String(255), nullable=True),
        sa.Column("origin_ts", sa.BigInteger, nullable=False),
        sa.Column("received_ts", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("row_hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_index("ix_archive_room_ts", "archive_events", ["room_id", "origin_ts"])
    op.create_index("ix_archive_sender_ts", "archive_events", ["sender", "origin_ts"])
    op.create_table(
        "consumer_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_cursors")
    op.drop_index("ix_archive_sender_ts", "archive_events")
    op.drop_index("ix_archive_room_ts", "archive_events")
    op.drop_table("archive_events")
    op.drop_table("as_transactions")
