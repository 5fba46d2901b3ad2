"""Benchmark: compliance reports over 1,000 users x 365 days of generated sessions.

Each report is timed next to the raw SQL query that fetches the same rows, in the same
run on the same database, and the ratio (report / raw SQL) is printed: the ratio is the
cost of everything the report adds (the directory of 1,000 people, read once and kept
until provisioning writes; shift evaluation; formatting; CSV). Wall time and CPU time
(this process, all threads) are both printed: on a shared machine the CPU figures are
the steady ones.

    .venv/bin/python bench/reports.py                   # SQLite in a temp directory
    .venv/bin/python bench/reports.py --pg postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from mautrix.types import UserID
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.compliance.reports import Reports, week_of
from bridge.core.clock import ManualClock, day_bounds, to_ms
from bridge.core.report_table import to_csv
from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import sessions
from bridge.org.source import OrgRosterSource

TZ = "America/Chicago"
USERS = 1000
DAYS = 365
FIRST = date(2024, 1, 1)
REPEAT = 5


SHIFT = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00", "grace_minutes": 15}


async def fill_directory(engine: AsyncEngine) -> None:
    """1,000 people on one shift in provisioning's directory tables (what reports read)."""
    directory = Directory(engine)
    await directory.replace_schedules({"day-shift": SHIFT}, 0)
    await directory.save_settings({"organization": {"name": "Bench", "timezone": TZ}}, 0)
    await directory.upsert_users(
        DirectoryUser(UserID(f"@user{i:04d}:bench"), f"user{i:04d}", f"User {i}", f"u{i}@bench.example",
                      "staff", (), "day-shift", True, "org")
        for i in range(USERS)
    )  # fmt: skip


def generate_rows(rng: random.Random) -> list[dict[str, Any]]:
    """One session per user per working day (5% missing), a few off-shift ones."""
    tz = ZoneInfo(TZ)
    rows = []
    for d in range(DAYS):
        day = FIRST + timedelta(days=d)
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        working = day.weekday() < 5
        for i in range(USERS):
            if (working and rng.random() < 0.05) or (not working and rng.random() > 0.02):
                continue
            login = midnight + timedelta(hours=6, minutes=45 + rng.randint(0, 60))
            logout = midnight + timedelta(hours=18, minutes=50 + rng.randint(0, 50))
            last_day = d == DAYS - 1
            rows.append(
                {
                    "user_id": f"@user{i:04d}:bench",
                    "device_id": f"D{d:03d}{i:04d}",
                    "login_ts": to_ms(login),
                    "login_event_id": f"$in{d}-{i}",
                    "ip": f"10.{i // 256}.{i % 256}.{d % 250}",
                    "user_agent": "Element/1.11 (bench)",
                    "method": "m.login.password",
                    "logout_ts": None if last_day and i % 3 == 0 else to_ms(logout),
                    "logout_event_id": None if last_day and i % 3 == 0 else f"$out{d}-{i}",
                    "close_reason": None if last_day and i % 3 == 0 else "logout",
                }
            )
    return rows


async def load(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    started = time.perf_counter()
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(sessions), rows[start : start + 5000])
    return time.perf_counter() - started


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Median wall time and median CPU time (this process, all threads) of REPEAT runs."""
    samples = []
    cpu_samples = []
    result: Any = None
    for _ in range(REPEAT):
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await fn()
        samples.append(time.perf_counter() - started)
        cpu_samples.append(time.process_time() - cpu_started)
    return statistics.median(samples), statistics.median(cpu_samples), result


async def raw(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def run(url: str, label: str) -> None:
    engine = create_engine(url)
    await migrate(engine)
    rng = random.Random(20240515)
    rows = generate_rows(rng)
    load_s = await load(engine, rows)
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE sessions"))
    day = date(2024, 10, 16)  # a Wednesday
    tz = ZoneInfo(TZ)
    clock = ManualClock(datetime(2024, 12, 31, 23, 0, tzinfo=tz))
    await fill_directory(engine)
    reports = Reports(engine, OrgRosterSource(engine), clock)
    start_ms, end_ms = day_bounds(day, tz)
    week_start, week_end = week_of(day)
    w_start, _ = day_bounds(week_start - timedelta(days=1), tz)
    _, w_end = day_bounds(week_end + timedelta(days=1), tz)
    d_start, _ = day_bounds(day - timedelta(days=1), tz)
    _, d_end = day_bounds(day + timedelta(days=1), tz)
    cols = ", ".join(c.name for c in sessions.columns if c.name not in ("login_event_id", "logout_event_id"))
    overlap = (
        f"SELECT {cols} FROM sessions WHERE (login_ts IS NULL OR login_ts < :end) "
        "AND (logout_ts IS NULL OR logout_ts >= :start) ORDER BY login_ts"
    )
    cases: list[tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]]]] = [
        (
            "logins report, one day (+CSV)",
            lambda: _csv(reports.logins(day)),
            lambda: raw(
                engine,
                f"SELECT {cols} FROM sessions WHERE login_ts >= :s AND login_ts < :e ORDER BY login_ts",
                s=start_ms,
                e=end_ms,
            ),
        ),
        (
            "attendance, one day (+CSV)",
            lambda: _csv(reports.day(day)),
            lambda: raw(engine, overlap, start=d_start, end=d_end),
        ),
        (
            "attendance, one week (+CSV)",
            lambda: _csv(reports.week(day)),
            lambda: raw(engine, overlap, start=w_start, end=w_end),
        ),
        (
            "missing, one day",
            lambda: reports.missing(day),
            lambda: raw(engine, overlap, start=d_start, end=d_end),
        ),
        (
            "sessions of one user, 365 days",
            lambda: reports.sessions("@user0042:bench", 365),
            lambda: raw(
                engine,
                f"SELECT {cols} FROM sessions WHERE user_id = :u ORDER BY login_ts",
                u="@user0042:bench",
            ),
        ),
        (
            "online now",
            lambda: reports.online(),
            lambda: raw(engine, f"SELECT {cols} FROM sessions WHERE logout_ts IS NULL"),
        ),
    ]
    print(f"\n== {label}: {len(rows):,} sessions ({USERS} users x {DAYS} days), loaded in {load_s:.1f}s")
    print(
        f"{'':34} {'---------- wall -----------':>29} {'----------- CPU -----------':>29}\n"
        f"{'report':34} {'report':>10} {'raw SQL':>10} {'ratio':>7} {'report':>10} {'raw SQL':>10} "
        f"{'ratio':>7}  rows"
    )
    for name, report_fn, raw_fn in cases:
        report_s, report_cpu, result = await timed(report_fn)
        raw_s, raw_cpu, raw_rows = await timed(raw_fn)
        count = result if isinstance(result, int) else len(result.rows)
        wall = f"{report_s * 1000:8.1f}ms {raw_s * 1000:8.1f}ms {report_s / raw_s:6.2f}x"
        cpu = f"{report_cpu * 1000:8.1f}ms {raw_cpu * 1000:8.1f}ms {report_cpu / max(raw_cpu, 1e-6):6.2f}x"
        print(f"{name:34} {wall} {cpu}  {count} / {len(raw_rows)}")
    kept = OrgRosterSource(engine)
    await kept.roster()
    fresh_s, fresh_cpu, _ = await timed(lambda: OrgRosterSource(engine).roster())
    kept_s, kept_cpu, _ = await timed(kept.roster)
    print(
        f"directory of {USERS:,} people per report: full read {fresh_s * 1000:.1f}ms wall "
        f"{fresh_cpu * 1000:.1f}ms CPU | kept snapshot (revision check) {kept_s * 1000:.1f}ms wall "
        f"{kept_cpu * 1000:.1f}ms CPU"
    )
    await engine.dispose()


async def _csv(table_coro: Awaitable[Any]) -> int:
    table = await table_coro
    to_csv(table)
    return len(table.rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is created there)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite+aiosqlite:///{tmp}/bench.db", "SQLite")
    if args.pg:
        name = f"cb_bench_{secrets.token_hex(4)}"
        admin = create_async_engine(args.pg, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            await run(
                make_url(args.pg).set(database=name).render_as_string(hide_password=False), "PostgreSQL"
            )
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await admin.dispose()


if __name__ == "__main__":
    asyncio.run(main())
