"""One measurement of bench/scale.py, in its own process: an administrator command (run
through the real `carebridge` CLI, in-process) or its baseline (the least work that
produces the same answer, written plainly against the driver).

    python bench/scale_cases.py CONFIG CASE

Prints one JSON line: wall and CPU seconds (this process and its children, e.g. pg_dump),
peak resident memory during the case (VmHWM, reset after start-up) and at start-up, and
what the case processed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.scale_data import (
    BUSY_CHANNEL,
    BUSY_PERSON,
    FIRST_DAY,
    PROBE_A,
    PROBE_B,
    TZ,
    channel_room,
    dm_room,
    user,
)
from bridge.archive.chain import GENESIS_HASH, event_aad, hash_fields
from bridge.archive.keyring import Keyring
from bridge.db.engine import create_engine
from config.settings import Settings, load_settings
from provisioning.cli.app import main as cli

MONTH = (FIRST_DAY, date(FIRST_DAY.year, FIRST_DAY.month + 1, FIRST_DAY.day))
TARGETS = {
    "room-probe": ("room", dm_room(PROBE_A, PROBE_B)),
    "room-busy": ("room", channel_room(BUSY_CHANNEL)),
    "person-probe": ("user", user(PROBE_A)),
    "person-busy": ("user", user(BUSY_PERSON)),
}
_CHAIN = (
    "SELECT seq, event_id, room_id, sender, event_type, state_key, origin_ts, received_ts, source, key_id, "
    "ciphertext, prev_hash, row_hash FROM archive_events ORDER BY seq"
)
_OVERLAP = (
    "SELECT id, user_id, device_id, login_ts, logout_ts, ip, user_agent, method, close_reason, closed_by, "
    "close_detail FROM sessions WHERE (login_ts IS NULL OR login_ts < :end) "
    "AND (logout_ts IS NULL OR logout_ts >= :start) ORDER BY login_ts"
)
_LOGINS = (
    "SELECT id, user_id, device_id, login_ts, logout_ts, ip, user_agent, method, close_reason, closed_by, "
    "close_detail FROM sessions WHERE login_ts >= :start AND login_ts < :end ORDER BY login_ts"
)


def hwm_kib() -> int:
    match = re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(match.group(1)) if match else 0


def reset_hwm() -> None:
    Path("/proc/self/clear_refs").write_text("5")


# --- the commands ------------------------------------------------------------------
def carebridge(*args: str) -> dict[str, Any]:
    """Run one `carebridge` command in this process; its output is discarded."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    if result.exit_code not in (0, 1, 3):
        raise RuntimeError(f"carebridge {' '.join(args)} exited {result.exit_code}: {result.output[-2000:]}")
    return {"exit": result.exit_code, "output_bytes": len(result.output)}


def command(case: str, config: Path, settings: Settings, scratch: Path) -> Callable[[], dict[str, Any]]:
    cfg = ("-c", str(config))
    since, until = MONTH[0].isoformat(), MONTH[1].isoformat()
    if case == "verify":
        return lambda: carebridge("archive", "verify", *cfg, "--offline", "--no-media", "--format", "json")
    if case.startswith("export-"):
        option, target = TARGETS[case.removeprefix("export-")]
        out = scratch / "export"
        return lambda: carebridge(
            "export", *cfg, f"--{option}", target, "--out", str(out), "--operator", "bench"
        )
    if case == "report-attendance-month":
        return lambda: carebridge(
            "report", "attendance", *cfg, "--since", since, "--until", until, "--format", "csv"
        )
    if case == "report-logins-month":
        return lambda: carebridge(
            "report", "logins", *cfg, "--since", since, "--until", until, "--format", "csv"
        )
    if case == "backup":
        return lambda: carebridge("backup", *cfg, "--out", str(scratch / "backup.tar"), "--format", "json")
    if case == "compliance":
        return lambda: carebridge("compliance", "report", *cfg, "--format", "json")
    raise SystemExit(f"unknown case {case}")


# --- the baselines -----------------------------------------------------------------
def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Stream a query's rows through the plain driver (sqlite3, or an asyncpg cursor)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(make_url(url).database or "")
        try:
            yield from conn.execute(sql.replace("$1", "?"), params)
        finally:
            conn.close()
        return
    loop = asyncio.new_event_loop()
    pg = loop.run_until_complete(asyncpg.connect(_pg_dsn(url)))
    try:
        tx = pg.transaction()
        loop.run_until_complete(tx.start())

        async def open_cursor() -> Any:
            return await pg.cursor(sql, *params)

        cursor = loop.run_until_complete(open_cursor())
        while True:
            rows = loop.run_until_complete(cursor.fetch(2000))
            if not rows:
                break
            yield from (tuple(r) for r in rows)
        loop.run_until_complete(tx.rollback())
    finally:
        loop.run_until_complete(pg.close())
        loop.close()


def chain_loop(url: str) -> dict[str, Any]:
    """The straight hash-chain loop: every row in order, its hash recomputed and linked."""
    prev, count = GENESIS_HASH, 0
    for r in _rows(url, _CHAIN):
        digest = hash_fields(prev, r[:10], bytes(r[10]))
        if bytes(r[11]) != prev or digest != bytes(r[12]):
            raise RuntimeError(f"chain broken at {r[0]}")
        prev, count = digest, count + 1
    return {"rows": count}


def decrypt_loop(url: str, keyring: Keyring, column: str, value: str) -> dict[str, Any]:
    """The straight decrypt loop over one room's (or person's) rows."""
    sql = f"SELECT event_id, room_id, key_id, ciphertext FROM archive_events WHERE {column} = $1 ORDER BY seq"
    count = 0
    for event_id, room_id, key_id, sealed in _rows(url, sql, (value,)):
        json.loads(keyring.open(key_id, bytes(sealed), event_aad(event_id, room_id)))
        count += 1
    return {"rows": count}


def raw_sql(url: str, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    async def go() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return len((await conn.execute(text(sql), params)).all())
        finally:
            await engine.dispose()

    return {"rows": asyncio.run(go())}


def engine_backup(url: str, scratch: Path) -> dict[str, Any]:
    """The engine's own backup: `sqlite3 DB .backup FILE`, or `pg_dump --format=custom`."""
    target = scratch / "engine-backup"
    if url.startswith("sqlite"):
        cmd = [shutil.which("sqlite3") or "sqlite3", make_url(url).database or "", f".backup '{target}'"]
    else:
        parsed = make_url(url)
        cmd = [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "-f",
            str(target),
            "-h",
            parsed.host or "127.0.0.1",
            "-U",
            parsed.username or "postgres",
            parsed.database or "",
        ]
    subprocess.run(cmd, check=True, capture_output=True)
    return {"bytes": target.stat().st_size}


def _month_ms() -> tuple[int, int]:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(TZ)
    start = datetime(MONTH[0].year, MONTH[0].month, MONTH[0].day, tzinfo=tz)
    end = datetime(MONTH[1].year, MONTH[1].month, MONTH[1].day, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def baseline(case: str, settings: Settings, scratch: Path) -> Callable[[], dict[str, Any]]:
    url = settings.database_url
    if case in ("verify", "compliance"):
        return lambda: chain_loop(url)
    if case.startswith("export-"):
        keyring = Keyring.load(settings.path(settings.archive.key_file))
        option, target = TARGETS[case.removeprefix("export-")]
        return lambda: decrypt_loop(url, keyring, "room_id" if option == "room" else "sender", target)
    start, end = _month_ms()
    if case == "report-attendance-month":
        # What attendance reads: sessions live during the month (a day of margin each side).
        return lambda: raw_sql(url, _OVERLAP, {"start": start - 86_400_000, "end": end + 86_400_000})
    if case == "report-logins-month":
        return lambda: raw_sql(url, _LOGINS, {"start": start, "end": end})
    if case == "backup":
        return lambda: engine_backup(url, scratch)
    raise SystemExit(f"no baseline for {case}")


def main() -> None:
    config, case, which = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    settings = load_settings(config)
    with tempfile.TemporaryDirectory(prefix="cb-scale-case-", dir=settings.data_dir) as tmp:
        scratch = Path(tmp)
        work = (
            command(case, config, settings, scratch)
            if which == "command"
            else baseline(case, settings, scratch)
        )
        start_kib = hwm_kib()
        reset_hwm()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall, cpu = time.perf_counter(), time.process_time()
        out = work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
        peak = hwm_kib()
    digest = hashlib.sha256(json.dumps(out, sort_keys=True).encode()).hexdigest()[:8]
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "rss_mib": peak / 1024,
                "start_mib": start_kib / 1024,
                "out": out,
                "digest": digest,
            }
        )
    )


if __name__ == "__main__":
    main()
