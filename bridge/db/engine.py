"""Engine creation (SQLite pragmas for durability) and migrations at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import URL, Connection, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def sqlite_file(url: URL | str) -> Path | None:
    """The database file of a SQLite URL, or None (another database, in memory, a URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL for concurrent readers; FULL so a committed transaction survives power loss
    # (the bridge answers Synapse 200 only after commit).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    """An async engine for a sqlite+aiosqlite or postgresql+asyncpg URL."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # force_custom_plan: asyncpg keeps prepared statements per connection, and PostgreSQL
    # would switch them to a generic plan chosen while the tables were still small (a
    # sequential scan for the archive's `event_id IN (...)` duplicate check, slower with
    # every row). Planning each execution keeps the indexes in use: 2x the ingest rate at
    # 20k rows, growing with the archive (bench/archive_ingest.py).
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
    )


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (numbered Alembic migrations, transactional).

    The revision graph has one head (tests/unit/test_migrations.py keeps it so): a new
    migration names the current head as its `down_revision`.
    """
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(_alembic_config(sync_conn), revision))


async def current_revisions(engine: AsyncEngine) -> tuple[str, ...]:
    """The schema revisions (heads) the database is at; empty if never migrated."""
    async with engine.connect() as conn:
        heads = await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_heads()
        )
    return tuple(heads)


def script_heads() -> tuple[str, ...]:
    """The newest revision(s) among the migration scripts shipped with this code."""
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
