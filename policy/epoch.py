"""Instants as epoch milliseconds, the unit every Carebridge table and rule stores (pure).

Exact integer arithmetic (no float): an instant floors to its millisecond, and a
millisecond is the same instant back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def to_ms(at: datetime) -> int:
    """Epoch milliseconds of an aware datetime (floored)."""
    return (at - EPOCH) // _ONE_MS


def from_ms(ms: int) -> datetime:
    """Aware UTC datetime from epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)
