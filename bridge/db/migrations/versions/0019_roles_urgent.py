"""Roles on shift (rota, assignments, holders, role rooms), urgent messages and away status.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the six tables."""
    op.create_table(
        "role_rota",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("ref", sa.String(255), nullable=False),
    )
    op.create_index("ix_role_rota_role_start", "role_rota", ["role", "start_ts"])
    op.create_table(
        "role_assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("start_ts", sa.BigInteger, nullable=False),
        sa.Column("end_ts", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("by_user", sa.String(255), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_role_assignments_role", "role_assignments", ["role", "end_ts"])
    op.create_table(
        "role_holders",
        sa.Column("role", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("since_ts", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
    )
    op.create_table(
        "role_rooms",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("requester", sa.String(255), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("target", "requester", name="uq_role_rooms_target_requester"),
    )
    op.create_table(
        "urgent_messages",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("role", sa.String(64), nullable=True),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("sent_ts", sa.BigInteger, nullable=False),
        sa.Column("repeat_ms", sa.BigInteger, nullable=False),
        sa.Column("escalate_ms", sa.BigInteger, nullable=True),
        sa.Column("escalate_to", sa.String(255), nullable=True),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("last_alert_ts", sa.BigInteger, nullable=True),
        sa.Column("read_ts", sa.BigInteger, nullable=True),
        sa.Column("read_by", sa.String(255), nullable=True),
        sa.Column("escalated_ts", sa.BigInteger, nullable=True),
        sa.Column("escalated_to", sa.JSON, nullable=True),
        sa.Column("escalation_room_id", sa.String(255), nullable=True),
        sa.Column("escalated_from", sa.String(255), nullable=True),
        sa.Column("cancelled", sa.Boolean, nullable=False),
        sa.Column("open", sa.Boolean, nullable=False),
    )
    op.create_index("ix_urgent_open", "urgent_messages", ["open"])
    op.create_index("ix_urgent_sent", "urgent_messages", ["sent_ts"])
    op.create_table(
        "away_status",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("since_ts", sa.BigInteger, nullable=False),
        sa.Column("until_ts", sa.BigInteger, nullable=True),
        sa.Column("forward_to", sa.String(255), nullable=True),
    )


def downgrade() -> None:
    """Drop the six tables."""
    op.drop_table("away_status")
    op.drop_index("ix_urgent_sent", table_name="urgent_messages")
    op.drop_index("ix_urgent_open", table_name="urgent_messages")
    op.drop_table("urgent_messages")
    op.drop_table("role_rooms")
    op.drop_table("role_holders")
    op.drop_index("ix_role_assignments_role", table_name="role_assignments")
    op.drop_table("role_assignments")
    op.drop_index("ix_role_rota_role_start", table_name="role_rota")
    op.drop_table("role_rota")
