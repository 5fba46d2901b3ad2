"""The compliance evidence kept in the database: backup records and check history.

`carebridge backup` records every file it writes: a plain tar with `record_checked_backup`
(its writer read every member's SHA-256 back from the file, and the file is then opened as a
tar and its manifest compared), a gzipped one with `record_backup` (read back end to end and
every member's SHA-256 compared with the manifest); either way "verified" means the file on
disk is complete, not that the command exited 0. `inspect_backup` is the end-to-end read
(`carebridge verify-backup`). 45 CFR 164.308(a)(7)(ii)(A), 164.310(d)(2)(iv).
"""

from __future__ import annotations

import asyncio
import hashlib
import tarfile
import zlib
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.compliance.safeguards.model import BackupFacts, Result
from bridge.compliance.safeguards.report import Report
from bridge.core.backup_format import KEY_MEMBER, Advance, read_back
from bridge.core.clock import now_ms
from bridge.db.tables import backup_records, safeguard_checks


def _verdict(path: Path, advance: Advance | None = None) -> tuple[bool, bool, str]:
    """(verified, includes_key, the file's SHA-256) in one read of the file: every member
    the manifest names present with its SHA-256, nothing extra. A file that cannot be read
    is not verified (its SHA-256 is still taken, to identify it)."""
    try:
        manifest, digests, sha = read_back(path, advance)
    except (OSError, EOFError, zlib.error, tarfile.TarError, ValueError, KeyError):
        return False, False, _sha256(path)
    members = manifest.get("members") if isinstance(manifest, dict) else None
    return isinstance(members, dict) and members == digests, KEY_MEMBER in digests, sha


def read_backup(path: Path) -> tuple[bool, bool]:
    """(verified, includes_key) of a backup file (see `_verdict`)."""
    verified, includes_key, _sha = _verdict(path)
    return verified, includes_key


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def inspect_backup(path: Path, advance: Advance | None = None) -> tuple[bool, bool, str, int]:
    """(verified, includes_key, SHA-256, size) of a backup file, read end to end."""
    verified, includes_key, sha = _verdict(path, advance)
    return verified, includes_key, sha, path.stat().st_size


async def record_backup(
    engine: AsyncEngine, path: Path, created_ms: int | None = None, advance: Advance | None = None
) -> bool:
    """Read the backup back and record it; returns whether it verified. `advance` is told
    the bytes read as the file is read back."""
    verified, includes_key, sha, size = await asyncio.to_thread(inspect_backup, path, advance)
    await record_checked_backup(engine, path, verified, includes_key, sha, size, created_ms)
    return verified


async def record_checked_backup(
    engine: AsyncEngine,
    path: Path,
    verified: bool,
    includes_key: bool,
    sha: str,
    size: int,
    created_ms: int | None = None,
) -> None:
    """Record a backup whose file was checked by its writer (see provisioning/ops/backup_plain.py)."""
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
