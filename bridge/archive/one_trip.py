"""Committing an archive transaction on SQLite in one hand-off to a database thread.

Through SQLAlchemy and aiosqlite, one appservice transaction costs about eight hand-offs
between the event loop and aiosqlite's thread (execute and close per statement, commit,
the pool's reset on return), each one a queue put and a loop wake-up: ~40% of the
bridge's busy time at the one or two events per transaction Synapse sends under an
ordinary load. The writer's usual case (append after the head it committed last) needs
none of SQLAlchemy, so on SQLite it runs here instead: one sqlite3 connection of its own
(the engine's pragmas: WAL, synchronous=FULL, foreign keys, busy timeout) on one thread
of its own, and the whole transaction (BEGIN IMMEDIATE, the txn record, every row, every
relation, COMMIT) is one function run on that thread. The statements are compiled from
the table definitions once, and sqlite3's statement cache keeps them prepared.

Nothing about durability changes: the call returns only after COMMIT (fsync'd), and any
failure rolls back and raises `sqlite3.Error`; the writer then drops its cached head and
takes its careful path (re-read the txnId, the head and the event ids) as before. After
the COMMIT, on the same thread, `after_commit` appends the new head to the heads log
(bridge.archive.commit_log): no second hand-off for it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import sqlite

from bridge.db.tables import archive_events, archive_relations, as_transactions


def _qmark_insert(table: Table) -> str:
    """The table's INSERT of every column, in table order, with ? placeholders."""
    return str(insert(table).compile(dialect=sqlite.dialect()))


ROW_COLUMNS = tuple(c.name for c in archive_events.columns)
RELATION_COLUMNS = tuple(c.name for c in archive_relations.columns)
_INSERT_TXN = _qmark_insert(as_transactions)
_INSERT_ROWS = _qmark_insert(archive_events)
_INSERT_RELATIONS = _qmark_insert(archive_relations)

Row = tuple[Any, ...]


class OneTripSqlite:
    """A dedicated connection and thread that commit one archive transaction per call."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive-writer")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: this module issues BEGIN IMMEDIATE and COMMIT itself.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            self._conn = conn
        return self._conn

    def _commit(
        self,
        txn: Row | None,
        rows: list[Row],
        relations: list[Row],
        after_commit: Callable[[], None] | None,
    ) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if txn is not None:
                conn.execute(_INSERT_TXN, txn)
            if rows:
                conn.executemany(_INSERT_ROWS, rows)
            if relations:
                conn.executemany(_INSERT_RELATIONS, relations)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if after_commit is not None:
            after_commit()

    async def commit(
        self,
        txn: Row | None,
        rows: list[Row],
        relations: list[Row],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        """Insert the txn record (if any), the rows and the relations in one transaction,
        then run `after_commit`; returns after both, raises sqlite3.Error after a rollback
        (or what `after_commit` raised, the transaction committed)."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._commit, txn, rows, relations, after_commit)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """Close the connection (on its thread) and let the thread end; idempotent."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=False)
