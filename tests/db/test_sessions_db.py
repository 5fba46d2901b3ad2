"""The sessions ledger and the reports on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchivedEvent
from bridge.compliance.reports import Reports
from bridge.compliance.sessions import SessionLedger
from bridge.core.clock import ManualClock, to_ms
from bridge.core.report_table import to_csv
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import failed_logins, sessions
from bridge.org.roster import Person, Roster, StaticRosterSource
from policy.event_types import SESSION_EVENT_TYPE
from policy.session_record import Kind, SessionRecord
from policy.shifts import spec_from_definition

TZ = "America/Chicago"
CHICAGO = ZoneInfo(TZ)
WED = date(2024, 5, 15)
BOT = "@carebridge:test"
ROOM = "!admins:test"


def at(day: date, hhmm: str) -> int:
    hours, minutes = (int(x) for x in hhmm.split(":"))
    return to_ms(datetime(day.year, day.month, day.day, hours, minutes, tzinfo=CHICAGO))


def roster() -> Roster:
    day = spec_from_definition(
        "day-shift",
        {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00", "grace_minutes": 15},
        TZ,
    )
    weekend = spec_from_definition(
        "weekend", {"days": ["sat", "sun"], "start": "07:00", "end": "19:00", "grace_minutes": 15}, TZ
    )
    people = {
        f"@{n}:test": Person(f"@{n}:test", n.title(), "staff", s)
        for n, s in [
            ("ontime", "day-shift"),
            ("late", "day-shift"),
            ("missing", "day-shift"),
            ("stayer", "day-shift"),
            ("offshift", "weekend"),
        ]
    }
    people["@boss:test"] = Person("@boss:test", "Boss", "admin", None)
    return Roster(TZ, people, {"day-shift": day, "weekend": weekend})


class Feed:
    """Applies records through the ledger the way the dispatcher would."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.ledger = SessionLedger(engine, BOT, lambda: ROOM)
        self.n = 0

    async def send(self, record: SessionRecord, sender: str = BOT, room: str = ROOM) -> str:
        self.n += 1
        event_id = f"$e{self.n}"
        event = {
            "event_id": event_id,
            "room_id": room,
            "sender": sender,
            "type": SESSION_EVENT_TYPE,
            "content": record.content(),
        }
        await self.ledger.handle(ArchivedEvent(self.n, event))
        return event_id

    async def login(self, user: str, device: str, ts: int) -> str:
        return await self.send(
            SessionRecord(
                Kind.LOGIN, ts, user, device, ip="10.0.0.1", user_agent="nio", method="m.login.password"
            )
        )

    async def logout(self, user: str, device: str, ts: int, reason: str = "logout") -> str:
        return await self.send(SessionRecord(Kind.LOGOUT, ts, user, device, reason=reason))


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_ledger_opens_and_closes_sessions_idempotently(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        feed = Feed(engine)
        login = SessionRecord(Kind.LOGIN, at(WED, "07:00"), "@a:test", "DEV1", ip="10.0.0.9")
        await feed.ledger.apply("$in", login)
        await feed.ledger.apply("$in", login)  # at-least-once delivery
        logout = SessionRecord(Kind.LOGOUT, at(WED, "19:00"), "@a:test", "DEV1", reason="logout_all")
        await feed.ledger.apply("$out", logout)
        await feed.ledger.apply("$out", logout)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sessions))).all()
        assert len(rows) == 1
        assert rows[0].login_ts == at(WED, "07:00") and rows[0].logout_ts == at(WED, "19:00")
        assert rows[0].close_reason == "logout_all" and rows[0].ip == "10.0.0.9"
    finally:
        await engine.dispose()


async def test_ledger_keeps_logouts_without_login_and_failed_attempts(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        feed = Feed(engine)
        await feed.logout("@b:test", "OLD", at(WED, "08:00"), reason="admin_revoked")
        failed = SessionRecord(
            Kind.FAILED_LOGIN, at(WED, "08:01"), "@b:test", ip="10.0.0.2", reason="wrong_password"
        )
        await feed.ledger.apply("$f", failed)
        await feed.ledger.apply("$f", failed)
        unknown = SessionRecord(Kind.FAILED_LOGIN, at(WED, "08:02"), None, reason="unknown_user")
        await feed.ledger.apply("$g", unknown)
        async with engine.connect() as conn:
            row = (await conn.execute(select(sessions))).one()
            assert row.login_ts is None and row.close_reason == "admin_revoked"
        assert await count(engine, failed_logins) == 2
        # A record of the right type from someone else, or elsewhere, is ignored.
        await feed.send(SessionRecord(Kind.LOGIN, at(WED, "09:00"), "@evil:test", "X"), sender="@evil:test")
        await feed.send(SessionRecord(Kind.LOGIN, at(WED, "09:00"), "@evil:test", "X"), room="!other:test")
        assert await count(engine, sessions) == 1
    finally:
        await engine.dispose()


async def test_two_sessions_same_device_close_oldest_first(db_url: str) -> None:
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        feed = Feed(engine)
        await feed.login("@c:test", "D", at(WED, "07:00"))
        await feed.login("@c:test", "D", at(WED, "08:00"))
        await feed.logout("@c:test", "D", at(WED, "09:00"))
        async with engine.connect() as conn:
            rows = (await conn.execute(select(sessions).order_by(sessions.c.login_ts))).all()
        assert [r.logout_ts for r in rows] == [at(WED, "09:00"), None]
    finally:
        await engine.dispose()


async def test_day_report_classifies_every_case_from_the_database(db_url: str) -> None:
    """07:00-19:00 + 15 min grace: on time, late, missing, stayed logged in, off shift."""
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        feed = Feed(engine)
        await feed.login("@ontime:test", "A", at(WED, "06:55"))
        await feed.logout("@ontime:test", "A", at(WED, "19:05"))
        await feed.login("@late:test", "B", at(WED, "07:40"))
        await feed.logout("@late:test", "B", at(WED, "19:00"))
        await feed.login("@stayer:test", "C", at(WED, "06:58"))
        await feed.login("@offshift:test", "D", at(WED, "10:00"))
        await feed.logout("@offshift:test", "D", at(WED, "11:00"))
        clock = ManualClock(datetime(2024, 5, 16, 8, 0, tzinfo=CHICAGO))
        reports = Reports(engine, StaticRosterSource(roster()), clock)
        table = await reports.day(WED)
        got = {row[1]: (row[5], row[6]) for row in table.rows}
        assert got == {
            "@late:test": ("late", ""),
            "@missing:test": ("missing", ""),
            "@offshift:test": ("off_shift", ""),
            "@ontime:test": ("on_time", ""),
            "@stayer:test": ("on_time", "stayed_logged_in"),
        }
        parsed = list(csv.DictReader(io.StringIO(to_csv(table))))
        assert parsed[0].keys() >= {"date", "user", "status", "first_login"}
        assert {r["user"]: r["first_login"] for r in parsed}["@late:test"] == "2024-05-15 07:40"

        missing = await reports.missing(WED)
        assert [r[1] for r in missing.rows] == ["@missing:test"]
        logins = await reports.logins(WED)
        assert [r[1] for r in logins.rows] == ["@ontime:test", "@stayer:test", "@late:test", "@offshift:test"]
        online = await reports.online()
        assert [r[0] for r in online.rows] == ["@stayer:test"]
        mine = await reports.sessions("@late:test", days=2)
        assert [(r[2], r[3], r[4]) for r in mine.rows] == [
            ("2024-05-15 07:40", "2024-05-15 19:00", "11h 20m")
        ]
        week = await reports.week(WED)
        assert {r[0] for r in week.rows} == {
            (date(2024, 5, 13) + timedelta(days=i)).isoformat() for i in range(7)
        }
    finally:
        await engine.dispose()


async def test_a_record_the_module_sent_again_counts_once(db_url: str) -> None:
    """Synapse killed between sending a record from its outbox and forgetting it sends the
    same record again as a new event: the ledger keeps one login, logout and failed login."""
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        feed = Feed(engine)
        for _ in range(2):  # two events, one record each time
            await feed.login("@r:test", "DEV", at(WED, "07:00"))
            await feed.logout("@r:test", "DEV", at(WED, "19:00"))
            await feed.send(
                SessionRecord(
                    Kind.FAILED_LOGIN, at(WED, "06:59"), "@r:test", ip="10.0.0.3", reason="wrong_password"
                )
            )
        assert await count(engine, sessions) == 1
        assert await count(engine, failed_logins) == 1
    finally:
        await engine.dispose()
