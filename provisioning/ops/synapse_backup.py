"""Synapse's share of a backup and a restore: its database (embedded: SQLite, copied with
the online backup API while it runs) and its media store, and homeserver.yaml's paths.

A restored homeserver.yaml, log config and TURN config name the old data directory in
every path (database, media, signing key, policy file, pid file, logs); restore rewrites
them for the new directory, or the restored deployment would read and write the old one.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from bridge.core.files import write_private
from config.homeserver import homeserver_config
from config.settings import Settings
from provisioning.ops.dbcopy import sqlite_online_backup

DB_MEMBER = "synapse/homeserver.db"
MEDIA_PREFIX = "synapse-media/"
PG_NOTE = (
    "Synapse uses PostgreSQL here: back it up with pg_dump and restore it with pg_restore "
    "(docs/operator/backup-restore.md); this file holds everything else"
)
# Config files that carry absolute paths into the data directory.
PATH_FILES = ("homeserver.yaml", "log.config.yaml", "turnserver.conf", "production.yaml")


def _homeserver_values(settings: Settings) -> dict[str, Any]:
    """The configuration in force ({} when it is missing or unreadable: nothing to copy)."""
    try:
        return homeserver_config(settings).values
    except (OSError, ValueError, yaml.YAMLError):
        return {}


def synapse_parts(settings: Settings, workdir: Path) -> tuple[list[tuple[Path, str]], dict[str, Any]]:
    """(members to add, manifest facts) for Synapse's database and media store."""
    config = _homeserver_values(settings)
    members: list[tuple[Path, str]] = []
    database = config.get("database") or {}
    facts: dict[str, Any] = {"database": str(database.get("name") or "none")}
    if database.get("name") == "sqlite3":
        source = Path(str((database.get("args") or {}).get("database", "")))
        if source.is_file():
            copy = workdir / "homeserver.db"
            sqlite_online_backup(source, copy)
            members.append((copy, DB_MEMBER))
            facts["member"] = DB_MEMBER
    elif database.get("name") == "psycopg2":
        facts["note"] = PG_NOTE
    media = Path(str(config.get("media_store_path", "")))
    files = sorted(p for p in media.rglob("*") if p.is_file()) if media.is_dir() and media != Path() else []
    members += [(p, MEDIA_PREFIX + p.relative_to(media).as_posix()) for p in files]
    facts["media_files"] = len(files)
    return members, facts


def rewrite_paths(data_dir: Path, old_dir: str) -> list[str]:
    """Point every path under `old_dir` in the restored config files at `data_dir`;
    returns the files changed."""
    new_dir = str(data_dir.resolve())
    changed: list[str] = []
    if not old_dir or old_dir == new_dir:
        return changed
    for name in PATH_FILES:
        path = data_dir / name
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        updated = text.replace(old_dir + "/", new_dir + "/").replace(f'"{old_dir}"', f'"{new_dir}"')
        if updated != text:
            write_private(path, updated)
            changed.append(name)
    return changed


def restore_synapse(settings: Settings, staged: Path) -> int:
    """Put Synapse's database and media store where the (rewritten) homeserver.yaml
    says; returns the media files restored."""
    config = _homeserver_values(settings)
    database = config.get("database") or {}
    member = staged / DB_MEMBER
    if member.is_file() and database.get("name") == "sqlite3":
        target = Path(str((database.get("args") or {}).get("database")))
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.copyfile(member, target)
        target.chmod(0o600)
    media_root = staged / MEDIA_PREFIX.rstrip("/")
    restored = 0
    media = config.get("media_store_path")
    if media_root.is_dir() and media:
        for path in sorted(media_root.rglob("*")):
            if path.is_file():
                dest = Path(str(media)) / path.relative_to(media_root)
                dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copy2(path, dest)
                restored += 1
    return restored
