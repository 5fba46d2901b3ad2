"""Fresh databases for tests: a temp SQLite file, or a throwaway PostgreSQL database.

PostgreSQL comes from CAREBRIDGE_TEST_PG_URL (an asyncpg SQLAlchemy URL to a server where
we may CREATE DATABASE). Unset locally: PostgreSQL cases are skipped. Under CI (CI=1) an
unset or unreachable server fails the run loudly instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

PG_ENV = "CAREBRIDGE_TEST_PG_URL"


def required_env(name: str, needed_by: str) -> str:
    """The value of environment variable `name`; when unset, skip the test locally and fail
    it under CI=1 (`needed_by` names what must run in CI)."""
    value = os.environ.get(name)
    if not value:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not set but CI=1: {needed_by} must run in CI")
        pytest.skip(f"{name} not set; {needed_by} skipped locally")
    return value


def pg_base_url() -> str | None:
    """The PostgreSQL server URL, or skip/fail according to CI."""
    return required_env(PG_ENV, "PostgreSQL tests")


@asynccontextmanager
async def fresh_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of an empty database of `kind` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'carebridge-test.db'}"
        return
    base = pg_base_url()
    assert base is not None
    name = f"cb_test_{secrets.token_hex(6)}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        await admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_ENV} unreachable: {exc}")
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
