"""`report missing` and `report day` expect a person when their shift overlaps the time
their account was active, through the real Synapse, bridge (the sessions ledger it fills
from Synapse's sign-in records) and CLI: an account made during a shift is missing while
she has not signed in; an account made after its whole shift is not, even once she signs in.

The organisation's time zone is chosen so that it is mid-afternoon there now, so both
shifts sit inside today whatever the hour of the run (its own stack: the zone is global)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from mautrix.types import UserID

from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine
from tests.compliance_helpers import ledger, wait_for
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import Stack, running_stack

pytestmark = pytest.mark.slow
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("missing")) as stack:
        yield stack


def afternoon_zone(now: datetime) -> str:
    """An Etc/GMT zone where it is 14:xx now (Etc/GMT-5 is UTC+5)."""
    offset = 14 - now.hour
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def shift(tz: tzinfo, now: datetime, start_hours: float, end_hours: float) -> dict[str, object]:
    local = now.astimezone(tz)
    start, end = local + timedelta(hours=start_hours), local + timedelta(hours=end_hours)
    return {"days": EVERY_DAY, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "grace_minutes": 15}


def staff(user_id: str, schedule: str, now_ms: int) -> DirectoryUser:
    name = user_id[1:].split(":")[0]
    return DirectoryUser(
        UserID(user_id), name, name.title(), f"{name}@clinic.example", "staff", (), schedule, True, "cli",
        now_ms, now_ms, active_since_ts=now_ms,
    )  # fmt: skip


async def report(stack: Stack, kind: str, day: str) -> list[dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        CAREBRIDGE, "report", kind, "--date", day, "--format", "csv", "-c", str(stack.config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return list(csv.DictReader(io.StringIO(out.decode())))


async def test_missing_follows_when_each_account_was_active(own: Stack) -> None:
    now = datetime.now(UTC)
    zone = afternoon_zone(now)
    tz = ZoneInfo(zone)
    newcomer, _ = await own.create_user()
    latecomer, late_pw = await own.create_user()
    engine = create_engine(own.s.database_url)
    try:
        directory = Directory(engine)
        stamp = int(now.timestamp() * 1000)
        await directory.save_settings({"organization": {"name": "Test", "timezone": zone}}, stamp)
        await directory.replace_schedules(
            {"running": shift(tz, now, -2, 3), "ended": shift(tz, now, -6, -1)}, stamp
        )
        # Both accounts are made now: one during her shift, one after hers ended.
        await directory.upsert_users([staff(newcomer, "running", stamp), staff(latecomer, "ended", stamp)])
    finally:
        await engine.dispose()
    client = await own.login(latecomer, late_pw)
    await client.close()
    await wait_for(lambda: ledger(own, latecomer), lambda r: len(r[0]) == 1, what="the sign-in in the ledger")

    today = now.astimezone(tz).date().isoformat()
    missing = {row["user"]: row for row in await report(own, "missing", today)}
    assert newcomer in missing, missing
    assert latecomer not in missing, missing
    day = {row["user"]: row["status"] for row in await report(own, "day", today)}
    assert (day.get(newcomer), day.get(latecomer)) == ("missing", "off_shift"), day
