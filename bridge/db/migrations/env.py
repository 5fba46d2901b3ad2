"""Alembic environment: always handed a live connection by bridge.db.engine.migrate()."""

from __future__ import annotations

from alembic import context

import bridge.db.role_tables  # noqa: F401  (its tables join the metadata)
from bridge.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run from bridge.db.engine.migrate() (the bridge and the CLI call it)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
