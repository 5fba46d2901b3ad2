"""Copying the Carebridge database for backups: SQLite's online backup API, pg_dump /
pg_restore, and a logical copy through SQLAlchemy that works between any two engines.

The logical copy recreates the schema with the same Alembic revisions (never create_all),
then streams every table's rows in foreign-key order inside one snapshot of the source.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, func, insert, inspect, select, text
from sqlalchemy import table as named_table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.engine import current_revisions, migrate, sqlite_file

BATCH = 1000
SKIP_TABLES = frozenset({"alembic_version"})


class DatabaseCopyError(Exception):
    """The database could not be dumped or restored as asked."""


def required_sqlite_file(url: str) -> Path:
    """The file of a sqlite+aiosqlite:///ABSOLUTE URL (an in-memory database has none)."""
    path = sqlite_file(url)
    if path is None:
        raise DatabaseCopyError("an in-memory SQLite database cannot be backed up")
    return path


def sqlite_online_backup(source: Path, target: Path) -> None:
    """Consistent copy of a live SQLite database (sqlite3 backup API; WAL-safe). The copy
    keeps no journal and is not flushed here: it is a part of a backup file, which is
    flushed to disk as a whole (a crash half-way leaves only a partial file, discarded)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        dst.execute("PRAGMA journal_mode=OFF")
        dst.execute("PRAGMA synchronous=OFF")
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _pg_env_args(url: str) -> tuple[list[str], dict[str, str]]:
    """libpq command-line arguments and env (password via PGPASSWORD, never on argv)."""
    parsed = make_url(url)
    args = ["-h", parsed.host or "127.0.0.1", "-p", str(parsed.port or 5432)]
    args += ["-U", parsed.username or "postgres", "-d", parsed.database or ""]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return args, env


def _tool_major(tool: str) -> int | None:
    path = shutil.which(tool)
    if path is None:
        return None
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


async def pg_dump_usable(engine: AsyncEngine) -> bool:
    """pg_dump is installed and not older than the server (pg_dump refuses newer servers)."""
    major = _tool_major("pg_dump")
    if major is None:
        return False
    async with engine.connect() as conn:
        server = int(await conn.scalar(text("SELECT current_setting('server_version_num')::int")) or 0)
    return major >= server // 10000


def pg_dump(url: str, target: Path) -> None:
    """pg_dump --format=custom of the database at url into target."""
    args, env = _pg_env_args(url)
    cmd = [
        shutil.which("pg_dump") or "pg_dump",
        "--format=custom",
        "--no-owner",
        "--no-privileges",
        "-f",
        str(target),
    ]
    done = subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise DatabaseCopyError(f"pg_dump failed: {done.stderr.strip()[-500:]}")


def pg_restore(url: str, dump: Path) -> None:
    """pg_restore a custom-format dump into the (empty) database at url, in one transaction."""
    tool = shutil.which("pg_restore")
    if tool is None:
        raise DatabaseCopyError("pg_restore is not installed (apt-get install postgresql-client)")
    args, env = _pg_env_args(url)
    cmd = [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", *args, str(dump)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise DatabaseCopyError(f"pg_restore failed: {done.stderr.strip()[-500:]}")


async def table_names(engine: AsyncEngine) -> list[str]:
    """Tables present in the database (to refuse restoring over existing data)."""
    meta = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(meta.reflect)
    return sorted(meta.tables)


async def migrate_to(engine: AsyncEngine, revisions: Sequence[str]) -> None:
    """Create the schema at exactly these revisions (each branch head of the source)."""
    for revision in revisions:
        await migrate(engine, revision)


async def _reflect(engine: AsyncEngine) -> MetaData:
    meta = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(meta.reflect)
    return meta


async def logical_copy(source: AsyncEngine, target: AsyncEngine) -> dict[str, int]:
    """Copy every table (schema via the source's Alembic revisions); returns row counts."""
    revisions = await current_revisions(source)
    await migrate_to(target, revisions)
    src_meta, dst_meta = await _reflect(source), await _reflect(target)
    counts: dict[str, int] = {}
    options: dict[str, Any] = {}
    if source.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"  # one snapshot for every table
    async with source.connect() as src_conn, target.begin() as dst_conn:
        src_conn = await src_conn.execution_options(**options)
        async with src_conn.begin():
            for table in dst_meta.sorted_tables:
                if table.name in SKIP_TABLES or table.name not in src_meta.tables:
                    continue
                src_table = src_meta.tables[table.name]
                columns = [c for c in src_table.columns if c.name in table.columns]
                order = list(src_table.primary_key.columns) or columns
                result = await src_conn.stream(select(*columns).order_by(*order))
                counts[table.name] = 0
                async for chunk in result.partitions(BATCH):
                    rows = [dict(row._mapping) for row in chunk]
                    await dst_conn.execute(insert(table), rows)
                    counts[table.name] += len(rows)
        if target.dialect.name == "postgresql":
            await _reset_sequences(dst_conn, dst_meta)
    return counts


async def _reset_sequences(conn: Any, meta: MetaData) -> None:
    """After explicit ids were copied into PostgreSQL, move serial sequences past them."""
    for table in meta.sorted_tables:
        for column in table.primary_key.columns:
            seq = await conn.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            )
            if seq:
                col, name = f'"{column.name}"', f'"{table.name}"'  # names from reflection
                sql = f"SELECT setval(:s, COALESCE(MAX({col}), 1), MAX({col}) IS NOT NULL) FROM {name}"  # noqa: S608
                await conn.execute(text(sql), {"s": seq})


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per table (alembic_version excluded). Only the tables' names are read (a
    reflection of every column cost more than counting a million rows)."""
    counts: dict[str, int] = {}
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        for name in sorted(set(names) - SKIP_TABLES):
            counts[name] = int(await conn.scalar(select(func.count()).select_from(named_table(name))) or 0)
    return counts
