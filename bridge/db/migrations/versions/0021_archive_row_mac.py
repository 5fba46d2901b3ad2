"""The keyed chain: a MAC of each archive row's hash under the chain key.

Rows already archived keep NULL (they stay protected by the hash chain and the published
heads, and verify as before); rows written from the chain key's `from_seq` on carry the MAC
(bridge.archive.chain). The chain key itself is kept in the archive keyring, never here.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add archive_events.row_mac (nullable)."""
    with op.batch_alter_table("archive_events") as batch:
        batch.add_column(sa.Column("row_mac", sa.LargeBinary(32), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("archive_events") as batch:
        batch.drop_column("row_mac")
