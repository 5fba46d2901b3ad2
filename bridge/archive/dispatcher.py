"""Post-commit consumers: the parts of the bridge that react to archived events.

Synapse gets its 200 as soon as a transaction is committed; reactions (registering rooms,
call logs, bot commands, ...) run afterwards from the archive, each consumer remembering
the last sequence number it handled in `consumer_cursors`. After a crash they resume
where they stopped, so a reaction is never lost (it may run again for the last event if
the crash fell between handling and saving the cursor: consumers must be idempotent).
Each consumer runs in its own lane (task), so a slow one (a `!verify` of a large archive)
does not hold up the others; within a lane, events are handled in archive order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Sealer
from bridge.archive.reader import head_seq, iter_events
from bridge.archive.writer import ArchivedEvent
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import consumer_cursors

log = logging.getLogger(__name__)

Handler = Callable[[ArchivedEvent], Awaitable[None]]

# Cursor writes are batched: after a crash at most this many events are handled again
# (consumers are idempotent), and catching up on a backlog is not one write per event.
SAVE_EVERY = 100


@dataclass(frozen=True)
class Consumer:
    """A named handler of archived events."""

    name: str
    handle: Handler


@dataclass
class _Lane:
    """One consumer's worker: woken on commit, idle when caught up."""

    consumer: Consumer
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    idle: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class Dispatcher:
    """Feeds archived events to consumers in order, durably tracking progress."""

    def __init__(self, engine: AsyncEngine, keyring: Sealer) -> None:
        self.engine = engine
        self.keyring = keyring
        self.consumers: list[Consumer] = []
        self._lanes: list[_Lane] = []
        self.idle = asyncio.Event()

    def add(self, name: str, handle: Handler) -> None:
        """Register a consumer (before start)."""
        self.consumers.append(Consumer(name, handle))

    def notify(self) -> None:
        """New rows were committed: wake every lane."""
        if not self._lanes:
            self.idle.set()
            return
        self.idle.clear()
        for lane in self._lanes:
            lane.idle.clear()
            lane.wake.set()

    async def start(self) -> None:
        """Create missing cursors (new consumers start at the current head) and run."""
        await self._ensure_cursors()
        self._lanes = [_Lane(consumer) for consumer in self.consumers]
        for lane in self._lanes:
            lane.task = asyncio.create_task(self._run(lane), name=f"carebridge-consumer-{lane.consumer.name}")
        self.notify()

    async def stop(self) -> None:
        """Stop every lane after the event it is handling."""
        for lane in self._lanes:
            await cancel_and_wait(lane.task)
        self._lanes = []

    async def _ensure_cursors(self) -> None:
        head = await head_seq(self.engine)
        async with self.engine.begin() as conn:
            known = {r[0] for r in await conn.execute(select(consumer_cursors.c.name))}
            for consumer in self.consumers:
                if consumer.name not in known:
                    await conn.execute(consumer_cursors.insert().values(name=consumer.name, seq=head))

    async def _cursor(self, name: str) -> int:
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(consumer_cursors.c.seq).where(consumer_cursors.c.name == name))
        return int(value or 0)

    async def _save(self, name: str, seq: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(consumer_cursors).where(consumer_cursors.c.name == name).values(seq=seq)
            )

    async def _run(self, lane: _Lane) -> None:
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            await self._catch_up(lane.consumer)
            if not lane.wake.is_set():
                lane.idle.set()
                if all(other.idle.is_set() for other in self._lanes):
                    self.idle.set()

    async def _catch_up(self, consumer: Consumer) -> None:
        cursor = await self._cursor(consumer.name)
        saved = cursor
        async for archived in iter_events(self.engine, self.keyring, after_seq=cursor, skip_unreadable=True):
            try:
                await consumer.handle(archived)
            except Exception:
                # A consumer bug must not stall the archive; log ids only and move on.
                log.exception(
                    "consumer %s failed on seq=%d event=%s type=%s",
                    consumer.name,
                    archived.seq,
                    archived.event.get("event_id"),
                    archived.event.get("type"),
                )
            cursor = archived.seq
            if cursor - saved >= SAVE_EVERY:
                await self._save(consumer.name, cursor)
                saved = cursor
        if cursor != saved:
            await self._save(consumer.name, cursor)
