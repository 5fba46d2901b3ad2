"""Which archive rows an export reads, each through an index, so an export costs what its
room or person holds (in its time window), never what the whole archive holds.

The rows of the target (a room's rows, or what a person sent) lie in a span of sequence
numbers, found from the (room, time) or (sender, time) index when a window is given and
from the (room, seq) or (sender, seq) index otherwise. Membership at the time of each
message needs the membership events of the room(s) before and inside that span: they come
from the partial index on membership events (migration 0020). The streams are decrypted
page by page and merged in archive order (bridge.archive.reader: flat memory).
45 CFR 164.312(b) audit controls; 164.524 access.
"""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Sealer
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchivedEvent
from bridge.db.tables import archive_events

MEMBER = "m.room.member"
t = archive_events
# A literal, not a bound parameter: SQLite uses a partial index only when the query states
# the index's condition itself.
IS_MEMBER = t.c.event_type == bindparam("member_type", MEMBER, literal_execute=True)


@dataclass(frozen=True)
class Span:
    """The first and last sequence numbers of the target's rows in the window."""

    first: int
    last: int


@dataclass(frozen=True)
class Target:
    """One room or one person, optionally within [since_ms, until_ms)."""

    room_id: str | None
    user_id: str | None
    since_ms: int | None = None
    until_ms: int | None = None

    @property
    def owner(self) -> ColumnElement[bool]:
        """The target's own rows: the room's, or what the person sent."""
        return t.c.room_id == self.room_id if self.room_id is not None else t.c.sender == self.user_id

    def in_window(self, query: Select[Any]) -> Select[Any]:
        if self.since_ms is not None:
            query = query.where(t.c.origin_ts >= self.since_ms)
        if self.until_ms is not None:
            query = query.where(t.c.origin_ts < self.until_ms)
        return query


async def span_of(engine: AsyncEngine, target: Target) -> Span | None:
    """Where the target's rows lie in the archive (None: it has none in the window).

    Without a window: the first and the last of its rows, each one index look-up. With
    one: the rows in the window, read through the (room|sender, origin_ts) index.
    """
    async with engine.connect() as conn:
        if target.since_ms is None and target.until_ms is None:
            first = await conn.scalar(select(t.c.seq).where(target.owner).order_by(t.c.seq).limit(1))
            last = await conn.scalar(select(t.c.seq).where(target.owner).order_by(t.c.seq.desc()).limit(1))
        else:
            query = target.in_window(select(func.min(t.c.seq), func.max(t.c.seq)).where(target.owner))
            first, last = (await conn.execute(query)).one()
    return None if first is None or last is None else Span(int(first), int(last))


async def rows_in_span(engine: AsyncEngine, target: Target, span: Span) -> int:
    """How many of the target's rows lie in the span (the progress bar's total)."""
    async with engine.connect() as conn:
        query = select(func.count()).where(target.owner, t.c.seq.between(span.first, span.last))
        return int(await conn.scalar(query) or 0)


async def rooms_written_in(engine: AsyncEngine, user_id: str, span: Span) -> list[str]:
    """The rooms a person wrote in within the span (one pass over their own rows)."""
    query = (
        select(t.c.room_id).where(t.c.sender == user_id, t.c.seq.between(span.first, span.last)).distinct()
    )
    async with engine.connect() as conn:
        return [r[0] for r in await conn.execute(query)]


def sources(target: Target, span: Span, rooms: list[str]) -> list[ColumnElement[bool]]:
    """The conditions of the row streams to merge: the target's rows in the span, and the
    membership events (of the room, or of the rooms the person wrote in) up to its end."""
    own = target.owner & t.c.seq.between(span.first, span.last)
    if target.room_id is not None:
        return [own, IS_MEMBER & (t.c.room_id == target.room_id) & (t.c.seq < span.first)]
    if not rooms:
        return [own]
    return [own, IS_MEMBER & t.c.room_id.in_(rooms) & (t.c.seq <= span.last)]


async def merged(
    engine: AsyncEngine,
    keyring: Sealer,
    conditions: list[ColumnElement[bool]],
    page: int,
    seen: Callable[[], None] | None = None,
) -> AsyncIterator[ArchivedEvent]:
    """The rows matching any condition, decrypted, in archive order, each once."""
    streams = [iter_events(engine, keyring, where=c, page_size=page) for c in conditions]
    heap: list[tuple[int, int, ArchivedEvent]] = []
    for i, stream in enumerate(streams):
        first = await anext(stream, None)
        if first is not None:
            heap.append((first.seq, i, first))
    heapq.heapify(heap)
    last = 0
    while heap:
        seq, i, item = heapq.heappop(heap)
        following = await anext(streams[i], None)
        if following is not None:
            heapq.heappush(heap, (following.seq, i, following))
        if seen is not None and i == 0:
            seen()
        if seq == last:
            continue  # the person's own membership event, in both streams
        last = seq
        yield item
