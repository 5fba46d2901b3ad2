"""The compliance evidence kept in the database: backup records and check history.

`carebridge backup` calls `record_backup` after writing its file: the file is read back
and every member's SHA-256 compared with the manifest, so "verified" means the file on
disk is complete, not that the command exited 0. 45 CFR 164.308(a)(7)(ii)(A),
164.310(d)(2)(iv).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tarfile
import zlib
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.compliance.safeguards.model import BackupFacts, Result
from bridge.compliance.safeguards.report import Report
from bridge.core.backup_format import KEY_MEMBER, MANIFEST_MEMBER
from bridge.core.clock import now_ms
from bridge.db.tables import backup_records, safeguard_checks


def read_backup(path: Path) -> tuple[bool, bool]:
    """(verified, includes_key) of a backup file: every manifest member present with its
    SHA-256, nothing extra. A file that cannot be read is not verified."""
    try:
        with tarfile.open(path, "r:gz") as tar:
            names = tar.getnames()
            handle = tar.extractfile(MANIFEST_MEMBER)
            if handle is None:
                return False, KEY_MEMBER in names
            members = json.loads(handle.read()).get("members", {})
            includes_key = KEY_MEMBER in names
            for info in tar:
                if info.name == MANIFEST_MEMBER or not info.isfile():
                    continue
                data = tar.extractfile(info)
                if data is None or members.get(info.name) != _sha256(data):
                    return False, includes_key
            return set(members) == set(names) - {MANIFEST_MEMBER}, includes_key
    except (OSError, EOFError, zlib.error, tarfile.TarError, ValueError, KeyError):
        return False, False


def _sha256(handle: object) -> str:
    digest = hashlib.sha256()
    read = getattr(handle, "read")  # noqa: B009 - tarfile's ExFileObject
    for chunk in iter(lambda: read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _inspect(path: Path) -> tuple[bool, bool, str, int]:
    verified, includes_key = read_backup(path)
    with open(path, "rb") as handle:
        sha = _sha256(handle)
    return verified, includes_key, sha, path.stat().st_size


async def record_backup(engine: AsyncEngine, path: Path, created_ms: int | None = None) -> bool:
    """Read the backup back and record it; returns whether it verified."""
    verified, includes_key, sha, size = await asyncio.to_thread(_inspect, path)
    async with engine.begin() as conn:
        await conn.execute(
            insert(backup_records).values(
                created_ts=created_ms or now_ms(),
                path=str(path),
                sha256=sha,
                size=size,
                includes_key=includes_key,
                verified=verified,
            )
        )
    return verified


async def recorded_backups(engine: AsyncEngine) -> tuple[BackupFacts, ...]:
    """Every recorded backup, newest first, with whether its file is still here."""
    t = backup_records
    query = select(t.c.created_ts, t.c.path, t.c.includes_key, t.c.verified)
    async with engine.connect() as conn:
        rows = (await conn.execute(query.order_by(t.c.created_ts.desc()))).all()
    present = await asyncio.to_thread(lambda: [Path(r.path).is_file() for r in rows])
    return tuple(
        BackupFacts(int(r.created_ts), bool(r.includes_key), bool(r.verified), here)
        for r, here in zip(rows, present, strict=True)
    )


async def check_history(engine: AsyncEngine) -> dict[str, int]:
    """Safeguard id -> the last time its check passed."""
    t = safeguard_checks
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t.c.check_id, t.c.last_pass_ts))).all()
    return {str(r[0]): int(r[1]) for r in rows if r[1] is not None}


async def save_results(engine: AsyncEngine, report: Report) -> None:
    """Remember each row's result (and the time of a pass) for the next report. Two reports
    finishing at once (CLI and bot) both succeed: the later one's results stand."""
    try:
        await _save(engine, report)
    except IntegrityError:  # the other report inserted a row first: now it is an update
        await _save(engine, report)


async def _save(engine: AsyncEngine, report: Report) -> None:
    t = safeguard_checks
    async with engine.begin() as conn:
        known = {r[0] for r in await conn.execute(select(t.c.check_id))}
        for row in report.rows:
            values: dict[str, object] = {"last_result": row.result.value, "last_run_ts": row.checked_ms}
            if row.result is Result.PASS:
                values["last_pass_ts"] = row.checked_ms
            if row.safeguard.id in known:
                await conn.execute(update(t).where(t.c.check_id == row.safeguard.id).values(**values))
            else:
                await conn.execute(insert(t).values(check_id=row.safeguard.id, **values))
