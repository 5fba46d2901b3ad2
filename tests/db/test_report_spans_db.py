"""`carebridge report attendance --since/--until` and `report logins --since/--until`:
any span of days (a month), through the real CLI, directory and sessions tables, on
SQLite and PostgreSQL; and the option mistakes an administrator can make are refused."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner, Result
from mautrix.types import UserID
from sqlalchemy import insert

from bridge.core.clock import to_ms
from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import sessions
from config.settings import load_settings
from provisioning.cli.app import main
from provisioning.ops.initdir import InitOptions, init_data_dir

TZ = "America/Chicago"
CHICAGO = ZoneInfo(TZ)
FEB = date(2025, 2, 1)
NIGHTS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "23:00", "end": "07:00"}


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _ms(day: date, hour: int, minute: int = 0) -> int:
    return to_ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHICAGO))


async def _deployment(db_url: str, tmp_path: Path) -> Path:
    """Three night-shift nurses through February; nurse 2 is 40 minutes late on the 10th,
    nurse 3 never signs in on the 20th."""
    config = init_data_dir(InitOptions(data_dir=tmp_path / "data", database_url=db_url))
    engine = create_engine(load_settings(config).database_url)
    try:
        await migrate(engine)
        directory = Directory(engine)
        await directory.save_settings({"organization": {"name": "T", "timezone": TZ}}, 0)
        await directory.replace_schedules({"nights": NIGHTS}, 0)
        long_ago = _ms(FEB - timedelta(days=90), 9)
        await directory.upsert_users(
            DirectoryUser(UserID(f"@n{i}:test"), f"n{i}", f"Nurse {i}", f"n{i}@x.example", "staff", (),
                          "nights", True, "org", long_ago, long_ago, active_since_ts=long_ago)
            for i in (1, 2, 3)
        )  # fmt: skip
        rows = []
        for d in range(28):
            day = FEB + timedelta(days=d)
            for i in (1, 2, 3):
                if i == 3 and day.day == 20:
                    continue
                late = 40 if i == 2 and day.day == 10 else -5
                login = _ms(day, 23) + late * 60_000
                rows.append({"user_id": f"@n{i}:test", "device_id": f"D{d}{i}", "login_ts": login,
                             "logout_ts": login + 8 * 3_600_000, "close_reason": "logout"})  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(insert(sessions), rows)
    finally:
        await engine.dispose()
    return config


async def test_a_months_attendance_and_logins(db_url: str, tmp_path: Path) -> None:
    config = await _deployment(db_url, tmp_path)
    made = await asyncio.to_thread(
        _cli, "report", "attendance", "-c", str(config), "--since", "2025-02-01", "--until", "2025-03-01",
        "--format", "csv",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    table = list(csv.DictReader(io.StringIO(made.output)))
    assert len(table) == 3 * 28
    assert {r["date"] for r in table} == {(FEB + timedelta(days=d)).isoformat() for d in range(28)}
    odd = {(r["date"], r["user"]): r["status"] for r in table if r["status"] != "on_time"}
    assert odd == {("2025-02-10", "@n2:test"): "late", ("2025-02-20", "@n3:test"): "missing"}

    made = await asyncio.to_thread(
        _cli, "report", "logins", "-c", str(config), "--since", "2025-02-10", "--until", "2025-02-12",
        "--user", "@n2:test", "--format", "json",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    found = json.loads(made.output)
    assert found["title"] == "Logins from 2025-02-10 to 2025-02-11 for @n2:test"
    assert [r["time"] for r in found["rows"]] == ["2025-02-10 23:40", "2025-02-11 22:55"]


def test_span_mistakes_are_refused(tmp_path: Path) -> None:
    config = str(tmp_path / "carebridge.yaml")
    cases = {
        ("logins", "--date", "2025-02-01", "--since", "2025-02-01"): "either --date or --since/--until",
        ("logins", "--until", "2025-02-01"): "--until needs --since",
        ("attendance", "--since", "2025-02-10", "--until", "2025-02-01"): "is not after --since",
        ("attendance", "--since", "2024-01-01", "--until", "2025-06-01"): "at most 366 days",
        ("attendance", "--since", "February"): "is not a date",
        ("attendance",): "Missing option '--since'",
    }
    for args, message in cases.items():
        made = _cli("report", args[0], "-c", config, *args[1:])
        assert made.exit_code == 2, (args, made.output)
        assert message in made.output, (args, made.output)
