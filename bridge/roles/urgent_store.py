"""Urgent messages and their timers in the database (table `urgent_messages`).

The timers are columns, not tasks: a restarted bridge reads the open rows and the pure
policy (policy.urgent.next_step) says what is due, so nothing lives only in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.role_tables import urgent_messages
from policy.urgent import UrgentFacts


@dataclass(frozen=True)
class UrgentRow:
    """One urgent message as stored."""

    event_id: str
    room_id: str
    sender: str
    kind: str  # "role" | "dm" | "channel"
    role: str | None
    recipients: tuple[str, ...]
    sent_ts: int
    repeat_ms: int
    escalate_ms: int | None
    escalate_to: str | None  # "role:NAME", a user id, "admins", or None (the role's backup)
    alerts: int = 0
    last_alert_ts: int | None = None
    read_ts: int | None = None
    read_by: str | None = None
    escalated_ts: int | None = None
    escalated_to: tuple[str, ...] | None = None
    escalation_room_id: str | None = None
    escalated_from: str | None = None
    cancelled: bool = False

    @property
    def facts(self) -> UrgentFacts:
        """The timers, for policy.urgent.next_step."""
        return UrgentFacts(
            sent_ms=self.sent_ts,
            read_ms=self.read_ts,
            last_alert_ms=self.last_alert_ts,
            escalated_ms=self.escalated_ts,
            cancelled=self.cancelled,
            repeat_ms=self.repeat_ms,
            escalate_ms=self.escalate_ms,
        )


def _row(r: Any) -> UrgentRow:
    return UrgentRow(
        event_id=r.event_id,
        room_id=r.room_id,
        sender=r.sender,
        kind=r.kind,
        role=r.role,
        recipients=tuple(r.recipients or ()),
        sent_ts=r.sent_ts,
        repeat_ms=r.repeat_ms,
        escalate_ms=r.escalate_ms,
        escalate_to=r.escalate_to,
        alerts=r.alerts,
        last_alert_ts=r.last_alert_ts,
        read_ts=r.read_ts,
        read_by=r.read_by,
        escalated_ts=r.escalated_ts,
        escalated_to=tuple(r.escalated_to) if r.escalated_to is not None else None,
        escalation_room_id=r.escalation_room_id,
        escalated_from=r.escalated_from,
        cancelled=bool(r.cancelled),
    )


class UrgentStore:
    """Reads and writes of `urgent_messages`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Rooms with open urgent messages, so the consumer's look-up for every message
        # (does a reply read an urgent message?) costs nothing in the common case. Only
        # this process opens and closes rows; None: read it again.
        self._open_rooms: set[str] | None = None
        self._generation = 0  # bumped by every open or close: a load racing one is not kept

    async def add(self, row: UrgentRow) -> bool:
        """Start tracking an urgent message; False if it is tracked already (replays)."""
        t = urgent_messages
        async with self.engine.begin() as conn:
            if await conn.scalar(select(t.c.event_id).where(t.c.event_id == row.event_id)):
                return False
            values = {k: v for k, v in row.__dict__.items()}
            values["recipients"] = list(row.recipients)
            values["escalated_to"] = list(row.escalated_to) if row.escalated_to is not None else None
            await conn.execute(insert(t).values(**values, open=True))
        self._generation += 1
        self._open_rooms = None
        return True

    async def get(self, event_id: str) -> UrgentRow | None:
        """One urgent message by event id."""
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(select(urgent_messages).where(urgent_messages.c.event_id == event_id))
            ).first()
        return _row(found) if found else None

    async def open_rows(self) -> list[UrgentRow]:
        """Urgent messages neither read, escalated nor cancelled."""
        query = (
            select(urgent_messages)
            .where(urgent_messages.c.open.is_(True))
            .order_by(urgent_messages.c.sent_ts)
        )
        async with self.engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]

    async def open_in_room(self, room_id: str) -> list[UrgentRow]:
        """Open urgent messages of one room."""
        t = urgent_messages
        if self._open_rooms is None:
            async with self.engine.connect() as conn:
                self._open_rooms = {
                    r[0] for r in await conn.execute(select(t.c.room_id).where(t.c.open.is_(True)))
                }
        if room_id not in self._open_rooms:
            return []
        query = select(t).where(t.c.open.is_(True), t.c.room_id == room_id)
        async with self.engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]

    async def between(self, start_ms: int, end_ms: int) -> list[UrgentRow]:
        """Every urgent message sent in [start_ms, end_ms), oldest first (the report)."""
        t = urgent_messages
        query = select(t).where(t.c.sent_ts >= start_ms, t.c.sent_ts < end_ms).order_by(t.c.sent_ts)
        async with self.engine.connect() as conn:
            return [_row(r) for r in await conn.execute(query)]

    async def mark_read(self, event_id: str, by: str, at_ms: int) -> bool:
        """Read: the timers stop. False if it was closed already."""
        return await self._close(event_id, read_ts=at_ms, read_by=by)

    async def mark_alert(self, event_id: str, at_ms: int, alerts: int) -> None:
        """One more repeat alert was sent."""
        t = urgent_messages
        async with self.engine.begin() as conn:
            await conn.execute(
                update(t).where(t.c.event_id == event_id).values(alerts=alerts, last_alert_ts=at_ms)
            )

    async def mark_escalated(self, event_id: str, at_ms: int, to: Sequence[str], room_id: str | None) -> bool:
        """Escalated (to `to`, in `room_id`): the timers stop."""
        return await self._close(
            event_id, escalated_ts=at_ms, escalated_to=list(to), escalation_room_id=room_id
        )

    async def _close(self, event_id: str, **values: Any) -> bool:
        t = urgent_messages
        async with self.engine.begin() as conn:
            done = await conn.execute(
                update(t).where(t.c.event_id == event_id, t.c.open.is_(True)).values(open=False, **values)
            )
        self._generation += 1
        self._open_rooms = None
        return bool(done.rowcount)
