"""A month of attendance hands each person-day only the sessions that can matter to it
(policy.shift_days) and evaluates it in one pass (policy.shifts.ShiftDay): the answer must
be exactly the one the original evaluation gives with every session of the person, for
day, evening and night shifts, accounts active for only part of the time, long early
logins and graces, sessions without a start or an end, sessions spanning days, and a
daylight-saving change in the middle."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from policy.shift_days import reach_ms, sessions_by_day
from policy.shifts import (
    ALWAYS,
    ActiveSpan,
    DayEvaluation,
    Flag,
    SessionFacts,
    ShiftSpec,
    Status,
    epoch_us,
    evaluate_day,
    shift_day,
    span_us,
)

TZ = ZoneInfo("America/Chicago")  # clocks go forward on 2025-03-09
FIRST, DAYS = date(2025, 3, 1), 21


def reference(
    spec: ShiftSpec, day: date, sessions: Sequence[SessionFacts], now: datetime, span: ActiveSpan
) -> DayEvaluation:
    """evaluate_day as it was written before reports were made fast (every session, four
    passes): the definition the fast path must reproduce."""
    instance = spec.instance_on(day)
    if instance is not None and not span.overlaps(instance.start, instance.end):
        instance = None
    neighbours = [i for i in (spec.instance_on(day - timedelta(days=1)), instance) if i is not None]
    day_start = datetime.combine(day, datetime.min.time(), spec.tz).astimezone(UTC)
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), spec.tz).astimezone(UTC)
    day_logins = sorted(s.login for s in sessions if s.login is not None and day_start <= s.login < day_end)
    flags: set[Flag] = set()
    if any(not any(i.login_opens <= at < i.overdue for i in neighbours) for at in day_logins):
        flags.add(Flag.OFF_SHIFT_LOGIN)
    logouts = [s.logout for s in sessions if s.logout is not None and day_start <= s.logout < day_end]
    last_logout = max(logouts) if logouts else None
    if instance is None:
        status = Status.OFF_SHIFT if day_logins else Status.DAY_OFF
        first = day_logins[0] if day_logins else None
        return DayEvaluation(day, status, frozenset(), None, first, last_logout, len(day_logins))
    counted = sorted(
        s.login for s in sessions if s.login is not None and instance.counts_login(s.login) and s.login <= now
    )
    first_login = counted[0] if counted else None
    if first_login is not None:
        status = Status.ON_TIME if first_login <= instance.deadline else Status.LATE
    else:
        status = Status.MISSING if now >= instance.deadline else Status.PENDING
    if now >= instance.overdue and any(s.open_at(instance.overdue) for s in sessions):
        flags.add(Flag.STAYED_LOGGED_IN)
    shown = first_login or (day_logins[0] if day_logins else None)
    return DayEvaluation(day, status, frozenset(flags), instance, shown, last_logout, len(day_logins))


def _spec(rng: random.Random, tz: tzinfo) -> ShiftSpec:
    start_h = rng.choice((7, 15, 19, 23, 0))
    length = rng.choice((8, 12, 16))
    return ShiftSpec(
        name=f"s{start_h}-{length}",
        days=frozenset(rng.sample(range(7), rng.randint(1, 7))),
        start=datetime.min.time().replace(hour=start_h),
        end=datetime.min.time().replace(hour=(start_h + length) % 24),
        grace=timedelta(minutes=rng.choice((0, 15, 180))),
        tz=tz,
        early_login=timedelta(minutes=rng.choice((0, 60, 600))),
    )


def _sessions(rng: random.Random) -> list[SessionFacts]:
    base = datetime.combine(FIRST, datetime.min.time(), TZ).astimezone(UTC)
    out = []
    for n in range(rng.randint(0, 40)):
        login = base + timedelta(minutes=rng.randint(-2000, DAYS * 1440 + 2000))
        length = timedelta(minutes=rng.choice((5, 300, 480, 900, 2000, 5000)))
        out.append(
            SessionFacts(
                login=None if rng.random() < 0.05 else login,
                logout=None if rng.random() < 0.1 else login + length,
                session_id=n,
            )
        )
    return out


def test_bucketed_one_pass_evaluation_is_the_original() -> None:
    rng = random.Random(24)
    days = [FIRST + timedelta(days=i) for i in range(DAYS)]
    midnights = [int(datetime.combine(d, datetime.min.time(), TZ).timestamp() * 1000) for d in days]
    midnights.append(
        int(datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), TZ).timestamp() * 1000)
    )

    def ms(at: datetime | None) -> int | None:
        return None if at is None else int(at.timestamp() * 1000)

    checked = 0
    for _person in range(120):
        spec = _spec(rng, TZ)
        sessions = _sessions(rng)
        now = datetime.combine(FIRST, datetime.min.time(), TZ) + timedelta(days=rng.uniform(0, DAYS + 2))
        began = datetime.combine(FIRST, datetime.min.time(), TZ) + timedelta(
            hours=rng.uniform(-48, DAYS * 24)
        )
        ended = began + timedelta(hours=rng.uniform(1, DAYS * 24))
        span = rng.choice(
            [ALWAYS, ActiveSpan(began, None), ActiveSpan(None, ended), ActiveSpan(began, ended)]
        )
        buckets = sessions_by_day(
            ((ms(s.login), ms(s.logout), s) for s in sessions), midnights, reach_ms([spec])
        )
        for i, day in enumerate(days):
            want = reference(spec, day, sessions, now, span)
            assert evaluate_day(spec, day, sessions, now, span) == want, (spec, day, span)
            assert shift_day(spec, day).evaluate(buckets[i], now, span) == want, (spec, day, span)
            checked += 1
    assert checked == 120 * DAYS


def test_every_day_in_the_reach_gets_the_session_and_no_day_outside_it() -> None:
    hour = 3_600_000
    midnights = [i * 24 * hour for i in range(6)]  # five days
    reach = (2 * hour, 26 * hour)  # two hours before a day, a day and two hours after it
    night = (2 * 24 * hour + 22 * hour, 3 * 24 * hour + 6 * hour, "night")  # day 2 22:00 to day 3 06:00
    buckets = sessions_by_day(
        [night, (None, 5 * hour, "old"), (4 * 24 * hour, None, "open")], midnights, reach
    )
    # Day i gets a session when login < next midnight + 26 h and logout >= midnight - 2 h.
    assert [("night" in b, "old" in b, "open" in b) for b in buckets] == [
        (False, True, False),
        (True, False, False),  # day 1's night shift, ending day 2 + grace, may count it
        (True, False, True),
        (True, False, True),
        (False, False, True),
    ]


def test_integer_rules_agree_with_the_original_at_every_boundary_to_the_microsecond() -> None:
    """The rules run on epoch microseconds (ShiftDay.evaluate_us): sign-ins, sign-outs,
    "now" and accounts' spans put on, just before and just after every instant a rule
    compares with (early-login opening, start + grace, end, end + grace, midnights), and
    the answer must be the original evaluation's, through `evaluate` and straight from
    `evaluate_us`."""
    rng = random.Random(2024)
    us = timedelta(microseconds=1)
    checked = 0
    for _case in range(3000):
        spec = _spec(rng, TZ)
        day = FIRST + timedelta(days=rng.randint(0, DAYS - 1))
        points = [
            datetime.combine(day + timedelta(days=d), datetime.min.time(), TZ).astimezone(UTC) for d in (0, 1)
        ]
        for instance in (spec.instance_on(day - timedelta(days=1)), spec.instance_on(day)):
            if instance is not None:
                points += [instance.login_opens, instance.deadline, instance.end, instance.overdue]

        def near(points: list[datetime] = points) -> datetime:
            return rng.choice(points) + rng.choice(
                (-us, 0 * us, us, timedelta(seconds=rng.uniform(-9e4, 9e4)))
            )

        sessions = []
        for n in range(rng.randint(0, 5)):
            login, logout = sorted((near(), near()))
            sessions.append(
                SessionFacts(
                    None if rng.random() < 0.1 else login, None if rng.random() < 0.15 else logout, None, n
                )
            )
        span = rng.choice(
            [
                ALWAYS,
                ActiveSpan(near(), None),
                ActiveSpan(None, near()),
                ActiveSpan(*sorted((near(), near()))),
            ]
        )
        now = near()
        want = reference(spec, day, sessions, now, span)
        assert evaluate_day(spec, day, sessions, now, span) == want, (spec, day, sessions, now, span)
        today = shift_day(spec, day)
        pairs = [
            (None if s.login is None else epoch_us(s.login), None if s.logout is None else epoch_us(s.logout))
            for s in sessions
        ]
        got = today.evaluate_us(pairs, epoch_us(now), span_us(span))
        assert (got.status, got.flags, today.instance if got.on_shift else None, got.logins) == (
            want.status, want.flags, want.shift, want.logins
        )  # fmt: skip
        assert got.first_login == (None if want.first_login is None else epoch_us(want.first_login))
        assert got.last_logout == (None if want.last_logout is None else epoch_us(want.last_logout))
        checked += 1
    assert checked == 3000
