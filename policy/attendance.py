"""One person's day against their shift: on time, late, missing, stayed logged in (pure).

`evaluate_day` is the one definition of attendance, used by the reports, `!missing`, the
shift alerts and end-of-shift logout (`logout_due`). It works on epoch milliseconds: a
month's attendance of 5,000 people is 150,000 person-days, each with a handful of
sessions, and integers compare and sort at a fraction of datetimes' cost. `ShiftDay` holds
what is the same for everyone on a schedule on a day, built once (`shift_day`).
45 CFR 164.308(a)(5)(ii)(C) log-in monitoring; 164.312(a)(2)(iii) automatic logoff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from policy.epoch import from_ms, to_ms
from policy.shifts import ALWAYS, ActiveSpan, Flag, ShiftInstance, ShiftSpec, Status


def _instant(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(ms)


class SessionFacts(NamedTuple):
    """A session as the evaluation needs it: when it began and ended, in epoch ms (None =
    unknown/open). A month's report makes a hundred thousand: integers, not datetimes."""

    login_ms: int | None
    logout_ms: int | None
    device_id: str | None = None
    session_id: int | None = None

    @classmethod
    def at(cls, login: datetime | None, logout: datetime | None) -> SessionFacts:
        """The facts of a session begun at `login` and ended at `logout` (None: unknown/open)."""
        return cls(None if login is None else to_ms(login), None if logout is None else to_ms(logout))

    @property
    def login(self) -> datetime | None:
        """When it began (UTC), if known."""
        return _instant(self.login_ms)

    @property
    def logout(self) -> datetime | None:
        """When it ended (UTC); None while open."""
        return _instant(self.logout_ms)

    def open_at(self, at: datetime) -> bool:
        """Was the session live at instant `at`?"""
        ms = to_ms(at)
        started = self.login_ms is None or self.login_ms <= ms
        return started and (self.logout_ms is None or self.logout_ms > ms)


_NO_FLAGS: frozenset[Flag] = frozenset()
# The four flag sets an evaluation can give (off-shift login?, stayed logged in?).
_FLAG_SETS = {
    (off, stayed): frozenset(
        ({Flag.OFF_SHIFT_LOGIN} if off else set()) | ({Flag.STAYED_LOGGED_IN} if stayed else set())
    )
    for off in (False, True)
    for stayed in (False, True)
}


class DayEvaluation(NamedTuple):
    """One scheduled person's day measured against their shift (a named tuple: a month's
    report makes 150,000). Times are epoch ms; `first_login`/`last_logout` as datetimes."""

    day: date
    status: Status
    flags: frozenset[Flag] = _NO_FLAGS
    shift: ShiftInstance | None = None
    first_login_ms: int | None = None
    last_logout_ms: int | None = None
    logins: int = 0

    @property
    def first_login(self) -> datetime | None:
        """The login shown for the day (the first counted for the shift, else the day's first)."""
        return _instant(self.first_login_ms)

    @property
    def last_logout(self) -> datetime | None:
        """The day's last logout."""
        return _instant(self.last_logout_ms)

    @property
    def labels(self) -> list[str]:
        """Status then flags, for tables and CSV (stable order)."""
        return [self.status.value, *sorted(f.value for f in self.flags)]


class _ShiftTimes(NamedTuple):
    """A shift instance's instants in epoch ms."""

    opens: int  # early login opens
    end: int
    overdue: int  # end + grace
    deadline: int  # start + grace


@dataclass(frozen=True)
class ShiftDay:
    """One calendar day of one schedule: its shift (if a working day), the shift windows a
    login that day may fall in (its own, and an overnight shift from the day before), and
    the day's local midnights, all in epoch ms. Built once per schedule and day, then used
    for everyone on that schedule (`evaluate`)."""

    spec: ShiftSpec
    day: date
    instance: ShiftInstance | None
    times: _ShiftTimes | None
    windows: tuple[tuple[int, int], ...]
    previous_windows: tuple[tuple[int, int], ...]  # the day before's shift only
    day_start: int
    day_end: int

    def evaluate(
        self, sessions: Sequence[SessionFacts], now_ms: int, span: ActiveSpan = ALWAYS
    ) -> DayEvaluation:
        """`evaluate_day` for this schedule and day, as of `now_ms`."""
        day, instance, times, windows = self.day, self.instance, self.times, self.windows
        if instance is not None and span is not ALWAYS and not span.overlaps(instance.start, instance.end):
            # The shift was over before their account (or schedule) began, or vice versa.
            instance, times, windows = None, None, self.previous_windows
        if not sessions:
            if times is None:
                return DayEvaluation(day, Status.DAY_OFF)
            status = Status.MISSING if now_ms >= times.deadline else Status.PENDING
            return DayEvaluation(day, status, _NO_FLAGS, instance)
        # One pass over the sessions (a person-day has a handful): the day's logins and
        # logouts, the logins this shift counts, and whether one was open at end + grace.
        day_start, day_end = self.day_start, self.day_end
        opens, end, overdue = (times.opens, times.end, times.overdue) if times is not None else (0, 0, 0)
        day_logins: list[int] = []
        counted: list[int] = []
        last_logout: int | None = None
        stayed = False
        for login, logout, _device, _id in sessions:
            if login is not None:
                if day_start <= login < day_end:
                    day_logins.append(login)
                if times is not None and opens <= login < end and login <= now_ms:
                    counted.append(login)
            if (
                logout is not None
                and day_start <= logout < day_end
                and (last_logout is None or logout > last_logout)
            ):
                last_logout = logout
            if (
                times is not None
                and (login is None or login <= overdue)
                and (logout is None or logout > overdue)
            ):
                stayed = True
        day_logins.sort()
        off = any(not any(a <= at < b for a, b in windows) for at in day_logins)
        if times is None:
            status = Status.OFF_SHIFT if day_logins else Status.DAY_OFF
            first = day_logins[0] if day_logins else None
            return DayEvaluation(day, status, _NO_FLAGS, None, first, last_logout, len(day_logins))
        first_login = min(counted) if counted else None
        if first_login is not None:
            status = Status.ON_TIME if first_login <= times.deadline else Status.LATE
        else:
            status = Status.MISSING if now_ms >= times.deadline else Status.PENDING
        flags = _FLAG_SETS[off, stayed and now_ms >= overdue]
        shown_login = first_login if first_login is not None else (day_logins[0] if day_logins else None)
        return DayEvaluation(day, status, flags, instance, shown_login, last_logout, len(day_logins))


def _window(instance: ShiftInstance) -> tuple[int, int]:
    return to_ms(instance.login_opens), to_ms(instance.overdue)


@lru_cache(maxsize=4096)
def shift_day(spec: ShiftSpec, day: date) -> ShiftDay:
    """The ShiftDay of `spec` on `day` (cached: reports ask for it once per person)."""
    instance = spec.instance_on(day)
    previous = spec.instance_on(day - timedelta(days=1))
    before = (_window(previous),) if previous is not None else ()
    windows = (*before, _window(instance)) if instance is not None else before
    times = None
    if instance is not None:
        ends = to_ms(instance.end), to_ms(instance.overdue), to_ms(instance.deadline)
        times = _ShiftTimes(to_ms(instance.login_opens), *ends)
    start = datetime.combine(day, time(0), spec.tz)
    end = datetime.combine(day + timedelta(days=1), time(0), spec.tz)
    return ShiftDay(spec, day, instance, times, windows, before, to_ms(start), to_ms(end))


def evaluate_day(
    spec: ShiftSpec,
    day: date,
    sessions: Sequence[SessionFacts],
    now: datetime,
    span: ActiveSpan = ALWAYS,
) -> DayEvaluation:
    """Classify one person's `day` (in the schedule's zone) against `spec`, as of `now`.

    A working day is one whose shift overlaps `span` (the person's account active and on
    this schedule) by at least a minute, even if the account began after the shift had
    started (they are on that shift, and not signed in). On a working day: ON_TIME (first
    counted login at or before start + grace), LATE (after it, before the end), MISSING
    (none by start + grace; PENDING before that instant). Otherwise: OFF_SHIFT if they
    logged in, else DAY_OFF. Flags: STAYED_LOGGED_IN when a session was still open at
    end + grace (known once that instant has passed); OFF_SHIFT_LOGIN when a login that day
    fell outside every shift window (early login .. end + grace) of that day or of an
    overnight shift from the day before.
    45 CFR 164.308(a)(5)(ii)(C) log-in monitoring.
    """
    return shift_day(spec, day).evaluate(sessions, to_ms(now), span)


def logout_due(spec: ShiftSpec, sessions: Iterable[SessionFacts], now: datetime) -> list[SessionFacts]:
    """Open sessions that end-of-shift logout must end at `now`.

    A session is due when the latest shift whose end + grace has passed found it open
    (sessions begun after that instant, e.g. an allowed off-shift login, are left alone
    until the next shift's end). Empty unless `end_of_shift_logout` is on.
    45 CFR 164.312(a)(2)(iii) automatic logoff.
    """
    if not spec.end_of_shift_logout:
        return []
    day = spec.local_date(now)
    past = [i.overdue for i in spec.instances_between(day - timedelta(days=8), day) if i.overdue <= now]
    if not past:
        return []
    latest = max(past)
    return [s for s in sessions if s.logout is None and (s.login is None or s.login <= latest)]
