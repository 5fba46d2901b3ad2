"""The dispatcher reads and decrypts each row once, feeds only the event types a consumer
declared, survives a crash between handling and saving a cursor, and lets a lane that
fell far behind catch up from the archive without missing anything."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest
from sqlalchemy import select

import bridge.archive.dispatcher as dispatch
from bridge.archive.chain import ChainKey
from bridge.archive.dispatcher import Dispatcher
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchivedEvent, ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import consumer_cursors


class CountingKeyring:
    """A real keyring that counts how many rows were opened (decrypted)."""

    def __init__(self, inner: Keyring) -> None:
        self.inner = inner
        self.opened = 0

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        return self.inner.seal(plaintext, aad)

    def open(self, key_id: str, sealed: bytes, aad: bytes) -> bytes:
        self.opened += 1
        return self.inner.open(key_id, sealed, aad)

    def chain_key(self) -> ChainKey | None:
        return self.inner.chain_key()


def event(n: int, etype: str = "m.room.message") -> dict[str, Any]:
    return {
        "event_id": f"$l{n}-{secrets.token_hex(4)}",
        "room_id": "!r:test",
        "sender": "@a:test",
        "type": etype,
        "origin_server_ts": 1_700_000_000_000 + n,
        "content": {"body": str(n)},
    }


def recorder(into: list[int]) -> Any:
    async def handle(archived: ArchivedEvent) -> None:
        into.append(archived.seq)

    return handle


async def until_idle(dispatcher: Dispatcher) -> None:
    dispatcher.notify()
    await asyncio.wait_for(dispatcher.idle.wait(), 30)


async def cursor(engine: Any, name: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(consumer_cursors.c.seq).where(consumer_cursors.c.name == name)))


async def test_each_row_is_decrypted_once_and_lanes_see_only_their_types(db_url: str) -> None:
    """Three consumers, one of them limited to member events: every message row is opened
    once for all of them, and member-only consumers never receive (nor cause the
    decryption of) anything else."""
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = CountingKeyring(Keyring.generate())
    writer = ArchiveWriter(engine, keyring)
    every_a: list[int] = []
    every_b: list[int] = []
    members: list[int] = []
    dispatcher = Dispatcher(engine, keyring)
    dispatcher.add("a", recorder(every_a))
    dispatcher.add("b", recorder(every_b))
    dispatcher.add("members", recorder(members), ["m.room.member"])
    try:
        await dispatcher.start()
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        events = [event(n, "m.room.member" if n % 10 == 0 else "m.room.message") for n in range(600)]
        await writer.ingest_transaction("t1", events)  # another process's write: read back
        await until_idle(dispatcher)
        assert every_a == every_b == list(range(1, 601))
        assert members == [n + 1 for n in range(0, 600, 10)]
        assert keyring.opened == 600, "one decryption per row, not per consumer"

        opened = keyring.opened
        only_members = Dispatcher(engine, keyring)
        late: list[int] = []
        only_members.add("late-members", recorder(late), ["m.room.member"])
        await only_members.start()
        await writer.ingest_transaction("t2", [event(n) for n in range(600, 700)])
        await until_idle(only_members)
        await only_members.stop()
        assert late == [] and keyring.opened == opened, "rows of unwanted types are never decrypted"
    finally:
        await dispatcher.stop()
        await engine.dispose()


async def test_events_offered_from_memory_are_not_read_back(db_url: str) -> None:
    """Rows this process just committed reach the consumers without a decryption; a gap
    (rows committed elsewhere in between) falls back to reading the archive, in order."""
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = CountingKeyring(Keyring.generate())
    writer = ArchiveWriter(engine, keyring)
    seen: list[int] = []
    dispatcher = Dispatcher(engine, keyring)
    dispatcher.add("probe", recorder(seen))
    try:
        await dispatcher.start()
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        result = await writer.ingest_transaction("t1", [event(n) for n in range(5)])
        dispatcher.offer(result.appended)
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        assert seen == [1, 2, 3, 4, 5] and keyring.opened == 0

        await writer.ingest_transaction("t2", [event(n) for n in range(5, 8)])  # not offered
        result = await writer.ingest_transaction("t3", [event(n) for n in range(8, 10)])
        dispatcher.offer(result.appended)
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        assert seen == list(range(1, 11)), "the gap is read from the archive, nothing twice"
    finally:
        await dispatcher.stop()
        await engine.dispose()


async def test_crash_between_handling_and_cursor_save_misses_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after handling events whose cursor was not written yet: the next
    run handles them again (at-least-once) and then everything after them, in order."""
    monkeypatch.setattr(dispatch, "SAVE_SECONDS", 3600.0)  # only the count triggers a save
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    first_run: list[int] = []
    first = Dispatcher(engine, keyring)
    first.add("probe", recorder(first_run))
    try:
        await first.start()
        await asyncio.wait_for(first.idle.wait(), 10)
        await writer.ingest_transaction("t1", [event(n) for n in range(120)])
        await until_idle(first)
        for _ in range(500):  # the count-triggered save lands
            if await cursor(engine, "probe") >= 100:
                break
            await asyncio.sleep(0.01)
        await writer.ingest_transaction("t1b", [event(n) for n in range(120, 150)])
        await until_idle(first)
        # kill -9: the tasks vanish without the saving that stop() does.
        for task in [*first._tasks, *(lane.task for lane in first._lanes)]:
            assert task is not None
            task.cancel()
        await asyncio.sleep(0)
        assert first_run == list(range(1, 151))
        saved = await cursor(engine, "probe")
        assert 100 <= saved < 150, "saved by count, the tail after that save is not"

        await writer.ingest_transaction("t2", [event(n) for n in range(150, 180)])
        second_run: list[int] = []
        second = Dispatcher(engine, keyring)
        second.add("probe", recorder(second_run))
        await second.start()
        await until_idle(second)
        await second.stop()
        assert second_run == list(range(saved + 1, 181)), "the unsaved tail again, then the new events"
        assert await cursor(engine, "probe") == 180
    finally:
        await engine.dispose()


async def test_a_lane_far_behind_catches_up_from_the_archive(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow consumer that falls more than the backlog limit behind is detached, reads
    its own rows, and rejoins: it misses nothing, sees nothing twice, and the fast
    consumer beside it is not held up."""
    monkeypatch.setattr(dispatch, "MAX_BACKLOG", 20)
    engine = create_engine(db_url)
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    gate = asyncio.Event()
    slow_seen: list[int] = []
    fast_seen: list[int] = []

    async def slow(archived: ArchivedEvent) -> None:
        await gate.wait()
        slow_seen.append(archived.seq)

    dispatcher = Dispatcher(engine, keyring)
    dispatcher.add("slow", slow)
    dispatcher.add("fast", recorder(fast_seen))
    try:
        await dispatcher.start()
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        for t in range(10):
            result = await writer.ingest_transaction(f"t{t}", [event(t * 10 + n) for n in range(10)])
            dispatcher.offer(result.appended)
        for _ in range(200):
            if len(fast_seen) == 100:
                break
            await asyncio.sleep(0.01)
        assert fast_seen == list(range(1, 101)) and slow_seen == []
        assert dispatcher._lanes[0].detached
        gate.set()
        await until_idle(dispatcher)
        assert slow_seen == list(range(1, 101))
        result = await writer.ingest_transaction("after", [event(n) for n in range(100, 103)])
        dispatcher.offer(result.appended)
        await asyncio.wait_for(dispatcher.idle.wait(), 10)
        assert slow_seen == list(range(1, 104)) and fast_seen == list(range(1, 104))
    finally:
        await dispatcher.stop()
        await engine.dispose()
