"""Writing the synthetic hospital (bench/scale_data.py) into a Carebridge database: the
directory and a month of the sessions ledger once, then archive rows in batches up to a
target size, through the driver (sqlite3 executemany / asyncpg COPY)."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from mautrix.types import RoomID, UserID
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.scale_data import (
    COMMITTEES,
    DAY_NAMES,
    EVENT_COLUMNS,
    FIRST_DAY,
    MONTH_DAYS,
    PEOPLE,
    ROLES,
    ROTAS,
    SERVER,
    SHIFTS,
    TZ,
    UNITS,
    Batch,
    Hospital,
    channel_room,
    channels_of,
    schedule_of,
    shift_of,
    user,
)
from bridge.archive.keyring import Keyring
from bridge.db.directory import Directory, DirectoryChannel, DirectoryUser
from bridge.db.engine import migrate
from bridge.db.tables import archive_events

BATCH_ROWS = 5000
Parts = list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]


async def write_directory(engine: AsyncEngine) -> None:
    """The organisation as provisioning leaves it: 5,000 people on three schedules, the
    300 channels and who is in each."""
    directory = Directory(engine)
    schedules = {
        f"{name}-{rota}": {
            "days": [DAY_NAMES[d] for d in days],
            "start": f"{s:02d}:00",
            "end": f"{e:02d}:00",
            "grace_minutes": 15,
        }
        for name, (s, e) in SHIFTS.items()
        for rota, days in ROTAS.items()
    }
    await directory.replace_schedules(schedules, 0)
    await directory.save_settings({"organization": {"name": "Bench Hospital", "timezone": TZ}}, 0)
    await directory.upsert_users(
        DirectoryUser(
            UserID(user(i)),
            f"u{i:04d}",
            f"Person {i}",
            f"u{i:04d}@bench.example",
            "admin" if i < 10 else "staff",
            (f"unit{1 + i % UNITS}",),
            schedule_of(i),
            True,
            "org",
        )
        for i in range(PEOPLE)
    )
    await directory.upsert_channels(
        DirectoryChannel(
            RoomID(channel_room(c)),
            f"ch{c:03d}",
            f"#ch{c:03d}:{SERVER}",
            f"Channel {c}",
            "",
            False,
            {"members": ["everyone"]},
            "org",
        )
        for c in range(1 + UNITS + ROLES + COMMITTEES)
    )
    members: dict[RoomID, dict[UserID, str]] = {}
    for i in range(PEOPLE):
        for c in channels_of(i):
            members.setdefault(RoomID(channel_room(c)), {})[UserID(user(i))] = "post"
    await directory.replace_channel_members(members)


def month_of_sessions(seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """One month of the sessions ledger: each person signs in for their shift on about 21
    of 31 days (a few late, a few missing, some still signed in at the end), and a few
    failed attempts are left to the failed_logins table (not generated)."""
    rng = random.Random(seed)
    tz = ZoneInfo(TZ)
    for d in range(MONTH_DAYS):
        day = FIRST_DAY + timedelta(days=d)
        for i in range(PEOPLE):
            shift, rota = shift_of(i)
            if day.weekday() not in ROTAS[rota] or rng.random() < 0.04:
                continue  # their days off, or absent
            start_h, end_h = SHIFTS[shift]
            start = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=start_h)
            end = start + timedelta(hours=(end_h - start_h) % 24)
            login = start + timedelta(minutes=rng.gauss(-10, 12))
            logout = end + timedelta(minutes=abs(rng.gauss(10, 15)))
            login_ms = int(login.timestamp() * 1000)
            still_open = d == MONTH_DAYS - 1 and rng.random() < 0.3
            yield (
                user(i),
                f"D{d:02d}{i:04d}",
                login_ms,
                f"$in{d}-{i}",
                "10.1.2.3",
                "Carebridge web",
                "m.login.password",
                None if still_open else int(logout.timestamp() * 1000),
                None if still_open else f"$out{d}-{i}",
                None if still_open else "logout",
            )


SESSION_COLUMNS = (
    "user_id",
    "device_id",
    "login_ts",
    "login_event_id",
    "ip",
    "user_agent",
    "method",
    "logout_ts",
    "logout_event_id",
    "close_reason",
)
RELATION_COLUMNS = ("event_id", "seq", "room_id", "target_event_id", "rel_type")
MEDIA_COLUMNS = ("mxc", "room_id", "event_id", "seq", "status", "attempts", "next_attempt_ts", "last_error")
CALL_COLUMNS = (
    "room_id",
    "call_id",
    "caller",
    "callee",
    "kind",
    "version",
    "lifetime_ms",
    "joined_members",
    "invite_event_id",
    "invite_ts",
    "answer_ts",
    "answered_by",
    "reject_ts",
    "rejected_by",
    "hangup_ts",
    "hangup_by",
    "hangup_reason",
    "outcome",
    "notice_event_id",
)
DM_ROOM_COLUMNS = ("room_id", "created_by", "created_ts")
DM_MEMBER_COLUMNS = ("room_id", "user_id", "membership", "first_ts", "updated_ts")


def tables_of(batch: Batch) -> Parts:
    """(table, columns, rows) for every non-empty part of a batch, in insert order."""
    parts = [
        ("archive_events", EVENT_COLUMNS, batch.events),
        ("archive_relations", RELATION_COLUMNS, batch.relations),
        ("archive_media", MEDIA_COLUMNS, batch.media),
        ("calls", CALL_COLUMNS, batch.calls),
        ("dm_rooms", DM_ROOM_COLUMNS, batch.dm_rooms),
        ("dm_members", DM_MEMBER_COLUMNS, batch.dm_members),
    ]
    return [p for p in parts if p[2]]


def sqlite_insert(path: str, parts: Parts) -> None:
    """Insert a batch into SQLite in one transaction (duplicates in side tables ignored)."""
    conn = sqlite3.connect(path)
    try:
        with conn:
            for table, columns, rows in parts:
                marks = ", ".join("?" for _ in columns)
                verb = "INSERT" if table == "archive_events" else "INSERT OR IGNORE"
                conn.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    finally:
        conn.close()


async def pg_insert(conn: Any, parts: Parts) -> None:
    """Insert a batch into PostgreSQL with COPY (side tables through a staging copy so
    duplicates are ignored)."""
    async with conn.transaction():
        for table, columns, rows in parts:
            if table in ("archive_events", "sessions"):  # never a duplicate: straight in
                await conn.copy_records_to_table(table, records=rows, columns=list(columns))
                continue
            await conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} (LIKE {table}) ON COMMIT DELETE ROWS"
            )
            await conn.copy_records_to_table(f"stage_{table}", records=rows, columns=list(columns))
            cols = ", ".join(columns)
            await conn.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM stage_{table} ON CONFLICT DO NOTHING"
            )


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Filler:
    """Grows one database to a target number of archive rows (the generator is kept, so
    each size extends the last)."""

    def __init__(self, engine: AsyncEngine, url: str, keyring: Keyring) -> None:
        self.engine = engine
        self.url = url
        self.hospital = Hospital(keyring)
        self.sqlite = make_url(url).database if url.startswith("sqlite") else None

    async def prepare(self) -> float:
        """Schema, directory and a month of sessions; returns seconds taken."""
        started = time.perf_counter()
        await migrate(self.engine)
        await write_directory(self.engine)
        rows = list(month_of_sessions())
        await self._insert([("sessions", SESSION_COLUMNS, rows)])
        return time.perf_counter() - started

    async def rows(self) -> int:
        async with self.engine.connect() as conn:
            head = await conn.scalar(
                select(archive_events.c.seq).order_by(archive_events.c.seq.desc()).limit(1)
            )
            if head is None:
                return 0
            prev = await conn.scalar(select(archive_events.c.row_hash).where(archive_events.c.seq == head))
        # Exports append their own audit rows: continue the chain after them.
        self.hospital.seq, self.hospital.prev = int(head), bytes(prev)
        return int(head)

    async def grow(self, target: int, progress: Any = None) -> float:
        """Append archive rows until the archive holds `target`; returns seconds taken."""
        started = time.perf_counter()
        have = await self.rows()
        while have < target:
            batch = self.hospital.take(min(BATCH_ROWS, target - have))
            await self._insert(tables_of(batch))
            have += len(batch.events)
            if progress is not None:
                progress(have)
        if not self.sqlite:
            conn = await asyncpg.connect(_pg_dsn(self.url))
            try:
                await conn.execute("ANALYZE")
            finally:
                await conn.close()
        return time.perf_counter() - started

    async def _insert(self, parts: Parts) -> None:
        if self.sqlite:
            sqlite_insert(self.sqlite, parts)
            return
        conn = await asyncpg.connect(_pg_dsn(self.url))
        try:
            await pg_insert(conn, parts)
        finally:
            await conn.close()
