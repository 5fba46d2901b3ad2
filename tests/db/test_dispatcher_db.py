"""The post-commit dispatcher: in order, durable cursors, survives an unreadable row."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from sqlalchemy import select, update

from bridge.archive.dispatcher import Dispatcher
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchivedEvent, ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events, consumer_cursors
from tests.archive_helpers import message_event


def event(n: int) -> dict[str, Any]:
    return message_event({"body": str(n)}, event_id=f"$d{n}-{secrets.token_hex(4)}", ts=1_700_000_000_000 + n)


async def run_until_idle(dispatcher: Dispatcher) -> None:
    dispatcher.notify()
    await asyncio.wait_for(dispatcher.idle.wait(), 10)


async def test_dispatcher_skips_tampered_row_and_resumes_from_cursor(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    seen: list[int] = []

    async def handle(archived: ArchivedEvent) -> None:
        seen.append(archived.seq)

    first = Dispatcher(engine, keyring)
    first.add("probe", handle)
    try:
        await first.start()  # a new consumer starts at the current head (empty archive: 0)
        await asyncio.wait_for(first.idle.wait(), 10)
        await writer.ingest_transaction("t1", [event(n) for n in range(3)])
        async with engine.begin() as conn:
            await conn.execute(
                update(archive_events).where(archive_events.c.seq == 2).values(ciphertext=b"\x00" * 40)
            )
        await run_until_idle(first)
        assert seen == [1, 3], "the unreadable row is skipped, later rows still handled"
        await first.stop()

        await writer.ingest_transaction("t2", [event(n) for n in range(3, 253)])
        second = Dispatcher(engine, keyring)
        second.add("probe", handle)
        await second.start()
        await run_until_idle(second)
        await second.stop()
        assert seen == [1, 3, *range(4, 254)], "a restarted dispatcher resumes after its cursor"
        async with engine.connect() as conn:
            cursor = await conn.scalar(
                select(consumer_cursors.c.seq).where(consumer_cursors.c.name == "probe")
            )
        assert cursor == 253
    finally:
        await engine.dispose()
