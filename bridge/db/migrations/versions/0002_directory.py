"""The organisation directory: users, channels, channel members, schedules, settings.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_users",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("username", sa.String(255), nullable=False, unique=True),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("schedule", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("managed_by", sa.String(16), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
        sa.Column("deactivated_ts", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "directory_channels",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("alias", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("rights", sa.JSON, nullable=False),
        sa.Column("managed_by", sa.String(16), nullable=False),
        sa.Column("created_ts", sa.BigInteger, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
        sa.Column("closed_ts", sa.BigInteger, nullable=True),
    )
    op.create_table(
        "directory_channel_members",
        sa.Column("room_id", sa.String(255), primary_key=True),
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("access", sa.String(16), nullable=False),
    )
    op.create_index("ix_directory_channel_members_user", "directory_channel_members", ["user_id"])
    op.create_table(
        "directory_schedules",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "directory_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_ts", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("directory_settings")
    op.drop_table("directory_schedules")
    op.drop_index("ix_directory_channel_members_user", "directory_channel_members")
    op.drop_table("directory_channel_members")
    op.drop_table("directory_channels")
    op.drop_table("directory_users")
