"""The e2e tests' "shift around now" must be today's shift at any hour: run shortly after
UTC midnight, a shift that began yesterday is yesterday's in the day report, and the
person signing in now was "pending" today instead of "late" (CI, 00:30 UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from tests.compliance_helpers import shift_around_now


@pytest.mark.parametrize(
    "at", ["00:00:30", "00:01:59", "00:05", "00:30", "01:59", "02:00", "12:00", "21:00", "23:59"]
)
def test_the_shift_began_today_and_its_grace_is_over(at: str) -> None:
    now = datetime.combine(datetime(2026, 12, 6).date(), time.fromisoformat(at), UTC)
    shift = shift_around_now(now)
    start = datetime.combine(now.date(), time.fromisoformat(shift["start"]), UTC)
    assert start <= now
    assert start + timedelta(minutes=shift["grace_minutes"]) <= now
    assert shift["end"] != shift["start"]
