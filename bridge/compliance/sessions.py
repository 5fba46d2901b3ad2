"""The sessions ledger: the module's login/logout records turned into open/closed sessions.

A Dispatcher consumer. Records arrive as `org.carebridge.session` events the bot sent into
the administrators' room (anything else, or the same type from anyone else, is ignored:
only the module speaks as the bot there). Applying a record twice changes nothing: each
row remembers the event that opened or closed it. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.archive.writer import ArchivedEvent
from bridge.db.tables import failed_logins, sessions
from policy.event_types import SESSION_EVENT_TYPE
from policy.session_record import Kind, SessionRecord, parse_record

log = logging.getLogger(__name__)


class SessionLedger:
    """Maintains `sessions` and `failed_logins` from session records."""

    def __init__(self, engine: AsyncEngine, bot_user_id: str, admin_room: Callable[[], str | None]) -> None:
        self.engine = engine
        self.bot_user_id = bot_user_id
        self.admin_room = admin_room

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher entry point: apply the event if it is a session record from the module."""
        event = archived.event
        if event.get("type") != SESSION_EVENT_TYPE:
            return
        if event.get("sender") != self.bot_user_id or event.get("room_id") != self.admin_room():
            log.warning("ignored a session record not sent by the module: event %s", event.get("event_id"))
            return
        try:
            record = parse_record(event.get("content"))
        except ValueError as exc:
            log.warning("malformed session record %s: %s", event.get("event_id"), exc)
            return
        await self.apply(str(event["event_id"]), record)

    async def apply(self, event_id: str, record: SessionRecord) -> None:
        """Apply one record (idempotent by event id)."""
        async with self.engine.begin() as conn:
            if record.kind is Kind.LOGIN:
                await _login(conn, event_id, record)
            elif record.kind is Kind.LOGOUT:
                await _logout(conn, event_id, record)
            else:
                await _failed(conn, event_id, record)


async def _login(conn: AsyncConnection, event_id: str, record: SessionRecord) -> None:
    t = sessions
    if await conn.scalar(select(t.c.id).where(t.c.login_event_id == event_id)) is not None:
        return
    if await _resent(conn, t.c.login_ts, record):
        return
    values = {
        "login_ts": record.ts,
        "login_event_id": event_id,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "method": record.method,
    }
    # A logout that overtook its login (records are sent in order, so only across a
    # crash): the row opened by that logout gets its beginning now.
    orphan = await conn.scalar(
        select(t.c.id)
        .where(
            t.c.user_id == record.user_id,
            _same_device(record.device_id),
            t.c.login_ts.is_(None),
            t.c.logout_ts >= record.ts,
        )
        .order_by(t.c.logout_ts)
        .limit(1)
    )
    if orphan is not None:
        await conn.execute(update(t).where(t.c.id == orphan).values(values))
        return
    await conn.execute(insert(t).values(user_id=record.user_id, device_id=record.device_id, **values))


async def _logout(conn: AsyncConnection, event_id: str, record: SessionRecord) -> None:
    t = sessions
    if await conn.scalar(select(t.c.id).where(t.c.logout_event_id == event_id)) is not None:
        return
    if await _resent(conn, t.c.logout_ts, record):
        return
    closing = {
        "logout_ts": record.ts,
        "logout_event_id": event_id,
        "close_reason": record.reason,
        "closed_by": record.actor,
        "close_detail": record.detail,
    }
    target = await conn.scalar(
        select(t.c.id)
        .where(t.c.user_id == record.user_id, _same_device(record.device_id), t.c.logout_ts.is_(None))
        .order_by(t.c.login_ts.asc().nulls_first(), t.c.id)
        .limit(1)
    )
    if target is not None:
        await conn.execute(update(t).where(t.c.id == target).values(closing))
        return
    # The session began before Carebridge recorded logins: keep its end anyway.
    await conn.execute(insert(t).values(user_id=record.user_id, device_id=record.device_id, **closing))


async def _failed(conn: AsyncConnection, event_id: str, record: SessionRecord) -> None:
    t = failed_logins
    if await conn.scalar(select(t.c.id).where(t.c.event_id == event_id)) is not None:
        return
    same_user = t.c.user_id.is_(None) if record.user_id is None else t.c.user_id == record.user_id
    same_ip = t.c.ip.is_(None) if record.ip is None else t.c.ip == record.ip
    if await conn.scalar(select(t.c.id).where(same_user, same_ip, t.c.ts == record.ts).limit(1)) is not None:
        return  # the module sent this record again after a crash (same content, new event)
    await conn.execute(
        insert(t).values(
            event_id=event_id,
            user_id=record.user_id,
            ts=record.ts,
            ip=record.ip,
            user_agent=record.user_agent,
            reason=record.reason or "rejected",
        )
    )


async def _resent(conn: AsyncConnection, ts_column: ColumnElement[int], record: SessionRecord) -> bool:
    """The module's outbox sends a record again if Synapse crashed between sending it and
    forgetting it: same person, device and millisecond means the same login or logout."""
    found = await conn.scalar(
        select(sessions.c.id)
        .where(sessions.c.user_id == record.user_id, _same_device(record.device_id), ts_column == record.ts)
        .limit(1)
    )
    return found is not None


def _same_device(device_id: str | None) -> ColumnElement[bool]:
    return sessions.c.device_id.is_(None) if device_id is None else sessions.c.device_id == device_id
