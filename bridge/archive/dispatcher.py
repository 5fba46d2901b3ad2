"""Post-commit consumers: the parts of the bridge that react to archived events.

Synapse gets its 200 as soon as a transaction is committed; reactions (registering rooms,
call logs, bot commands, ...) run afterwards from the archive, each consumer remembering
the last sequence number it handled in `consumer_cursors`. After a crash they resume
where they stopped, so a reaction is never lost (it may run again for the last few events
if the crash fell between handling and saving the cursor: consumers must be idempotent).

One reader serves every consumer: each new row is read and decrypted once (events this
process just committed are handed over from memory, not read back at all) and queued to
each consumer that declared its event type; a consumer never sees, and the bridge never
decrypts for it, the other types. Each consumer runs in its own lane (task), so a slow one
(a `!verify` of a large archive) does not hold up the others; within a lane, events are
handled in archive order. A lane that falls more than MAX_BACKLOG events behind stops
being fed and reads its own rows from the archive until it has caught up (memory stays
flat). Cursors are written together, in one database transaction, SAVE_SECONDS after the
first unsaved progress or as soon as a lane has handled SAVE_EVERY events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Sealer
from bridge.archive.reader import head_seq, iter_events, open_row
from bridge.archive.writer import ArchivedEvent
from bridge.core.tasks import cancel_and_wait
from bridge.db.tables import archive_events, consumer_cursors

log = logging.getLogger(__name__)

EventHandler = Callable[[ArchivedEvent], Awaitable[None]]

# After a crash a consumer handles again at most the events of the last SAVE_SECONDS or
# the last SAVE_EVERY events it handled (consumers are idempotent).
SAVE_EVERY = 100
SAVE_SECONDS = 1.0
# Events queued to one lane before it is detached and catches up from the archive itself.
MAX_BACKLOG = 2000
PAGE = 500

_ROWS = select(
    archive_events.c.seq,
    archive_events.c.event_id,
    archive_events.c.room_id,
    archive_events.c.event_type,
    archive_events.c.key_id,
    archive_events.c.ciphertext,
)
_SAVE = (
    update(consumer_cursors)
    .where(consumer_cursors.c.name == bindparam("cursor_name"))
    .values(seq=bindparam("cursor_seq"))
)


@dataclass(frozen=True)
class Consumer:
    """A named handler of archived events; `types` None means every event type.

    `name` is its durable cursor's name in the database: renaming it would hand the new
    name every archived event again, so names never change."""

    name: str
    handle: EventHandler
    types: Collection[str] | None = None

    def __post_init__(self) -> None:
        if self.types is not None:
            object.__setattr__(self, "types", frozenset(self.types))

    def wants(self, event_type: str) -> bool:
        """True if this consumer handles events of this type."""
        return self.types is None or event_type in self.types


@dataclass
class _Lane:
    """One consumer's worker and its place in the archive."""

    consumer: Consumer
    position: int  # every event up to this seq has been handled (or is not for this lane)
    saved: int  # the seq written to consumer_cursors
    queued_to: int  # every event up to this seq is handled or in `queue`
    queue: deque[ArchivedEvent | int] = field(default_factory=deque)  # events, or "advance to seq"
    detached: bool = False  # too far behind: reads its own rows until caught up
    busy: bool = False  # working through its queue (an event may be in a handler)
    unsaved: int = 0  # events handled since the last cursor save
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def caught_up(self) -> bool:
        return not self.queue and not self.detached and not self.busy and not self.wake.is_set()


class Dispatcher:
    """Feeds archived events to consumers in order, durably tracking progress."""

    def __init__(self, engine: AsyncEngine, keyring: Sealer) -> None:
        self.engine = engine
        self.keyring = keyring
        self.consumers: list[Consumer] = []
        self.idle = asyncio.Event()
        self._lanes: list[_Lane] = []
        self._read_pos = 0  # the reader has queued every row up to this seq
        self._reading = False
        self._wake = asyncio.Event()
        self._dirty = asyncio.Event()  # some lane's position is not saved yet
        self._full = asyncio.Event()  # some lane handled SAVE_EVERY events since its save
        self._tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, handle: EventHandler, types: Collection[str] | None = None) -> None:
        """Register a consumer (before start); `types` limits it to those event types."""
        self.add_consumer(Consumer(name, handle, types))

    def add_consumer(self, consumer: Consumer) -> None:
        """Register a consumer (before start)."""
        self.consumers.append(consumer)

    def notify(self) -> None:
        """New rows were committed (by anyone): read them."""
        if not self._tasks:
            self.idle.set()
            return
        self.idle.clear()
        self._wake.set()

    def offer(self, appended: Sequence[ArchivedEvent]) -> None:
        """Rows this process just committed: queue them from memory when they follow the
        reader's position directly, otherwise read them from the archive."""
        if not appended:
            return
        if not self._tasks or self._reading or appended[0].seq != self._read_pos + 1:
            self.notify()
            return
        self.idle.clear()
        self._queue(appended)

    async def start(self) -> None:
        """Create missing cursors (new consumers start at the current head) and run."""
        head = await head_seq(self.engine)
        cursors = await self._ensure_cursors(head)
        self._read_pos = head
        self._lanes = []
        for consumer in self.consumers:
            at = cursors[consumer.name]
            # A lane behind the head (the unsaved tail of the last run) reads it itself.
            lane = _Lane(consumer, position=at, saved=at, queued_to=head, detached=at < head)
            lane.task = asyncio.create_task(self._run_lane(lane), name=f"carebridge-consumer-{consumer.name}")
            self._lanes.append(lane)
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="carebridge-dispatcher-reader"),
            asyncio.create_task(self._save_loop(), name="carebridge-dispatcher-cursors"),
        ]
        for lane in self._lanes:
            lane.wake.set()
        self.notify()

    async def stop(self) -> None:
        """Stop every lane after the event it is handling and save the cursors."""
        for task in self._tasks:
            await cancel_and_wait(task)
        self._tasks = []
        for lane in self._lanes:
            await cancel_and_wait(lane.task)
        try:
            await self._save_positions()
        except Exception:
            log.exception("saving consumer cursors at stop failed; the last events will be handled again")
        self._lanes = []

    # --- the reader ------------------------------------------------------------------
    async def _ensure_cursors(self, head: int) -> dict[str, int]:
        async with self.engine.begin() as conn:
            known = {r[0]: int(r[1]) for r in await conn.execute(select(consumer_cursors))}
            for consumer in self.consumers:
                if consumer.name not in known:
                    await conn.execute(consumer_cursors.insert().values(name=consumer.name, seq=head))
                    known[consumer.name] = head
        return known

    async def _read_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while await self._read_page():
                pass
            self._check_idle()

    async def _read_page(self) -> bool:
        """Queue the next page of rows after the reader's position; True if it was full."""
        self._reading = True
        try:
            async with self.engine.connect() as conn:
                query = _ROWS.where(archive_events.c.seq > self._read_pos).order_by(archive_events.c.seq)
                rows = (await conn.execute(query.limit(PAGE))).all()
        finally:
            self._reading = False
        if not rows:
            return False
        batch: list[ArchivedEvent] = []
        for seq, event_id, room_id, event_type, key_id, sealed in rows:
            if any(lane.consumer.wants(event_type) for lane in self._fed_lanes(seq)):
                archived = open_row(self.keyring, seq, event_id, room_id, key_id, sealed, True)
                if archived is not None:
                    batch.append(archived)
        self._queue(batch, through=int(rows[-1][0]))
        return len(rows) == PAGE

    def _fed_lanes(self, seq: int) -> list[_Lane]:
        return [lane for lane in self._lanes if not lane.detached and seq > lane.queued_to]

    def _queue(self, batch: Sequence[ArchivedEvent], through: int | None = None) -> None:
        """Queue decrypted events (in seq order) to the lanes that want them; every lane
        fed by the reader then knows it has seen everything up to `through`."""
        end = through if through is not None else batch[-1].seq
        for lane in self._lanes:
            if lane.detached or end <= lane.queued_to:
                continue
            wants = lane.consumer.wants
            wanted = [a for a in batch if a.seq > lane.queued_to and wants(str(a.event.get("type")))]
            lane.queued_to = end
            if not wanted and not lane.queue and not lane.busy:
                self._advance(lane, end, 0)  # nothing for it and nothing in flight: no wake-up
                continue
            lane.queue.extend(wanted)
            lane.queue.append(end)
            if len(lane.queue) > MAX_BACKLOG:
                lane.detached = True
                log.info(
                    "consumer %s is %d events behind; it catches up from the archive",
                    lane.consumer.name,
                    len(lane.queue),
                )
            lane.wake.set()
        self._read_pos = max(self._read_pos, end)

    def _check_idle(self) -> None:
        if not self._reading and not self._wake.is_set() and all(lane.caught_up() for lane in self._lanes):
            self.idle.set()

    # --- the lanes -------------------------------------------------------------------
    async def _run_lane(self, lane: _Lane) -> None:
        while True:
            await lane.wake.wait()
            lane.wake.clear()
            lane.busy = True
            while lane.queue or lane.detached:
                if lane.queue:
                    item = lane.queue.popleft()
                    if isinstance(item, int):
                        self._advance(lane, item, 0)
                    else:
                        await self._handle(lane.consumer, item)
                        self._advance(lane, item.seq, 1)
                else:
                    await self._catch_up(lane)
            lane.busy = False
            self._check_idle()

    async def _catch_up(self, lane: _Lane) -> None:
        """Handle this lane's events from its position to the reader's, read by itself
        (only its event types), then let the reader feed it again."""
        while True:
            target = self._read_pos
            if lane.position >= target:
                lane.queued_to = lane.position
                lane.detached = False  # no await since reading _read_pos: nothing slips between
                return
            condition = archive_events.c.seq <= target
            if lane.consumer.types is not None:
                condition = and_(condition, archive_events.c.event_type.in_(sorted(lane.consumer.types)))
            async for archived in iter_events(
                self.engine, self.keyring, after_seq=lane.position, where=condition, skip_unreadable=True
            ):
                await self._handle(lane.consumer, archived)
                self._advance(lane, archived.seq, 1)
            self._advance(lane, target, 0)

    async def _handle(self, consumer: Consumer, archived: ArchivedEvent) -> None:
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

    def _advance(self, lane: _Lane, seq: int, handled: int) -> None:
        if seq <= lane.position:
            return
        lane.position = seq
        lane.unsaved += handled
        self._dirty.set()
        if lane.unsaved >= SAVE_EVERY:
            self._full.set()

    # --- cursors ---------------------------------------------------------------------
    async def _save_loop(self) -> None:
        while True:
            await self._dirty.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), SAVE_SECONDS)
            self._dirty.clear()
            self._full.clear()
            started = time.monotonic()
            try:
                await self._save_positions()
            except Exception:
                log.exception("saving consumer cursors failed; retrying")
                self._dirty.set()
                await asyncio.sleep(max(0.0, SAVE_SECONDS - (time.monotonic() - started)))

    async def _save_positions(self) -> None:
        """Write every lane's handled position in one database transaction."""
        moved = [(lane, lane.position) for lane in self._lanes if lane.position != lane.saved]
        if not moved:
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                _SAVE, [{"cursor_name": lane.consumer.name, "cursor_seq": seq} for lane, seq in moved]
            )
        for lane, seq in moved:
            lane.saved = seq
            lane.unsaved = 0
