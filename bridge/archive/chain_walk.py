"""Walking the hash chain fast, with one page of rows in memory at a time.

The walk recomputes each row's hash from its clear columns and ciphertext and checks the
link to the row before, and, with the chain key, the row's MAC from the key's first row on;
it matches the recorded heads (bridge.archive.verify_heads) as it passes their rows. It
stops at the first row that does not link, or whose MAC fails, and hands it to
bridge.archive.verify, which names what happened there. On SQLite the pages are read by
a plain read-only sqlite3 connection on a worker thread (through aiosqlite every page is a
hand-off between threads and every row a SQLAlchemy Row: a third of the time went there);
elsewhere through the engine. Each page is its own short read, so a long verify holds no
transaction open. 45 CFR 164.312(c)(1) integrity.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, ChainKey, hash_fields
from bridge.archive.verify_heads import HeadCheck
from bridge.db.engine import sqlite_file
from bridge.db.tables import archive_events

PAGE = 5000
t = archive_events
Progress = Callable[[int], None]


class ArchiveRow(NamedTuple):
    """One archive row as the chain sees it (clear columns in hash order, then the rest)."""

    seq: int
    event_id: str
    room_id: str
    sender: str
    event_type: str
    state_key: str | None
    origin_ts: int
    received_ts: int
    source: str
    key_id: str
    ciphertext: bytes
    prev_hash: bytes
    row_hash: bytes
    row_mac: bytes | None


COLUMNS = tuple(t.c[name] for name in ArchiveRow._fields)
PAGE_QUERY = select(*COLUMNS).where(t.c.seq > bindparam("after")).order_by(t.c.seq).limit(bindparam("limit"))
# Names from the table definition; placeholders for sqlite3 and for asyncpg.
_SELECT = f"SELECT {', '.join(ArchiveRow._fields)} FROM {t.name}"  # noqa: S608
_PAGE_SQL = _SELECT + " WHERE seq > ? ORDER BY seq LIMIT ?"
_PG_PAGE_SQL = _SELECT + " WHERE seq > $1 ORDER BY seq LIMIT $2"


@dataclass
class ChainWalk:
    """Where the walk is: the next seq expected, the hash it must link to, the last good
    row, and the first row that did not link or whose MAC failed (None while all is well).
    With a chain key each row from its `from_seq` on must carry the key's MAC; with a
    HeadCheck the recorded heads are compared as the walk passes their rows."""

    chain_key: ChainKey | None = None
    heads: HeadCheck | None = None
    expected: int = 1
    prev: bytes = GENESIS_HASH
    previous: ArchiveRow | None = None
    broken: ArchiveRow | None = None
    mac_broken: ArchiveRow | None = None
    macs_checked: int = 0
    macs_unchecked: int = 0  # rows carrying a MAC that was not checked (no key, before from_seq)

    @property
    def rows(self) -> int:
        """Rows checked and linked so far."""
        return self.expected - 1

    def feed(self, rows: Sequence[Sequence[Any]]) -> bool:
        """Check a page of rows in seq order; False once a row does not link (or its MAC
        fails)."""
        expected, prev, last = self.expected, self.prev, None
        key, heads = self.chain_key, self.heads
        keyed_from = key.from_seq if key is not None else None
        next_head = heads.next_seq() if heads is not None else None
        checked = unchecked = 0
        for row in rows:
            stored = row[12]
            if row[0] == expected and row[11] == prev and hash_fields(prev, row[:10], row[10]) == stored:
                mac = row[13]
                if keyed_from is not None and expected >= keyed_from:
                    assert key is not None
                    if not key.valid(expected, bytes(stored), None if mac is None else bytes(mac)):
                        self.mac_broken = ArchiveRow._make(row)
                        break
                    checked += 1
                elif mac is not None:
                    unchecked += 1
                if next_head is not None and expected >= next_head:
                    assert heads is not None
                    heads.at_row(expected, bytes(stored))
                    next_head = heads.next_seq()
                expected, prev, last = expected + 1, bytes(stored), row
                continue
            self.broken = ArchiveRow._make(row)
            break
        if last is not None:
            self.previous = ArchiveRow._make(last)
        self.expected, self.prev = expected, prev
        self.macs_checked += checked
        self.macs_unchecked += unchecked
        return self.broken is None and self.mac_broken is None


def _walk_sqlite(path: Path, walk: ChainWalk, page: int, progress: Progress | None) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        while True:
            rows = conn.execute(_PAGE_SQL, (walk.expected - 1, page)).fetchall()
            linked = walk.feed(rows)
            if progress is not None:
                progress(walk.rows)
            if not linked or len(rows) < page:
                return
    finally:
        conn.close()


async def walk_chain(
    engine: AsyncEngine,
    page: int = PAGE,
    progress: Progress | None = None,
    chain_key: ChainKey | None = None,
    heads: HeadCheck | None = None,
) -> ChainWalk:
    """Walk the whole chain from the genesis (MACs with `chain_key`, recorded `heads` as
    their rows pass); `progress` is told the rows checked after every page."""
    walk = ChainWalk(chain_key, heads)
    path = sqlite_file(engine.url)
    if path is not None:
        await asyncio.to_thread(_walk_sqlite, path, walk, page, progress)
        return walk
    async with engine.connect() as conn:
        if engine.dialect.driver == "asyncpg":
            # The driver's own records, one prepared statement: through SQLAlchemy's rows
            # the walk was 1.5x a plain asyncpg loop over the same rows (bench/scale.py).
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None
            statement = await driver.prepare(_PG_PAGE_SQL)
            while True:
                records = await statement.fetch(walk.expected - 1, page)
                linked = walk.feed(records)
                if progress is not None:
                    progress(walk.rows)
                if not linked or len(records) < page:
                    return walk
        while True:
            rows = (await conn.execute(PAGE_QUERY, {"after": walk.expected - 1, "limit": page})).all()
            await conn.rollback()
            linked = walk.feed(rows)
            if progress is not None:
                progress(walk.rows)
            if not linked or len(rows) < page:
                return walk
