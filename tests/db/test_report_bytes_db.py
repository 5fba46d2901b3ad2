"""A month's attendance and logins are the same bytes as before reports were made fast
(issue 24: shift rules on integer microseconds, rows without objects, CSV by joining).

A fixed pseudo-random deployment: day, evening and night schedules (one with a long early
login and grace), people whose account began or ended mid-month, sign-ins to the
millisecond (some without a start, some still open, some spanning days, a few at odd
hours), a daylight-saving change, and "now" in the middle of the month (so some days are
still pending). The digests were taken from the reports as they were before the change
(commit 3f4e3c7); a change of report semantics changes them, and must say so here."""

from __future__ import annotations

import hashlib
import random
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from bridge.compliance.reports import Reports
from bridge.core.clock import ManualClock, to_ms
from bridge.core.report_table import to_csv
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import sessions
from bridge.org.roster import Person, Roster, StaticRosterSource
from policy.shifts import ShiftSpec

TZ = "America/Chicago"  # clocks go forward on 2025-03-09
CHICAGO = ZoneInfo(TZ)
FIRST, LAST = date(2025, 3, 1), date(2025, 3, 31)
ATTENDANCE_SHA256 = "401cc45f98f99caa9af7a3640be39ba6e05b1a38f8def2f25f74569f354542f3"
LOGINS_SHA256 = "874d2c79679152919dc5e807c645ebdfc6029ba2add4892642e2b7a64a4eacc7"


def _spec(name: str, start: int, end: int, days: range | tuple[int, ...], **extra: timedelta) -> ShiftSpec:
    return ShiftSpec(
        name=name,
        days=frozenset(days),
        start=time(start),
        end=time(end),
        grace=extra.get("grace", timedelta(minutes=15)),
        tz=CHICAGO,
        early_login=extra.get("early_login", timedelta(minutes=60)),
    )


SCHEDULES = {
    "day": _spec("day", 7, 15, range(5)),
    "evening": _spec("evening", 15, 23, (2, 3, 4, 5, 6)),
    "night": _spec("night", 23, 7, range(7)),
    "long": _spec("long", 19, 7, (0, 3, 6), grace=timedelta(hours=3), early_login=timedelta(hours=10)),
}


def _deployment() -> tuple[Roster, list[dict[str, object]]]:
    rng = random.Random(2424)
    month_start = to_ms(datetime.combine(FIRST, time(0), CHICAGO))
    people: dict[str, Person] = {}
    rows: list[dict[str, object]] = []
    for i in range(60):
        user_id = f"@p{i:02d}:test"
        schedule = list(SCHEDULES)[i % len(SCHEDULES)]
        spec = SCHEDULES[schedule]
        began = month_start + rng.randint(-5, 20) * 86_400_000 + rng.randint(0, 86_399_999)
        ended = began + rng.randint(2, 40) * 86_400_000 + rng.randint(0, 86_399_999)
        kind = i % 5  # always there, joined mid-month, left mid-month, moved schedule, unknown
        people[user_id] = Person(
            user_id,
            f"Person {i}" if i % 7 else f"=Formula {i}",
            schedule=schedule,
            active=kind != 2,
            active_from_ms=began if kind in (1, 2) else None,
            active_until_ms=ended if kind == 2 else None,
            schedule_since_ms=began + 3 * 86_400_000 if kind == 3 else None,
        )
        for d in range(-2, 33):
            day = FIRST + timedelta(days=d)
            if day.weekday() not in spec.days or rng.random() < 0.15:
                if rng.random() < 0.1:  # an odd sign-in on a day off
                    at = to_ms(datetime.combine(day, time(rng.randint(0, 23)), CHICAGO))
                    rows.append(_row(user_id, at + rng.randint(0, 3_599_999), at + 3_600_000, rng))
                continue
            start = to_ms(datetime.combine(day, spec.start, CHICAGO))
            login = start + int(rng.gauss(-10, 30) * 60_000) + rng.randint(0, 59_999)
            length = ((spec.end.hour - spec.start.hour) % 24) * 3_600_000
            logout = login + length + int(abs(rng.gauss(10, 40)) * 60_000)
            roll = rng.random()
            rows.append(
                _row(
                    user_id,
                    None if roll < 0.02 else login,
                    None
                    if roll > 0.96
                    else logout
                    if roll < 0.9
                    else logout + rng.randint(1, 3) * 86_400_000,
                    rng,
                )
            )
    roster = Roster(timezone=TZ, people=people, schedules=SCHEDULES)
    return roster, rows


def _row(user_id: str, login: int | None, logout: int | None, rng: random.Random) -> dict[str, object]:
    return {
        "user_id": user_id,
        "device_id": f"D{rng.randint(0, 10**6)}",
        "login_ts": login,
        "logout_ts": logout,
        "ip": rng.choice(["10.0.0.1", "=cmd", None]),
        "user_agent": rng.choice(["Carebridge web", 'Odd "agent", v1', None]),
        "close_reason": None if logout is None else rng.choice(["logout", "automatic", None]),
        "close_detail": None if logout is None else rng.choice(["end_of_shift", None]),
    }


async def test_a_months_reports_are_the_bytes_they_were(db_url: str) -> None:
    roster, rows = _deployment()
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            await conn.execute(insert(sessions), rows)
        clock = ManualClock(datetime(2025, 3, 20, 8, 3, 7, 123456, tzinfo=CHICAGO))
        reports = Reports(engine, StaticRosterSource(roster), clock)
        attendance = to_csv(await reports.attendance(FIRST, LAST)).encode()
        logins = to_csv(await reports.logins(FIRST, None, LAST)).encode()
    finally:
        await engine.dispose()
    text = attendance.decode()
    for shown in (
        "on_time",
        "late",
        "missing",
        "pending",
        "off_shift",
        "day_off",
        "stayed_logged_in",
        "off_shift_login",
    ):
        assert f",{shown}" in text or f" {shown}" in text, shown  # every outcome is exercised
    assert attendance.count(b"\r\n") > 1000 and logins.count(b"\r\n") > 1000
    assert hashlib.sha256(attendance).hexdigest() == ATTENDANCE_SHA256
    assert hashlib.sha256(logins).hexdigest() == LOGINS_SHA256
