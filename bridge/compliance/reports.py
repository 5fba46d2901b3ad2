"""Compliance reports: who logged in and when, who is missing, sessions, attendance.

Shared by the bot commands, the CLI (`carebridge report`) and the scheduler's alerts, so
a question asked in chat and on the command line gets the same answer (and, for CSV, the
same bytes). Dates are calendar days in the organisation's time zone.
45 CFR 164.312(b) audit controls; 164.308(a)(1)(ii)(D) information system activity review.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, tzinfo
from operator import itemgetter
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.compliance.report_queries import (
    SessionRow,
    Span,
    failed_between,
    logins_between,
    open_sessions,
    session_spans,
    sessions_overlapping,
)
from bridge.core.clock import Clock, SystemClock, day_bounds, fmt_ts, local_minutes, to_ms
from bridge.core.report_table import ReportTable
from bridge.org.roster import Person, Roster, RosterSource
from policy.shift_days import reach_ms, sessions_by_day
from policy.shifts import (
    DayEvaluation,
    DayOutcome,
    Flag,
    ShiftDay,
    ShiftSpec,
    Status,
    epoch_us,
    from_epoch_us,
    shift_day,
    span_overlaps_us,
    span_us,
)

MINUTE_US = 60_000_000

ATTENDANCE_COLUMNS = (
    "date",
    "user",
    "name",
    "schedule",
    "shift",
    "status",
    "flags",
    "first_login",
    "last_logout",
    "logins",
)
LOGIN_COLUMNS = ("time", "user", "name", "result", "device", "logout", "duration", "closed", "ip", "client")
SESSION_COLUMNS = (
    "user",
    "device",
    "login",
    "logout",
    "duration",
    "closed",
    "closed_by",
    "ip",
    "client",
    "method",
)
ONLINE_COLUMNS = ("user", "name", "device", "since", "ip", "client")
MISSING_COLUMNS = ("date", "user", "name", "schedule", "shift_start", "status")


class LocalMinutes:
    """fmt_ts for one report, remembering each minute it has formatted: a day's logins
    cluster in a few hundred minutes, and a dict look-up is a tenth of the conversion.
    A minute is remembered only where the zone's offset is whole minutes (every zone
    today; some historical local mean times were not), so the text is always fmt_ts's."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._seen: dict[int, str] = {}

    def __call__(self, ms: int | None) -> str:
        if ms is None:
            return ""
        minute = ms // 60_000
        text = self._seen.get(minute)
        if text is None:
            at = datetime.fromtimestamp(minute * 60, self.tz)
            offset = at.utcoffset()
            if offset is None or offset.total_seconds() % 60:
                return fmt_ts(ms, self.tz)
            text = self._seen[minute] = local_minutes(at)
        return text

    def of(self, at: datetime | None) -> str:
        """The same for a datetime (fmt_dt's text)."""
        return "" if at is None else self(int(at.timestamp() * 1000))


def fmt_dt(at: datetime | None, tz: tzinfo) -> str:
    """Like fmt_ts for a datetime."""
    return local_minutes(at.astimezone(tz)) if at is not None else ""


def fmt_duration(start_ms: int | None, end_ms: int | None) -> str:
    """ "3h 05m" (empty if either end is unknown)."""
    if start_ms is None or end_ms is None:
        return ""
    minutes = max(0, end_ms - start_ms) // 60_000
    return f"{minutes // 60}h {minutes % 60:02d}m"


def closed_text(row: SessionRow) -> str:
    """How a session ended: "logout", "automatic (end_of_shift)", "" while open."""
    if row.logout_ts is None:
        return ""
    reason = row.close_reason or "unknown"
    return f"{reason} ({row.close_detail})" if row.close_detail else reason


def week_of(day: date) -> tuple[date, date]:
    """Monday and Sunday of the ISO week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


class Evaluated(NamedTuple):
    """One scheduled person's day (a named tuple: a month's report makes 150,000)."""

    person: Person
    spec: ShiftSpec
    evaluation: DayEvaluation


class Reports:
    """Builds report tables from the sessions ledger and the directory."""

    def __init__(self, engine: AsyncEngine, directory: RosterSource, clock: Clock | None = None) -> None:
        self.engine = engine
        self.directory = directory
        self.clock: Clock = clock or SystemClock()

    async def today(self) -> date:
        """Today's date in the organisation's time zone."""
        roster = await self.directory.roster()
        return self.clock.now().astimezone(roster.tz).date()

    # --- attendance ----------------------------------------------------------------
    async def _person_days(self, first: date, last: date, roster: Roster) -> Iterator[PersonDay]:
        """Every scheduled person's day in [first, last] that a report lists, by day then
        user: (the schedule's ShiftDay, the person, their schedule, the outcome)."""
        tz = roster.tz
        # Overnight shifts reach into the next day; early logins into the day before.
        start_ms, _ = day_bounds(first - timedelta(days=1), tz)
        _, end_ms = day_bounds(last + timedelta(days=1), tz)
        found = await session_spans(self.engine, start_ms, end_ms)
        return _person_days(first, last, roster, found, epoch_us(self.clock.now()))

    async def evaluate(self, first: date, last: date, roster: Roster | None = None) -> list[Evaluated]:
        """Every scheduled person on every day in [first, last], by day then user."""
        roster = roster or await self.directory.roster()
        out = []
        for today, person, spec, o in await self._person_days(first, last, roster):
            evaluation = DayEvaluation(
                today.day,
                o.status,
                o.flags,
                today.instance if o.on_shift else None,
                None if o.first_login is None else from_epoch_us(o.first_login),
                None if o.last_logout is None else from_epoch_us(o.last_logout),
                o.logins,
            )
            out.append(Evaluated(person, spec, evaluation))
        return out

    async def attendance(self, first: date, last: date) -> ReportTable:
        """The day/week report: each scheduled person's status per day (the `!report` CSV)."""
        roster = await self.directory.roster()
        rows = []
        # Thousands of rows share a handful of days, shifts, statuses and flag sets, and a
        # few thousand minutes: format each once.
        texts: dict[int, tuple[str, str]] = {}  # id(ShiftDay) -> (its date, its shift)
        statuses = {s: s.value for s in Status}
        flag_sets: dict[frozenset[Flag], str] = {}
        stamp = LocalMinutes(roster.tz)
        for today, person, spec, o in await self._person_days(first, last, roster):
            text = texts.get(id(today))
            if text is None:
                text = texts[id(today)] = (today.day.isoformat(), f"{spec.start:%H:%M}-{spec.end:%H:%M}")
            day, shift = text
            flags = flag_sets.get(o.flags)
            if flags is None:
                flags = flag_sets[o.flags] = " ".join(sorted(f.value for f in o.flags))
            login, logout = o.first_login, o.last_logout
            rows.append(
                (
                    day,
                    person.user_id,
                    person.display_name,
                    spec.name,
                    shift if o.on_shift else "",
                    statuses[o.status],
                    flags,
                    "" if login is None else stamp(login // 1000),
                    "" if logout is None else stamp(logout // 1000),
                    str(o.logins),
                )
            )
        span = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
        return ReportTable(
            f"Attendance {span}", ATTENDANCE_COLUMNS, tuple(rows), f"Times in {roster.timezone}."
        )

    async def day(self, day: date | None = None) -> ReportTable:
        """Attendance for one day (default: today)."""
        day = day or await self.today()
        return await self.attendance(day, day)

    async def week(self, day: date | None = None) -> ReportTable:
        """Attendance for the Monday-Sunday week holding `day` (default: this week)."""
        first, last = week_of(day or await self.today())
        return await self.attendance(first, last)

    async def missing(self, day: date | None = None) -> ReportTable:
        """Scheduled people with no login by start + grace on `day` (default: today, so far)."""
        roster = await self.directory.roster()
        day = day or self.clock.now().astimezone(roster.tz).date()
        rows = []
        for item in await self.evaluate(day, day, roster):
            e = item.evaluation
            if e.status is Status.MISSING and e.shift is not None:
                rows.append(
                    (
                        day.isoformat(),
                        item.person.user_id,
                        item.person.display_name,
                        item.spec.name,
                        fmt_dt(e.shift.start, roster.tz),
                        e.status.value,
                    )
                )
        return ReportTable(
            f"Missing on {day.isoformat()}", MISSING_COLUMNS, tuple(rows), f"Times in {roster.timezone}."
        )

    # --- sessions ------------------------------------------------------------------
    async def logins(
        self, day: date | None = None, user_id: str | None = None, last: date | None = None
    ) -> ReportTable:
        """Sign-ins (and failed attempts) on `day` (default today), or from `day` through
        `last`, optionally for one person."""
        roster = await self.directory.roster()
        tz = roster.tz
        day = day or self.clock.now().astimezone(tz).date()
        last = last or day
        start_ms, _ = day_bounds(day, tz)
        _, end_ms = day_bounds(last, tz)
        entries: list[tuple[int, int, tuple[str, ...]]] = []
        stamp = LocalMinutes(tz)
        name = roster.name
        # A month has 100,000 sign-ins but few distinct durations (in minutes) and ways
        # of ending: each text is made once.
        durations: dict[int, str] = {}
        endings: dict[tuple[str | None, str | None], str] = {}
        for r in await logins_between(self.engine, start_ms, end_ms, user_id):
            _id, user, device, login, logout, ip, agent, _method, reason, _by, detail = r
            assert login is not None
            duration = ending = ""
            if logout is not None:
                minutes = max(0, logout - login) // 60_000
                duration = durations.get(minutes, "")
                if not duration:
                    duration = durations[minutes] = fmt_duration(login, logout)
                ending = endings.get((reason, detail), "")
                if not ending:
                    ending = endings[reason, detail] = closed_text(r)
            cells = (
                stamp(login),
                user,
                name(user),
                "ok",
                device or "",
                stamp(logout),
                duration,
                ending,
                ip or "",
                agent or "",
            )
            entries.append((login, 0, cells))
        for f in await failed_between(self.engine, start_ms, end_ms, user_id):
            who = f.user_id or "(unknown account)"
            cells = (
                stamp(f.ts),
                who,
                name(who),
                f"failed: {f.reason}",
                "",
                "",
                "",
                "",
                f.ip or "",
                f.user_agent or "",
            )
            entries.append((f.ts, 1, cells))
        entries.sort(key=itemgetter(0, 1))  # sign-ins and failures each come in order
        who = f" for {user_id}" if user_id else ""
        span = f"on {day.isoformat()}" if last == day else f"from {day.isoformat()} to {last.isoformat()}"
        title = f"Logins {span}{who}"
        return ReportTable(title, LOGIN_COLUMNS, tuple(e[2] for e in entries), f"Times in {roster.timezone}.")

    async def sessions(self, user_id: str, days: int = 7) -> ReportTable:
        """A person's sessions live at any time in the last `days` days (today included)."""
        roster = await self.directory.roster()
        tz = roster.tz
        today = self.clock.now().astimezone(tz).date()
        start_ms, _ = day_bounds(today - timedelta(days=max(1, days) - 1), tz)
        end_ms = to_ms(self.clock.now()) + 1
        stamp = LocalMinutes(tz)
        rows = [
            (
                r.user_id,
                r.device_id or "",
                stamp(r.login_ts) or "(before records)",
                stamp(r.logout_ts) or "(open)",
                fmt_duration(r.login_ts, r.logout_ts),
                closed_text(r),
                r.closed_by or "",
                r.ip or "",
                r.user_agent or "",
                r.method or "",
            )
            for r in await sessions_overlapping(self.engine, start_ms, end_ms, user_id)
        ]
        title = f"Sessions of {user_id}, last {days} day(s)"
        return ReportTable(title, SESSION_COLUMNS, tuple(rows), f"Times in {roster.timezone}.")

    async def online(self) -> ReportTable:
        """Who has a live session now."""
        roster = await self.directory.roster()
        stamp = LocalMinutes(roster.tz)
        name = roster.name
        rows = [
            (
                r.user_id,
                name(r.user_id),
                r.device_id or "",
                stamp(r.login_ts),
                r.ip or "",
                r.user_agent or "",
            )
            for r in await open_sessions(self.engine)
        ]
        return ReportTable("Online now", ONLINE_COLUMNS, tuple(rows), f"Times in {roster.timezone}.")


# One listed person-day: (the schedule's day, the person, their schedule, the outcome).
PersonDay = tuple[ShiftDay, Person, ShiftSpec, DayOutcome]


def _person_days(
    first: date, last: date, roster: Roster, found: Iterable[Span], now_us: int
) -> Iterator[PersonDay]:
    """Evaluate every scheduled person on every day in [first, last] (by day, then user)
    against the sessions `found`, on epoch microseconds (`ShiftDay.evaluate_us`), and yield
    the days a report lists."""
    tz = roster.tz
    by_user: dict[str, list[tuple[int | None, int | None, tuple[int | None, int | None]]]]
    by_user = defaultdict(list)
    for user_id, login, logout in found:
        us = (None if login is None else login * 1000, None if logout is None else logout * 1000)
        by_user[user_id].append((login, logout, us))
    scheduled = roster.scheduled(include_inactive=True)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    midnights = [day_bounds(d, tz)[0] for d in days] + [day_bounds(last, tz)[1]]
    # Each person-day gets only the sessions that can matter to it (policy.shift_days):
    # the same answer, in time linear in the days and the sessions.
    reach = reach_ms(spec for _person, spec in scheduled)
    nobody: list[list[tuple[int | None, int | None]]] = [[] for _ in days]
    specs: dict[int, tuple[int, ShiftSpec]] = {}  # each schedule once (by identity), numbered
    people = []
    for person, spec in scheduled:
        found_by_day = nobody
        if person.user_id in by_user:
            found_by_day = sessions_by_day(by_user[person.user_id], midnights, reach)
        k = specs.setdefault(id(spec), (len(specs), spec))[0]
        people.append((person, spec, k, found_by_day, span_us(person.span)))
    for i, day in enumerate(days):
        midnight = midnights[i] * 1000
        todays = [shift_day(spec, day) for _k, spec in specs.values()]
        for person, spec, k, found_by_day, span in people:
            today = todays[k]
            o = today.evaluate_us(found_by_day[i], now_us, span)
            # Nobody is expected for a shift their account (on that schedule) did not
            # overlap; such a day is left out unless they did sign in (then it is reported
            # as it was: off shift). A day off is listed while their account existed (its
            # minute of midnight inside the span: ActiveSpan.covers).
            if (
                o.on_shift
                or o.logins
                or (today.shift_us is None and span_overlaps_us(span, midnight, midnight + MINUTE_US))
            ):
                yield today, person, spec, o


def summarise(items: Iterable[Evaluated]) -> dict[str, int]:
    """Count statuses and flags (for the daily summary)."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.evaluation.status.value] += 1
        for flag in item.evaluation.flags:
            counts[flag.value] += 1
    return dict(counts)
