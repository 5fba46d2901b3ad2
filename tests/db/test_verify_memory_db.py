"""`archive verify` holds one page of rows at a time, on SQLite (its own read-only
connection on a worker thread) and PostgreSQL (through the engine): its peak memory does
not grow with the archive, and a broken link found in a later page is still named."""

from __future__ import annotations

import tracemalloc
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Keyring
from bridge.archive.verify import verify_archive
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events as t
from tests.archive_helpers import message_event

PAGE = 100


async def _grow(writer: ArchiveWriter, start: int, count: int) -> None:
    events = [
        message_event({"msgtype": "m.text", "body": "x" * 300}, event_id=f"$m{i}", ts=1_700_000_000_000 + i)
        for i in range(start, start + count)
    ]
    for at in range(0, len(events), 500):
        await writer.ingest_transaction(f"t{start + at}", events[at : at + 500])


async def _peak(engine: AsyncEngine) -> tuple[int, Any]:
    tracemalloc.start()
    try:
        report = await verify_archive(engine, None, None, page=PAGE)
        return tracemalloc.get_traced_memory()[1], report
    finally:
        tracemalloc.stop()


async def test_verify_memory_stays_flat_as_the_archive_grows(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        writer = ArchiveWriter(engine, Keyring.generate())
        await _grow(writer, 0, 1000)
        small, report = await _peak(engine)
        assert report.ok and report.rows == 1000
        await _grow(writer, 1000, 9000)  # ten times the rows
        large, report = await _peak(engine)
        assert report.ok and report.rows == 10_000
        # Every row held at once would be ~4 MB more; a page is ~40 kB.
        assert large < small * 1.5 + 256 * 1024, f"verify's peak grew from {small} to {large} bytes"
        async with engine.begin() as conn:
            await conn.execute(update(t).where(t.c.seq == 7777).values(sender="@mallory:test"))
        _peak_after, report = await _peak(engine)
        assert report.chain_problem is not None and report.chain_problem.seq == 7777
        assert report.rows == 7776
    finally:
        await engine.dispose()
