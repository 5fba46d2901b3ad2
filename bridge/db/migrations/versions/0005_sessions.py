"""Login/logout compliance: sessions, failed logins, bot commands, posted alerts.

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(255), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=True),
        sa.Column("login_ts", sa.BigInteger, nullable=True),
        sa.Column("login_event_id", sa.String(255), nullable=True, unique=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("method", sa.String(64), nullable=True),
        sa.Column("logout_ts", sa.BigInteger, nullable=True),
        sa.Column("logout_event_id", sa.String(255), nullable=True, unique=True),
        sa.Column("close_reason", sa.String(32), nullable=True),
        sa.Column("closed_by", sa.String(255), nullable=True),
        sa.Column("close_detail", sa.String(64), nullable=True),
    )
    op.create_index("ix_sessions_user_login", "sessions", ["user_id", "login_ts"])
    op.create_index("ix_sessions_login", "sessions", ["login_ts"])
    op.create_index("ix_sessions_open", "sessions", ["logout_ts", "user_id"])
    op.create_table(
        "failed_logins",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=False, unique=True),
        sa.Column("user_id", sa.String(255), nullable=True),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_index("ix_failed_logins_ts", "failed_logins", ["ts"])
    op.create_table(
        "bot_commands",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("received_ts", sa.BigInteger, nullable=False),
        sa.Column("answered_ts", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "compliance_alerts",
        sa.Column("key", sa.String(191), primary_key=True),
        sa.Column("sent_ts", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.String(255), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("compliance_alerts")
    op.drop_table("bot_commands")
    op.drop_index("ix_failed_logins_ts", "failed_logins")
    op.drop_table("failed_logins")
    op.drop_index("ix_sessions_open", "sessions")
    op.drop_index("ix_sessions_login", "sessions")
    op.drop_index("ix_sessions_user_login", "sessions")
    op.drop_table("sessions")
