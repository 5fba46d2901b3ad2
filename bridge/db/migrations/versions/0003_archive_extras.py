"""Archive extras: relations index, archived media, published chain heads, reconciliation marks.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_archive_room_seq", "archive_events", ["room_id", "seq"])
    op.create_index("ix_archive_sender_seq", "archive_events", ["sender", "seq"])
    op.create_table(
        "archive_relations",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("target_event_id", sa.String(255), nullable=False),
        sa.Column("rel_type", sa.String(64), nullable=False),
    )
    op.create_index("ix_archive_relations_target", "archive_relations", ["target_event_id", "seq"])
    op.create_table(
        "archive_media",
        sa.Column("mxc", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_ts", sa.BigInteger, nullable=False),
        sa.Column("last_error", sa.String(64), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("cipher_sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("path", sa.String(255), nullable=True),
        sa.Column("stored_ts", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_archive_media_due", "archive_media", ["status", "next_attempt_ts"])
    op.create_table(
        "archive_heads",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("row_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("published_ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "reconcile_marks",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("token", sa.String(255), nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reconcile_marks")
    op.drop_table("archive_heads")
    op.drop_index("ix_archive_media_due", "archive_media")
    op.drop_table("archive_media")
    op.drop_index("ix_archive_relations_target", "archive_relations")
    op.drop_table("archive_relations")
    op.drop_index("ix_archive_sender_seq", "archive_events")
    op.drop_index("ix_archive_room_seq", "archive_events")
