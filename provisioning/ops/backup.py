"""`carebridge backup`: one file holding the Carebridge database, the archive media and the
configuration, with a manifest that lets `carebridge restore` prove it got everything back.

The archive key is NOT included unless asked (--include-key): the archive's content is
sealed with it, so a backup without the key holds only ciphertext of every message, and a
stolen backup tape discloses no message. Keep the key in a separate place (a password
manager, an HSM, a sealed envelope in the safe); restore needs it. 45 CFR 164.308(a)(7)(ii)(A)
data backup plan, 164.312(a)(2)(iv) encryption at rest.

Layout of the file (tar: plain, see backup_plain.py; gzipped when its name ends in .gz,
see backup_file.py):
    db/carebridge.sqlite3    the first member: SQLite online backup, or a logical copy of
                             PostgreSQL (in a plain tar dumped in place, its header padded
                             to a file-system block by a pax comment)
    db/carebridge.pgdump     or: pg_dump --format=custom (PostgreSQL with a matching pg_dump)
    media/...                the archive media directory (files as stored: sealed)
    config/...               carebridge.yaml, registration.yaml, Synapse configs, secrets/
    synapse/homeserver.db    embedded set-up: Synapse's SQLite database (online backup API)
    synapse-media/...        Synapse's media store (uploads as Synapse keeps them)
    heads/heads.log          the heads log (archive.heads_log), copied before the database,
                             so every head in it names a row the dump holds
    key/archive.key          only with --include-key
    manifest.json            the last member: format, method, schema revisions, archive
                             head, sha256 of each member (read from the written file)

Embedded (Synapse on SQLite) the file is the whole system: both databases, both media
stores, the configuration and Synapse's signing key. In production Synapse's PostgreSQL
database is backed up with pg_dump (docs/operator/backup-restore.md); the manifest says so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Keyring
from bridge.archive.reader import archive_key_ids
from bridge.core.backup_format import FORMAT, HEADS_LOG_MEMBER, KEY_MEMBER
from bridge.core.clock import now_ms
from bridge.db.engine import create_engine, current_revisions
from bridge.db.tables import archive_events
from config.settings import Settings
from provisioning.ops.backup_file import BackupTar, compressed_name
from provisioning.ops.backup_plain import PlainBackup
from provisioning.ops.dbcopy import (
    logical_copy,
    pg_dump,
    pg_dump_usable,
    required_sqlite_file,
    row_counts,
    sqlite_online_backup,
)
from provisioning.ops.synapse_backup import synapse_parts

CONFIG_FILES = (
    "carebridge.yaml",
    "registration.yaml",
    "homeserver.yaml",
    "production.yaml",
    "log.config.yaml",
    "log.production.yaml",
    "signing.key",
    "compose.env",
    "policy.json",
    "turnserver.conf",
)
CONFIG_GLOBS = ("workers/*.yaml", "secrets/*")
PgMethod = Literal["auto", "pg_dump", "logical"]
Step = Callable[[str, float | None], Callable[[float], None]]


def key_fingerprint(key: bytes) -> str:
    """A one-way fingerprint of an archive key (identifies it without revealing it)."""
    return hashlib.sha256(b"carebridge-archive-key\x00" + key).hexdigest()[:32]


def keyring_fingerprints(keyring: Keyring) -> dict[str, str]:
    """{key id: fingerprint} for every key in the ring."""
    return {key_id: key_fingerprint(key) for key_id, key in sorted(keyring.keys.items())}


async def archive_summary(engine: AsyncEngine) -> dict[str, Any]:
    """Rows, head (seq and hash) and the key ids the archive uses."""
    t = archive_events
    async with engine.connect() as conn:
        head = (await conn.execute(select(t.c.seq, t.c.row_hash).order_by(t.c.seq.desc()).limit(1))).first()
        key_ids = await archive_key_ids(conn)
    return {
        "head_seq": int(head[0]) if head else 0,
        "head_hash": bytes(head[1]).hex() if head else "",
        "key_ids": key_ids,
    }


@dataclass(frozen=True)
class BackupResult:
    """Where the backup went and what its manifest says."""

    path: Path
    manifest: dict[str, Any]
    sha256: str | None = None  # the whole file's, when taken while writing (plain tar)


def _config_files(settings: Settings, config_path: Path) -> list[tuple[Path, str]]:
    root = settings.data_dir
    found = {config_path.resolve(): "carebridge.yaml"}
    for name in CONFIG_FILES:
        if (root / name).is_file():
            found.setdefault((root / name).resolve(), name)
    for pattern in CONFIG_GLOBS:
        for path in sorted(root.glob(pattern)):
            if path.is_file():
                found.setdefault(path.resolve(), path.relative_to(root).as_posix())
    registration = settings.path(settings.bridge.registration)
    if registration.is_file():
        found.setdefault(registration.resolve(), "registration.yaml")
    return [(path, f"config/{name}") for path, name in found.items()]


async def _dump_database(
    settings: Settings, target: Path, pg_method: PgMethod
) -> tuple[str, str, dict[str, Any]]:
    """Dump the DB into `target` (an empty file); returns (member name, method, facts read
    before the dump)."""
    url = settings.database_url
    engine = create_engine(url)
    try:
        facts = {
            "dialect": engine.dialect.name,
            "revisions": list(await current_revisions(engine)),
            "tables": await row_counts(engine),
            "archive": await archive_summary(engine),
        }
        if engine.dialect.name == "sqlite":
            sqlite_online_backup(required_sqlite_file(url), target)
            return "db/carebridge.sqlite3", "sqlite-online-backup", facts
        if pg_method == "pg_dump" or (pg_method == "auto" and await pg_dump_usable(engine)):
            pg_dump(url, target)
            return "db/carebridge.pgdump", "pg_dump", facts
        copy = create_engine(f"sqlite+aiosqlite:///{target}")
        try:
            await logical_copy(engine, copy)
        finally:
            await copy.dispose()
        return "db/carebridge.sqlite3", "logical-sqlalchemy", facts
    finally:
        await engine.dispose()


def _media_files(settings: Settings) -> list[tuple[Path, str]]:
    media = settings.path(settings.archive.media_dir)
    if not media.is_dir():
        return []
    return [(p, f"media/{p.relative_to(media).as_posix()}") for p in sorted(media.rglob("*")) if p.is_file()]


def _copy_heads_log(settings: Settings, workdir: Path) -> list[tuple[Path, str]]:
    source = settings.path(settings.archive.heads_log)
    if not source.is_file():
        return []
    copy = workdir / "heads.log"
    shutil.copyfile(source, copy)
    return [(copy, HEADS_LOG_MEMBER)]


def _quiet_step(_description: str, _total: float | None) -> Callable[[float], None]:
    return lambda _done: None


async def create_backup(
    settings: Settings,
    config_path: Path,
    out: Path,
    include_key: bool = False,
    pg_method: PgMethod = "auto",
    step: Step = _quiet_step,
) -> BackupResult:
    """Write the backup file (mode 0600, atomically) to `out`, an absolute path in an
    existing directory; returns its manifest. `step(description, total)` is told when
    each step starts and returns the callback told how far it got."""
    with tempfile.TemporaryDirectory(prefix=".carebridge-backup-", dir=out.parent) as tmp:
        workdir = Path(tmp)
        partial = workdir / "backup.partial"
        writer = BackupTar(partial, compress=True) if compressed_name(out) else PlainBackup(partial)
        with writer:
            result = await _write(settings, config_path, workdir, writer, include_key, pg_method, step)
        os.replace(partial, out)
    return BackupResult(out, result.manifest, result.sha256)


async def _write(
    settings: Settings,
    config_path: Path,
    workdir: Path,
    tar: BackupTar | PlainBackup,
    include_key: bool,
    pg_method: PgMethod,
    step: Step,
) -> BackupResult:
    step("copying the database", None)
    # The heads log before the database: the log is never ahead of the dump (rows
    # committed in between are merely not logged yet in the restored copy).
    heads_log = _copy_heads_log(settings, workdir)
    if isinstance(tar, PlainBackup):
        target = tar.database_target
        with tar.flushing():
            db_member, method, facts = await _dump_database(settings, target, pg_method)
    else:
        target = workdir / "database"
        db_member, method, facts = await _dump_database(settings, target, pg_method)
    members = heads_log
    # Media after the database: every file a dumped row refers to is already there.
    media = _media_files(settings)
    synapse_members, synapse_facts = synapse_parts(settings, workdir)
    members += media + synapse_members + _config_files(settings, config_path)
    keyring = Keyring.load(settings.path(settings.archive.key_file), settings.archive.key_env)
    if include_key:
        key_copy = workdir / "archive.key"
        key_copy.write_text(keyring.dumps(), encoding="utf-8")
        members.append((key_copy, KEY_MEMBER))
    manifest = {
        "format": FORMAT,
        "created_ts": now_ms(),
        "carebridge_version": version("carebridge"),
        "server_name": settings.server_name,
        "database": {"method": method, "member": db_member, **facts},
        "media_files": len(media),
        "data_dir": str(settings.data_dir.resolve()),
        "synapse": synapse_facts,
        "includes_key": include_key,
        "key_fingerprints": keyring_fingerprints(keyring),
    }
    total = target.stat().st_size + sum(path.stat().st_size for path, _ in members)
    written = step("writing the backup file (bytes)", total)
    done = 0

    def advance(size: int) -> None:
        nonlocal done
        done += size
        written(done)

    tar.advance = advance
    if isinstance(tar, PlainBackup):
        tar.add_database(db_member)
    else:
        tar.add(target, db_member)
    for path, arcname in members:
        tar.add(path, arcname)
    tar.finish(manifest)
    sha = tar.sha256 if isinstance(tar, PlainBackup) else None
    return BackupResult(tar.path, {**manifest, "members": tar.digests}, sha)
