"""The call log in the Carebridge database (table `calls`, migration 0006)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.tables import calls
from bridge.staff.calls.model import MISSED_GRACE_MS, CallEvent, CallState, Outcome, apply_event, duration_ms


@dataclass(frozen=True)
class CallRecord:
    """One row of the call log."""

    room_id: str
    call_id: str
    caller: str
    callee: str | None
    kind: str
    invite_ts: int
    lifetime_ms: int
    joined_members: int
    outcome: Outcome
    answer_ts: int | None
    reject_ts: int | None
    hangup_ts: int | None
    hangup_by: str | None
    hangup_reason: str | None
    notice_event_id: str | None

    @property
    def duration_ms(self) -> int | None:
        """Talk time (answer to hangup), if the call was answered and is over."""
        return duration_ms(self.answer_ts, self.hangup_ts)


def _record(row: Any) -> CallRecord:
    return CallRecord(
        room_id=row.room_id,
        call_id=row.call_id,
        caller=row.caller,
        callee=row.callee,
        kind=row.kind,
        invite_ts=int(row.invite_ts),
        lifetime_ms=int(row.lifetime_ms),
        joined_members=int(row.joined_members),
        outcome=Outcome(row.outcome),
        answer_ts=row.answer_ts,
        reject_ts=row.reject_ts,
        hangup_ts=row.hangup_ts,
        hangup_by=row.hangup_by,
        hangup_reason=row.hangup_reason,
        notice_event_id=row.notice_event_id,
    )


def _key(room_id: str, call_id: str) -> Any:
    return and_(calls.c.room_id == room_id, calls.c.call_id == call_id)


class CallStore:
    """Reads and writes of the call log (SQLite and PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, room_id: str, call_id: str) -> CallRecord | None:
        """One call, or None."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(calls).where(_key(room_id, call_id)))).first()
        return _record(row) if row else None

    async def record_invite(
        self, event: CallEvent, callee: str | None, joined_members: int, outcome: Outcome
    ) -> bool:
        """Insert the call for its invite; False if it is already logged (replay)."""
        async with self.engine.begin() as conn:
            exists = await conn.scalar(
                select(func.count()).select_from(calls).where(_key(event.room_id, event.call_id))
            )
            if exists:
                return False
            await conn.execute(
                insert(calls).values(
                    room_id=event.room_id,
                    call_id=event.call_id,
                    caller=event.sender,
                    callee=callee,
                    kind=str(event.kind),
                    version=event.version,
                    lifetime_ms=event.lifetime_ms,
                    joined_members=joined_members,
                    invite_event_id=event.event_id,
                    invite_ts=event.ts,
                    outcome=str(outcome),
                )
            )
        return True

    async def apply(self, event: CallEvent) -> CallRecord | None:
        """Apply an answer / reject / hangup to its call; None if the call is unknown."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(select(calls).where(_key(event.room_id, event.call_id)))).first()
            if row is None:
                return None
            before = CallState(
                caller=row.caller,
                outcome=Outcome(row.outcome),
                invite_ts=int(row.invite_ts),
                lifetime_ms=int(row.lifetime_ms),
                answer_ts=row.answer_ts,
                answered_by=row.answered_by,
                reject_ts=row.reject_ts,
                rejected_by=row.rejected_by,
                hangup_ts=row.hangup_ts,
                hangup_by=row.hangup_by,
                hangup_reason=row.hangup_reason,
            )
            after = apply_event(before, event)
            if after != before:
                await conn.execute(
                    update(calls)
                    .where(_key(event.room_id, event.call_id))
                    .values(
                        outcome=str(after.outcome),
                        answer_ts=after.answer_ts,
                        answered_by=after.answered_by,
                        reject_ts=after.reject_ts,
                        rejected_by=after.rejected_by,
                        hangup_ts=after.hangup_ts,
                        hangup_by=after.hangup_by,
                        hangup_reason=after.hangup_reason,
                    )
                )
            row = (await conn.execute(select(calls).where(_key(event.room_id, event.call_id)))).first()
        return _record(row)

    async def mark_refused(self, room_id: str, call_id: str, hangup_by: str, ts: int, reason: str) -> None:
        """The bot hung up a call that broke the person-to-person rule."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(calls)
                .where(_key(room_id, call_id), calls.c.hangup_ts.is_(None))
                .values(outcome=str(Outcome.REFUSED), hangup_ts=ts, hangup_by=hangup_by, hangup_reason=reason)
            )

    async def expire_ringing(self, now_ms: int) -> int:
        """Ringing calls past their lifetime (plus grace) become missed; returns how many."""
        due = calls.c.invite_ts + calls.c.lifetime_ms + MISSED_GRACE_MS
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(calls)
                .where(calls.c.outcome == str(Outcome.RINGING), due <= now_ms)
                .values(outcome=str(Outcome.MISSED))
            )
        return int(result.rowcount or 0)

    async def next_due_ms(self) -> int | None:
        """When the next ringing call becomes missed, if any is ringing."""
        due = calls.c.invite_ts + calls.c.lifetime_ms + MISSED_GRACE_MS
        async with self.engine.connect() as conn:
            value = await conn.scalar(select(func.min(due)).where(calls.c.outcome == str(Outcome.RINGING)))
        return int(value) if value is not None else None

    async def missed_without_notice(self) -> list[CallRecord]:
        """Missed calls whose callee has not been left a notice yet."""
        query = select(calls).where(
            calls.c.outcome == str(Outcome.MISSED),
            calls.c.notice_event_id.is_(None),
            calls.c.callee.is_not(None),
        )
        async with self.engine.connect() as conn:
            return [_record(r) for r in await conn.execute(query.order_by(calls.c.invite_ts))]

    async def set_notice(self, room_id: str, call_id: str, event_id: str) -> None:
        """Remember the missed-call notice sent for a call (so it is sent once)."""
        async with self.engine.begin() as conn:
            await conn.execute(update(calls).where(_key(room_id, call_id)).values(notice_event_id=event_id))

    async def between(self, start_ms: int, end_ms: int, user_id: str | None = None) -> list[CallRecord]:
        """Calls invited in [start_ms, end_ms), optionally those a user made or received."""
        query = select(calls).where(calls.c.invite_ts >= start_ms, calls.c.invite_ts < end_ms)
        if user_id is not None:
            query = query.where(or_(calls.c.caller == user_id, calls.c.callee == user_id))
        async with self.engine.connect() as conn:
            return [_record(r) for r in await conn.execute(query.order_by(calls.c.invite_ts))]
