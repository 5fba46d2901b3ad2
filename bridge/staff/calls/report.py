"""The calls report: one row per call on a day, in the organisation's time zone.

Shared by `carebridge report calls` and the bot's `!calls`, so both say the same thing.
45 CFR 164.312(b) audit controls: who called whom, when, how long, how it ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo

from bridge.core.clock import day_bounds
from bridge.staff.calls.store import CallRecord, CallStore

CALL_COLUMNS = ("time", "caller", "callee", "kind", "outcome", "duration", "ended by", "reason", "room")


def format_duration(ms: int | None) -> str:
    """Talk time as H:MM:SS or M:SS; empty when the call was never answered or is live."""
    if ms is None:
        return ""
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def call_rows(records: Sequence[CallRecord], tz: tzinfo) -> tuple[tuple[str, ...], ...]:
    """The report's rows (every cell a string), oldest call first."""
    rows = []
    for r in records:
        when = datetime.fromtimestamp(r.invite_ts / 1000, tz).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            (
                when,
                r.caller,
                r.callee or "",
                r.kind,
                str(r.outcome),
                format_duration(r.duration_ms),
                r.hangup_by or "",
                r.hangup_reason or "",
                r.room_id,
            )
        )
    return tuple(rows)


async def calls_on(
    store: CallStore, day: date, tz: tzinfo, user_id: str | None = None
) -> tuple[tuple[str, ...], ...]:
    """Rows for the calls invited on `day` (optionally made or received by one person)."""
    start, end = day_bounds(day, tz)
    return call_rows(await store.between(start, end, user_id), tz)
