"""Direct messages (registry and participants) and the call log.

Revision ID: 0006
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dm_rooms",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dm_members",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("membership", sa.String(16), nullable=False),
        sa.Column("first_ts", sa.BigInteger, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_dm_members_user", "dm_members", ["user_id"])
    op.create_table(
        "calls",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("call_id", sa.String(255), primary_key=True),
        sa.Column("caller", sa.String(255), nullable=False),
        sa.Column("callee", sa.String(255), nullable=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("lifetime_ms", sa.BigInteger, nullable=False),
        sa.Column("joined_members", sa.Integer, nullable=False),
        sa.Column("invite_event_id", sa.String(255), nullable=False),
        sa.Column("invite_ts", sa.BigInteger, nullable=False),
        sa.Column("answer_ts", sa.BigInteger, nullable=True),
        sa.Column("answered_by", sa.String(255), nullable=True),
        sa.Column("reject_ts", sa.BigInteger, nullable=True),
        sa.Column("rejected_by", sa.String(255), nullable=True),
        sa.Column("hangup_ts", sa.BigInteger, nullable=True),
        sa.Column("hangup_by", sa.String(255), nullable=True),
        sa.Column("hangup_reason", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("notice_event_id", sa.String(255), nullable=True),
    )
    op.create_index("ix_calls_invite_ts", "calls", ["invite_ts"])
    op.create_index("ix_calls_outcome", "calls", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_calls_outcome", "calls")
    op.drop_index("ix_calls_invite_ts", "calls")
    op.drop_table("calls")
    op.drop_index("ix_dm_members_user", "dm_members")
    op.drop_table("dm_members")
    op.drop_table("dm_rooms")
