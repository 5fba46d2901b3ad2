"""Time as the compliance features see it: injectable, so tests never sleep through a shift."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from typing import Protocol


def now_ms() -> int:
    """The current time in epoch milliseconds (Matrix's and the database's time unit)."""
    return int(time.time() * 1000)


class Clock(Protocol):
    """Tells the time and waits; the scheduler and reports take one."""

    def now(self) -> datetime:
        """The current instant (timezone-aware, UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait (a manual clock returns at once)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """datetime.now(UTC)."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """The instant the test set."""
        return self._now

    def set(self, at: datetime) -> None:
        """Jump to `at` (aware)."""
        self._now = at.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        """Move forward by `delta`."""
        self._now += delta

    async def sleep(self, seconds: float) -> None:
        """Let other tasks run, without waiting."""
        await asyncio.sleep(0)


def to_ms(at: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(at.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC to the millisecond (exports)."""
    return from_ms(ms).isoformat(timespec="milliseconds")


def iso_seconds(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC to the second with a Z (reports), or None."""
    return None if ms is None else from_ms(ms).isoformat(timespec="seconds").replace("+00:00", "Z")


def day_bounds(day: date, tz: tzinfo) -> tuple[int, int]:
    """[local midnight, next local midnight) of `day` in `tz`, in epoch milliseconds."""
    start = datetime.combine(day, clock_time(0), tz)
    end = datetime.combine(day + timedelta(days=1), clock_time(0), tz)
    return to_ms(start), to_ms(end)


def local_minutes(at: datetime) -> str:
    """ "YYYY-MM-DD HH:MM" of an aware datetime: the same text as strftime, at a third of
    its cost (reports format thousands of these)."""
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"


def fmt_ts(ms: int | None, tz: tzinfo) -> str:
    """ "YYYY-MM-DD HH:MM" in the organisation's zone ("" for unknown)."""
    return "" if ms is None else local_minutes(datetime.fromtimestamp(ms / 1000, tz))
