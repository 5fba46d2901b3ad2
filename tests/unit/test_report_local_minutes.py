"""A report's remembered minutes give exactly the text of fmt_ts, across DST changes and
in zones whose historical offsets were not whole minutes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bridge.compliance.reports import LocalMinutes
from bridge.core.clock import fmt_ts, to_ms


def _every_13s(start: datetime, hours: int) -> list[int]:
    first = to_ms(start)
    return [first + k * 13_017 for k in range(hours * 3600 // 13)]


def test_same_text_as_fmt_ts_across_dst_and_odd_offsets() -> None:
    cases = [
        ("America/Chicago", datetime(2024, 3, 10, 0, 0, tzinfo=ZoneInfo("UTC"))),  # spring forward
        ("America/Chicago", datetime(2024, 11, 3, 4, 0, tzinfo=ZoneInfo("UTC"))),  # fall back
        ("Asia/Kolkata", datetime(2024, 6, 1, 0, 0, tzinfo=ZoneInfo("UTC"))),  # +05:30
        ("Africa/Monrovia", datetime(1960, 1, 1, 0, 0, tzinfo=ZoneInfo("UTC"))),  # -00:44:30
    ]
    for zone, start in cases:
        tz = ZoneInfo(zone)
        stamp = LocalMinutes(tz)
        stamps = _every_13s(start, 12)
        # Twice: the second pass is answered from what the first remembered.
        for _ in range(2):
            assert [stamp(ms) for ms in stamps] == [fmt_ts(ms, tz) for ms in stamps], zone
    assert LocalMinutes(ZoneInfo("UTC"))(None) == ""
