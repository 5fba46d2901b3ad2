"""Which sessions can matter to which day's attendance (pure, no I/O).

`policy.shifts.evaluate_day` looks at a day's sign-ins and sign-outs, at sign-ins from its
shift's early-login opening to the shift's end (the next morning for a night shift), and
at sessions still open at end + grace. Every one of those instants lies between the day's
midnight less the longest early login, and the next midnight plus a day and the longest
grace (a night shift ends the next morning).
A report handing each person-day only the sessions that overlap that span gets the same
answer as handing it all of the person's sessions, and a month of 5,000 people stays
linear instead of growing with days x sessions (bench/scale.py).
45 CFR 164.308(a)(5)(ii)(C) log-in monitoring.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TypeVar

from policy.shifts import ShiftSpec

SLACK = timedelta(hours=2)  # daylight-saving changes move a local midnight by an hour
T = TypeVar("T")


def _ms(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def reach_ms(specs: Iterable[ShiftSpec]) -> tuple[int, int]:
    """How far (ms) before a day's midnight and after the next one a session can still
    change that day's evaluation."""
    chosen = list(specs)
    early = max((s.early_login for s in chosen), default=timedelta(0))
    grace = max((s.grace for s in chosen), default=timedelta(0))
    return _ms(early + SLACK), _ms(timedelta(days=1) + grace + SLACK)


def sessions_by_day(
    sessions: Iterable[tuple[int | None, int | None, T]], midnights: Sequence[int], reach: tuple[int, int]
) -> list[list[T]]:
    """Bucket sessions given as (login ms or None, logout ms or None, item) by day: day i
    runs from midnights[i] to midnights[i + 1] (epoch ms, so there is one more midnight
    than days), and gets every item whose session overlaps [midnights[i] - before,
    midnights[i + 1] + after] (`reach` = (before, after)), in the order given."""
    before, after = reach
    days = len(midnights) - 1
    out: list[list[T]] = [[] for _ in range(days)]
    for login, logout, item in sessions:
        # Day i is reached when login < midnights[i + 1] + after and logout >= midnights[i] - before.
        first = 0 if login is None else max(0, bisect_right(midnights, login - after) - 1)
        last = days - 1 if logout is None else min(days - 1, bisect_right(midnights, logout + before) - 1)
        for i in range(first, last + 1):
            out[i].append(item)
    return out
