"""Shift rules: measuring logins and logouts against a person's schedule (pure, no I/O).

Everything here takes plain facts (a schedule's days, start, end, grace and time zone; a
person's sessions; a date; "now") and returns a decision with a reason code, so the Synapse
module (login hours), the bridge scheduler (alerts, end-of-shift logout) and the reports
share one definition of "on time", "late", "missing" and "stayed logged in".

45 CFR 164.312(b) audit controls; 164.312(a)(2)(iii) automatic logoff; 164.308(a)(5)(ii)(C)
log-in monitoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from functools import cached_property, lru_cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_EARLY_LOGIN = timedelta(minutes=60)


class Status(StrEnum):
    """A scheduled person's attendance on one day."""

    ON_TIME = "on_time"  # logged in by start + grace
    LATE = "late"  # first login after start + grace, before the shift ended
    MISSING = "missing"  # no login by start + grace (and, once the shift is over, none at all)
    PENDING = "pending"  # start + grace has not come yet and no login so far
    OFF_SHIFT = "off_shift"  # not a working day for them, yet they logged in
    DAY_OFF = "day_off"  # not a working day, no login


class Flag(StrEnum):
    """Things worth an administrator's attention besides the attendance status."""

    STAYED_LOGGED_IN = "stayed_logged_in"  # a session was still open at end + grace
    OFF_SHIFT_LOGIN = "off_shift_login"  # a login outside every shift window that day


@dataclass(frozen=True)
class ShiftSpec:
    """One recurring shift, as written in org.yaml `schedules:`.

    `days` are the weekdays a shift STARTS on (0 = Monday). An `end` at or before `start`
    means the shift ends the next day (a 19:00-07:00 night shift).
    """

    name: str
    days: frozenset[int]
    start: time
    end: time
    grace: timedelta
    tz: tzinfo
    early_login: timedelta = DEFAULT_EARLY_LOGIN
    end_of_shift_logout: bool = False
    login_hours_only: bool = False

    @property
    def crosses_midnight(self) -> bool:
        """True when the shift ends on the day after it starts."""
        return self.end <= self.start

    def instance_on(self, day: date) -> ShiftInstance | None:
        """The shift starting on `day`, or None if `day` is not a working day."""
        return _instance_on(self, day)

    def instances_between(self, first: date, last: date) -> list[ShiftInstance]:
        """Every shift starting on a day in [first, last]."""
        out = []
        day = first
        while day <= last:
            instance = self.instance_on(day)
            if instance is not None:
                out.append(instance)
            day += timedelta(days=1)
        return out

    def local_date(self, at: datetime) -> date:
        """The calendar date of an instant in the schedule's time zone."""
        return at.astimezone(self.tz).date()


# Reports evaluate the same (shift, day) for every person on it: build each instance once.
@lru_cache(maxsize=4096)
def _instance_on(spec: ShiftSpec, day: date) -> ShiftInstance | None:
    if day.weekday() not in spec.days:
        return None
    start = datetime.combine(day, spec.start, spec.tz)
    end_day = day + timedelta(days=1) if spec.crosses_midnight else day
    end = datetime.combine(end_day, spec.end, spec.tz)
    return ShiftInstance(spec, day, _utc(start), _utc(end))


def _utc(at: datetime) -> datetime:
    # Wall-clock times in a zone: normalise through UTC so DST gaps/overlaps resolve the
    # way zoneinfo defines (fold=0), and arithmetic is on absolute instants.
    return at.astimezone(UTC)


@dataclass(frozen=True)
class ShiftInstance:
    """One concrete occurrence of a shift (absolute instants, UTC)."""

    spec: ShiftSpec
    day: date
    start: datetime
    end: datetime

    # Computed once per instance (instances are cached per shift and day, and a month's
    # report asks each of them thousands of times).
    @cached_property
    def deadline(self) -> datetime:
        """Start + grace: who has not logged in by now is missing."""
        return self.start + self.spec.grace

    @cached_property
    def overdue(self) -> datetime:
        """End + grace: a session still open now "stayed logged in"."""
        return self.end + self.spec.grace

    @cached_property
    def login_opens(self) -> datetime:
        """The earliest login that counts for this shift."""
        return self.start - self.spec.early_login

    def counts_login(self, at: datetime) -> bool:
        """Does a login at `at` belong to this shift (from early login until the end)?"""
        return self.login_opens <= at < self.end


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def epoch_us(at: datetime) -> int:
    """Epoch microseconds of an aware datetime, exactly (a datetime's own resolution)."""
    return (at - _EPOCH) // _ONE_US


def from_epoch_us(us: int) -> datetime:
    """The UTC datetime of epoch microseconds (exact)."""
    return _EPOCH + timedelta(microseconds=us)


def _to_minute(at: datetime) -> datetime:
    return at - timedelta(seconds=at.second, microseconds=at.microsecond)


@dataclass(frozen=True)
class ActiveSpan:
    """When a person can be expected at work on their schedule: from when their account
    was active and on that schedule (`start`) until it was deactivated (`end`), counted to
    the minute (an account made at 16:30:40 is there from 16:30); None is open-ended.

    45 CFR 164.308(a)(5)(ii)(C) log-in monitoring: nobody is reported missing for a shift
    they could not have signed in to, and everyone whose account overlapped a shift is.
    """

    start: datetime | None = None
    end: datetime | None = None

    @cached_property
    def _minutes(self) -> tuple[datetime | None, datetime | None]:
        """start and end cut to the minute (worked out once: reports ask per person-day)."""
        return (
            None if self.start is None else _to_minute(self.start),
            None if self.end is None else _to_minute(self.end),
        )

    @cached_property
    def us(self) -> tuple[int | None, int | None]:
        """(start, end) cut to the minute, in epoch microseconds (`span_overlaps_us`)."""
        first, last = self._minutes
        return (None if first is None else epoch_us(first), None if last is None else epoch_us(last))

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Does [start, end) share at least a minute with this span?"""
        return span_overlaps_us(self.us, epoch_us(start), epoch_us(end))

    def covers(self, at: datetime) -> bool:
        """Is the minute of `at` inside this span?"""
        return self.overlaps(at, at + timedelta(minutes=1))


def span_overlaps_us(span: tuple[int | None, int | None] | None, start: int, end: int) -> bool:
    """ActiveSpan.overlaps on epoch microseconds: `span` as ActiveSpan.us gives it (None:
    always), [start, end)."""
    if span is None:
        return True
    first, last = span
    if first is not None and first >= end:
        return False
    return last is None or start < last


ALWAYS = ActiveSpan()


@dataclass(frozen=True)
class SessionFacts:
    """A session as the evaluation needs it: when it began and ended (None = unknown/open)."""

    login: datetime | None
    logout: datetime | None
    device_id: str | None = None
    session_id: int | None = None

    def open_at(self, at: datetime) -> bool:
        """Was the session live at instant `at`?"""
        started = self.login is None or self.login <= at
        return started and (self.logout is None or self.logout > at)


@dataclass(frozen=True)
class DayEvaluation:
    """One scheduled person's day measured against their shift."""

    day: date
    status: Status
    flags: frozenset[Flag] = field(default_factory=frozenset)
    shift: ShiftInstance | None = None
    first_login: datetime | None = None
    last_logout: datetime | None = None
    logins: int = 0

    @property
    def labels(self) -> list[str]:
        """Status then flags, for tables and CSV (stable order)."""
        return [self.status.value, *sorted(f.value for f in self.flags)]


_NO_FLAGS: frozenset[Flag] = frozenset()
# Every flag set a day can have, built once: (off-shift login, stayed logged in) -> flags.
_FLAG_SETS: dict[tuple[bool, bool], frozenset[Flag]] = {
    (False, False): _NO_FLAGS,
    (True, False): frozenset({Flag.OFF_SHIFT_LOGIN}),
    (False, True): frozenset({Flag.STAYED_LOGGED_IN}),
    (True, True): frozenset({Flag.OFF_SHIFT_LOGIN, Flag.STAYED_LOGGED_IN}),
}


def span_us(span: ActiveSpan) -> tuple[int | None, int | None] | None:
    """A person's span for `ShiftDay.evaluate_us` and `span_overlaps_us` (None: ALWAYS)."""
    return None if span is ALWAYS else span.us


class DayOutcome(NamedTuple):
    """`ShiftDay.evaluate_us`'s answer: a DayEvaluation in epoch microseconds (on_shift:
    the day's shift applies to the person, DayEvaluation.shift is the ShiftDay's instance)."""

    status: Status
    flags: frozenset[Flag]
    on_shift: bool
    first_login: int | None
    last_logout: int | None
    logins: int


@dataclass(frozen=True)
class ShiftDay:
    """One calendar day of one schedule: its shift (if a working day), the shift windows a
    login that day may fall in (its own, and an overnight shift from the day before), and
    the day's local midnights. Built once per schedule and day, then used for everyone on
    that schedule (`evaluate`).

    The rules live once, in `evaluate_us`, on integer epoch microseconds (a month's report
    evaluates 150,000 person-days; a datetime comparison costs several integer ones);
    `evaluate` is the same on datetimes. Microseconds are a datetime's own resolution, so
    both give exactly the same answer (tests/unit/test_shift_days.py)."""

    spec: ShiftSpec
    day: date
    instance: ShiftInstance | None
    windows: tuple[tuple[datetime, datetime], ...]
    previous_windows: tuple[tuple[datetime, datetime], ...]  # the day before's shift only
    day_start: datetime
    day_end: datetime
    # The same in epoch microseconds: (start, end, login opens, deadline, overdue) of the
    # instance, the windows, and (day start, day end).
    shift_us: tuple[int, int, int, int, int] | None
    windows_us: tuple[tuple[int, int], ...]
    previous_windows_us: tuple[tuple[int, int], ...]
    day_us: tuple[int, int]

    def evaluate(
        self, sessions: Sequence[SessionFacts], now: datetime, span: ActiveSpan = ALWAYS
    ) -> DayEvaluation:
        """`evaluate_day` for this schedule and day."""
        seen: dict[int | None, datetime | None] = {None: None}
        pairs = []
        for s in sessions:
            login = None if s.login is None else epoch_us(s.login)
            logout = None if s.logout is None else epoch_us(s.logout)
            seen[login], seen[logout] = s.login, s.logout
            pairs.append((login, logout))
        out = self.evaluate_us(pairs, epoch_us(now), span_us(span))
        return DayEvaluation(
            self.day,
            out.status,
            out.flags,
            self.instance if out.on_shift else None,
            seen[out.first_login],
            seen[out.last_logout],
            out.logins,
        )

    def evaluate_us(
        self,
        sessions: Sequence[tuple[int | None, int | None]],
        now: int,
        span: tuple[int | None, int | None] | None = None,
    ) -> DayOutcome:
        """`evaluate_day` on epoch microseconds: sessions as (login, logout) (None: unknown
        or open), `now`, and the person's span as `span_us` gives it (None: always)."""
        shift, windows = self.shift_us, self.windows_us
        if shift is not None and span is not None and not span_overlaps_us(span, shift[0], shift[1]):
            # The shift was over before their account (or schedule) began, or vice versa.
            shift, windows = None, self.previous_windows_us
        if not sessions:
            if shift is None:
                return DayOutcome(Status.DAY_OFF, _NO_FLAGS, False, None, None, 0)
            status = Status.MISSING if now >= shift[3] else Status.PENDING
            return DayOutcome(status, _NO_FLAGS, True, None, None, 0)
        day_start, day_end = self.day_us
        # One pass over the sessions (a person-day has a handful): the day's logins (how
        # many, the earliest, whether one fell outside every window), its last logout, the
        # earliest login this shift counts, and whether a session was open at end + grace.
        if shift is None:
            logins, first_day, last_logout = 0, None, None
            for login, logout in sessions:
                if login is not None and day_start <= login < day_end:
                    logins += 1
                    if first_day is None or login < first_day:
                        first_day = login
                if (
                    logout is not None
                    and day_start <= logout < day_end
                    and (last_logout is None or logout > last_logout)
                ):
                    last_logout = logout
            status = Status.OFF_SHIFT if logins else Status.DAY_OFF
            return DayOutcome(status, _NO_FLAGS, False, first_day, last_logout, logins)
        _start, end, opens, deadline, overdue = shift
        logins, first_day, last_logout, first_login = 0, None, None, None
        off_shift = stayed = False
        for login, logout in sessions:
            if login is not None:
                if day_start <= login < day_end:
                    logins += 1
                    if first_day is None or login < first_day:
                        first_day = login
                    if not off_shift:
                        for opens_at, overdue_at in windows:
                            if opens_at <= login < overdue_at:
                                break
                        else:
                            off_shift = True
                if opens <= login < end and login <= now and (first_login is None or login < first_login):
                    first_login = login
                if login <= overdue and (logout is None or logout > overdue):
                    stayed = True
            elif logout is None or logout > overdue:
                stayed = True
            if (
                logout is not None
                and day_start <= logout < day_end
                and (last_logout is None or logout > last_logout)
            ):
                last_logout = logout
        if first_login is not None:
            status = Status.ON_TIME if first_login <= deadline else Status.LATE
        else:
            status = Status.MISSING if now >= deadline else Status.PENDING
            first_login = first_day
        flags = _FLAG_SETS[off_shift, stayed and now >= overdue]
        return DayOutcome(status, flags, True, first_login, last_logout, logins)


@lru_cache(maxsize=4096)
def shift_day(spec: ShiftSpec, day: date) -> ShiftDay:
    """The ShiftDay of `spec` on `day` (cached: reports ask for it once per person)."""
    instance = spec.instance_on(day)
    previous = spec.instance_on(day - timedelta(days=1))
    before = ((previous.login_opens, previous.overdue),) if previous is not None else ()
    windows = (*before, (instance.login_opens, instance.overdue)) if instance is not None else before
    start = _utc(datetime.combine(day, time(0), spec.tz))
    end = _utc(datetime.combine(day + timedelta(days=1), time(0), spec.tz))
    shift_us = None
    if instance is not None:
        shift_us = (
            epoch_us(instance.start),
            epoch_us(instance.end),
            epoch_us(instance.login_opens),
            epoch_us(instance.deadline),
            epoch_us(instance.overdue),
        )

    def us(pairs: tuple[tuple[datetime, datetime], ...]) -> tuple[tuple[int, int], ...]:
        return tuple((epoch_us(a), epoch_us(b)) for a, b in pairs)

    return ShiftDay(
        spec, day, instance, windows, before, start, end,
        shift_us, us(windows), us(before), (epoch_us(start), epoch_us(end)),
    )  # fmt: skip


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
    return shift_day(spec, day).evaluate(sessions, now, span)


@dataclass(frozen=True)
class LoginDecision:
    """Whether a login may proceed now, with a reason code and a message for the person."""

    allowed: bool
    reason: str
    message: str = ""


def login_decision(spec: ShiftSpec | None, at: datetime) -> LoginDecision:
    """May someone on `spec` log in at `at`? Only restricted when `login_hours_only` is on.

    Allowed from the shift's early-login opening until its end (an overnight shift from the
    previous day counts). 45 CFR 164.312(a)(1) access control; 164.312(d) authentication.
    """
    if spec is None:
        return LoginDecision(True, "unscheduled")
    if not spec.login_hours_only:
        return LoginDecision(True, "not_enforced")
    day = spec.local_date(at)
    for instance in (spec.instance_on(day - timedelta(days=1)), spec.instance_on(day)):
        if instance is not None and instance.counts_login(at):
            return LoginDecision(True, "within_shift")
    upcoming = next_login_window(spec, at)
    when = ""
    if upcoming is not None:
        local = upcoming.astimezone(spec.tz)
        when = f" Your next shift lets you sign in from {local:%a %d %b %H:%M} ({_zone_name(spec.tz)})."
    return LoginDecision(
        False,
        "outside_allowed_hours",
        "Sign-in is only allowed during your scheduled shift "
        f"({spec.start:%H:%M}-{spec.end:%H:%M} {_days_text(spec.days)}).{when} "
        "Contact an administrator if you need access now.",
    )


def next_login_window(spec: ShiftSpec, at: datetime) -> datetime | None:
    """When the next shift's login window opens after `at` (None if no working days)."""
    day = spec.local_date(at)
    for instance in spec.instances_between(day, day + timedelta(days=8)):
        if instance.login_opens > at:
            return instance.login_opens
    return None


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


def _days_text(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "every day"
    return ", ".join(DAY_NAMES[d].capitalize() for d in sorted(days))


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", tz))


def parse_hhmm(value: str) -> time:
    """ "07:30" -> time(7, 30); raises ValueError for anything else."""
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError(f"expected HH:MM, got {value!r}")
    return time(int(hours), int(minutes))


def spec_from_definition(name: str, definition: Mapping[str, Any], timezone: str) -> ShiftSpec:
    """Build a ShiftSpec from an org.yaml schedule as stored (JSON: days, start, end, ...).

    Used by the module (policy.json) and the bridge (directory), so both read the same keys.
    Raises ValueError/KeyError on a malformed definition.
    """
    days = frozenset(DAY_NAMES.index(str(d)) for d in definition["days"])
    return ShiftSpec(
        name=name,
        days=days,
        start=parse_hhmm(str(definition["start"])),
        end=parse_hhmm(str(definition["end"])),
        grace=timedelta(minutes=int(definition.get("grace_minutes", 15))),
        tz=ZoneInfo(timezone),
        early_login=timedelta(minutes=int(definition.get("early_login_minutes", 60))),
        end_of_shift_logout=bool(definition.get("end_of_shift_logout", False)),
        login_hours_only=bool(definition.get("login_hours_only", False)),
    )
