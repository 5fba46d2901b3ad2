"""Reports expect a person for a shift only when it overlaps the time their account was
active and on that schedule: not for a shift over before it was created (or reactivated, or
given that schedule), nor one starting after it was deactivated. Through the real directory
tables, the roster the bridge reads from them and the reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mautrix.types import UserID
from sqlalchemy import insert

from bridge.compliance.reports import Reports
from bridge.core.clock import ManualClock, to_ms
from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import sessions
from bridge.org.source import org_directory

TZ = "America/Chicago"
CHICAGO = ZoneInfo(TZ)
MON = date(2024, 5, 13)
EVERY_DAY = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "07:00", "end": "19:00"}


def at(day: date, hhmm: str) -> int:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return to_ms(datetime(day.year, day.month, day.day, hours, minutes, tzinfo=CHICAGO))


def person(name: str, created: int, **extra: object) -> DirectoryUser:
    fields: dict[str, object] = {
        "user_id": UserID(f"@{name}:test"),
        "username": name,
        "display_name": name.title(),
        "email": f"{name}@clinic.example",
        "role": "staff",
        "groups": (),
        "schedule": "ward",
        "managed_by": "org",
        "active": True,
        "created_ts": created,
        "updated_ts": created,
    }
    fields.update(extra)
    return DirectoryUser(**fields)  # type: ignore[arg-type]


async def test_week_report_lists_people_only_while_their_account_is_active(db_url: str) -> None:
    """Created Wednesday 10:00, during the 07:00-19:00 shift: expected from Wednesday.
    Deactivated Wednesday 12:00: expected Monday to Wednesday, never after. Created long
    ago, deactivated, then reactivated Thursday 09:00: expected from Thursday.
    An account from before the week is expected every day (missing, as nobody signed in)."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        directory = Directory(engine)
        await directory.save_settings({"organization": {"name": "T", "timezone": TZ}}, 0)
        await directory.replace_schedules({"ward": EVERY_DAY}, 0)
        wed, thu = MON + timedelta(days=2), MON + timedelta(days=3)
        long_ago = at(MON - timedelta(days=30), "09:00")
        await directory.upsert_users(
            [
                person("veteran", long_ago),
                person("newcomer", at(wed, "10:00"), active_since_ts=at(wed, "10:00")),
                person("leaver", long_ago, active=False, deactivated_ts=at(wed, "12:00")),
                person("returner", long_ago, active_since_ts=at(thu, "09:00")),
            ]
        )
        # A later update of the returner (e.g. a new display name) keeps when they returned.
        await directory.upsert_users([person("returner", long_ago, display_name="Returner R")])
        clock = ManualClock(datetime(2024, 5, 20, 12, 0, tzinfo=CHICAGO))  # the week is over
        week = await Reports(engine, org_directory(engine), clock).week(MON)
        days: dict[str, list[str]] = {}
        for row in week.rows:
            days.setdefault(str(row[1]), []).append(str(row[0]))
        every = [(MON + timedelta(days=n)).isoformat() for n in range(7)]
        assert days["@veteran:test"] == every
        assert days["@newcomer:test"] == every[2:]
        assert days["@leaver:test"] == every[:3]
        assert days["@returner:test"] == every[3:]
        assert {str(row[5]) for row in week.rows} == {"missing"}
    finally:
        await engine.dispose()


LATE_EVENING = {"days": EVERY_DAY["days"], "start": "20:13", "end": "00:13"}
DAY = {"days": EVERY_DAY["days"], "start": "08:00", "end": "16:30"}


async def test_missing_follows_when_the_account_and_its_schedule_were_active(db_url: str) -> None:
    """The issue's two people, and one moved to another schedule: `report missing` and
    `report day` for Wednesday, asked at 22:30."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        directory = Directory(engine)
        await directory.save_settings({"organization": {"name": "T", "timezone": TZ}}, 0)
        await directory.replace_schedules({"late-evening": LATE_EVENING, "day": DAY}, 0)
        wed = MON + timedelta(days=2)
        long_ago = at(MON - timedelta(days=30), "09:00")
        await directory.upsert_users(
            [
                # Her account exists from 22:07; her shift runs 20:13-00:13; not signed in.
                person("ann", at(wed, "22:07"), schedule="late-evening", active_since_ts=at(wed, "22:07")),
                # Created at 17:05, after her whole 08:00-16:30 shift; signs in at 17:30.
                person("bea", at(wed, "17:05"), schedule="day", active_since_ts=at(wed, "17:05")),
                # An old account, on the day schedule until 21:00, then moved to late evening.
                person("cal", long_ago, schedule="day"),
            ]
        )
        await directory.upsert_users(
            [person("cal", long_ago, schedule="late-evening", updated_ts=at(wed, "21:00"))]
        )
        cal = await directory.user("@cal:test")
        assert cal is not None and cal.schedule_since_ts == at(wed, "21:00")
        # An update that keeps the schedule keeps when it was given.
        await directory.upsert_users(
            [
                person(
                    "cal",
                    long_ago,
                    schedule="late-evening",
                    display_name="Cal C",
                    updated_ts=at(wed, "21:30"),
                )
            ]
        )
        cal = await directory.user("@cal:test")
        assert cal is not None and cal.schedule_since_ts == at(wed, "21:00")
        async with engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    user_id="@bea:test", device_id="D1", login_ts=at(wed, "17:30"), logout_ts=None
                )
            )

        clock = ManualClock(datetime(2024, 5, 15, 22, 30, tzinfo=CHICAGO))
        reports = Reports(engine, org_directory(engine), clock)
        missing = await reports.missing(wed)
        assert sorted(str(row[1]) for row in missing.rows) == ["@ann:test", "@cal:test"]
        day = {str(row[1]): str(row[5]) for row in (await reports.day(wed)).rows}
        assert day == {"@ann:test": "missing", "@bea:test": "off_shift", "@cal:test": "missing"}
    finally:
        await engine.dispose()
