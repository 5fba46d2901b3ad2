"""One head again: the directory, archive extras, sessions and DM/call branches meet here.

Features built in parallel added 0002, 0003, 0005 and 0006 each on top of 0001 (there is
no 0004). This revision changes no schema; it joins the four branches so that every later
migration has exactly one parent and `alembic heads` names one revision.

Revision ID: 0007
Revises: 0002, 0003, 0005, 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = ("0002", "0003", "0005", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: a merge point."""


def downgrade() -> None:
    """Nothing to change: a merge point."""
