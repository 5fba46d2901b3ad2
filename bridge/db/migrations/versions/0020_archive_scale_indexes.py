"""Archive indexes for a large archive: membership events per room, export records, key ids.

A person's export needs the membership events of every room they wrote in; without an
index it read every row of those rooms after each page (bench/scale.py). The compliance
report counts export records; without an index that was a scan of the whole archive. Both
indexes are partial (only those rows), so writing other events costs nothing more. Backups
and the compliance report list the key ids in use: with an index on key_id that is one
look-up per key, not a read of every row (a few hundred megabytes at a million rows).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

MEMBER = sa.text("event_type = 'm.room.member'")
EXPORT = sa.text("event_type = 'org.carebridge.export'")


def upgrade() -> None:
    op.create_index(
        "ix_archive_members",
        "archive_events",
        ["room_id", "seq"],
        sqlite_where=MEMBER,
        postgresql_where=MEMBER,
    )
    op.create_index(
        "ix_archive_exports",
        "archive_events",
        ["received_ts"],
        sqlite_where=EXPORT,
        postgresql_where=EXPORT,
    )

    op.create_index("ix_archive_key_id", "archive_events", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_archive_key_id", "archive_events")
    op.drop_index("ix_archive_exports", "archive_events")
    op.drop_index("ix_archive_members", "archive_events")
