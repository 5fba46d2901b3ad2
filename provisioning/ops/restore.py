"""`carebridge restore`: a backup file back into a fresh data directory and an empty database.

Checks before writing anything: the manifest's sha256 of every member, and that the archive
key (from the backup, --key-file or the key env var) is the one the archive was sealed with.
Checks after: the archive head (seq and hash) is the one the backup recorded and decrypts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import yaml
from sqlalchemy import select

from bridge.archive.chain import event_aad
from bridge.archive.keyring import Keyring, KeyringError
from bridge.core.backup_format import FORMAT, HEADS_LOG_MEMBER, KEY_MEMBER, MANIFEST_MEMBER
from bridge.core.files import write_private
from bridge.db.engine import create_engine
from bridge.db.tables import archive_events
from config.settings import Settings, load_settings
from provisioning.ops.backup import keyring_fingerprints
from provisioning.ops.dbcopy import logical_copy, pg_restore, required_sqlite_file, table_names
from provisioning.ops.synapse_backup import restore_synapse, rewrite_paths


class RestoreError(Exception):
    """The backup cannot be restored as asked (nothing half-done is left in the database)."""


@dataclass(frozen=True)
class RestoreOptions:
    """What `carebridge restore` was asked for."""

    backup: Path
    data_dir: Path
    key_file: Path | None = None
    database_url: str | None = None


@dataclass
class RestoreResult:
    """What was restored."""

    config_path: Path
    method: str
    archive_rows: int
    media_files: int
    key_source: str
    notes: list[str] = field(default_factory=list)


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise RestoreError(f"backup member {name!r} has an unsafe path")
    return path


def _extract(backup: Path, into: Path) -> dict[str, Any]:
    """Extract every member (checksums verified against the manifest); returns the manifest."""
    try:
        tar = tarfile.open(backup, "r:*")  # noqa: SIM115 - closed by the `with` below (plain or gzipped)
    except (OSError, tarfile.TarError) as exc:
        raise RestoreError(f"{backup} is not a Carebridge backup ({type(exc).__name__})") from None
    with tar:
        try:
            manifest: dict[str, Any] = json.loads(tar.extractfile(MANIFEST_MEMBER).read())  # type: ignore[union-attr]
        except (KeyError, AttributeError, ValueError):
            raise RestoreError(f"{backup} has no readable manifest.json") from None
        if manifest.get("format") != FORMAT:
            raise RestoreError(f"unsupported backup format {manifest.get('format')!r}")
        expected: dict[str, str] = manifest["members"]
        for member in tar.getmembers():
            if member.name == MANIFEST_MEMBER:
                continue
            if not member.isfile() or member.name not in expected:
                raise RestoreError(f"backup member {member.name!r} is not in the manifest")
            target = into / _safe_name(member.name)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            source = tar.extractfile(member)
            assert source is not None
            if _copy_hashed(source, target) != expected[member.name]:
                raise RestoreError(f"backup member {member.name} is corrupt (sha256 mismatch)")
        missing = set(expected) - {m.name for m in tar.getmembers()}
        if missing:
            raise RestoreError(f"backup is incomplete: missing {sorted(missing)[:3]}")
    return manifest


def _copy_hashed(source: IO[bytes], target: Path) -> str:
    """Copy to a new 0600 file; returns the sha256 of what was copied."""
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _replace_sqlite_file(member: Path, dest: Path) -> None:
    for suffix in ("", "-wal", "-shm"):  # the empty database the emptiness check opened
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(member, dest)
    os.chmod(dest, 0o600)


def _keyring(
    manifest: dict[str, Any], staged: Path, opts: RestoreOptions, env_var: str
) -> tuple[Keyring, str]:
    if (staged / KEY_MEMBER).is_file():
        keyring, source = Keyring.loads((staged / KEY_MEMBER).read_text(encoding="utf-8")), "backup"
    elif opts.key_file is not None:
        keyring, source = Keyring.load(opts.key_file), str(opts.key_file)
    elif os.environ.get(env_var):
        keyring, source = Keyring.loads(os.environ[env_var]), f"${env_var}"
    else:
        raise RestoreError(
            "this backup does not contain the archive key (kept apart by design): "
            f"pass --key-file PATH or set {env_var}"
        )
    known = keyring_fingerprints(keyring)
    recorded: dict[str, str] = manifest["key_fingerprints"]
    for key_id in manifest["database"]["archive"]["key_ids"]:
        if known.get(key_id) != recorded.get(key_id):
            raise RestoreError(f"the archive key given does not match the backup (key id {key_id})")
    return keyring, source


def _write_config(staged: Path, data_dir: Path, database_url: str | None) -> Path:
    config_root = staged / "config"
    for path in sorted(config_root.rglob("*")):
        if path.is_file():
            write_private(data_dir / path.relative_to(config_root), path.read_text(encoding="utf-8"))
    for sub in ("secrets", "workers"):
        if (data_dir / sub).is_dir():
            os.chmod(data_dir / sub, 0o700)
    config_path = data_dir / "carebridge.yaml"
    if database_url is not None:
        text = config_path.read_text(encoding="utf-8")
        header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
        doc = yaml.safe_load(text)
        doc.setdefault("database", {})["url"] = database_url
        write_private(config_path, header + yaml.safe_dump(doc, sort_keys=False))
    return config_path


async def _restore_database(settings: Settings, staged: Path, manifest: dict[str, Any]) -> None:
    member = staged / _safe_name(manifest["database"]["member"])
    url = settings.database_url
    target = create_engine(url)
    try:
        if await table_names(target):
            raise RestoreError("the target database is not empty; restore into a new, empty database")
        if member.suffix == ".pgdump":
            if target.dialect.name != "postgresql":
                raise RestoreError("a pg_dump backup restores into PostgreSQL only (set --database-url)")
            pg_restore(url, member)
            return
        if target.dialect.name == "sqlite":
            await target.dispose()
            _replace_sqlite_file(member, required_sqlite_file(url))
            return
        source = create_engine(f"sqlite+aiosqlite:///{member}")
        try:
            await logical_copy(source, target)
        finally:
            await source.dispose()
    finally:
        await target.dispose()


async def _check_head(settings: Settings, keyring: Keyring, archive: dict[str, Any]) -> int:
    """The recorded head row is there with its hash, and the key opens it; returns rows."""
    t = archive_events
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            rows = int(await conn.scalar(select(t.c.seq).order_by(t.c.seq.desc()).limit(1)) or 0)
            if not archive["head_seq"]:
                return rows
            row = (await conn.execute(select(t).where(t.c.seq == archive["head_seq"]))).first()
    finally:
        await engine.dispose()
    if row is None or bytes(row.row_hash).hex() != archive["head_hash"]:
        raise RestoreError(f"restored archive lacks the recorded head row {archive['head_seq']}")
    try:
        keyring.open(row.key_id, bytes(row.ciphertext), event_aad(row.event_id, row.room_id))
    except (KeyringError, ValueError, Exception) as exc:  # noqa: BLE001 - InvalidTag and friends
        raise RestoreError(f"the archive key does not decrypt the archive ({type(exc).__name__})") from None
    return rows


async def restore_backup(opts: RestoreOptions) -> RestoreResult:
    """Restore into opts.data_dir (must be empty or absent) and the configured database."""
    data_dir = opts.data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise RestoreError(f"{data_dir} is not empty; restore into a fresh directory")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=data_dir) as tmp:
        staged = Path(tmp)
        manifest = _extract(opts.backup, staged)
        probe = staged / "config" / "carebridge.yaml"
        env_var = load_settings(probe).archive.key_env if probe.is_file() else "CAREBRIDGE_ARCHIVE_KEYS"
        keyring, key_source = _keyring(manifest, staged, opts, env_var)
        config_path = _write_config(staged, data_dir, opts.database_url)
        rewritten = rewrite_paths(data_dir, str(manifest.get("data_dir") or ""))
        settings = load_settings(config_path)
        if key_source != f"${env_var}":
            write_private(settings.path(settings.archive.key_file), keyring.dumps())
        await _restore_database(settings, staged, manifest)
        if (staged / HEADS_LOG_MEMBER).is_file():
            heads_log = settings.path(settings.archive.heads_log)
            heads_log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(staged / HEADS_LOG_MEMBER, heads_log)
            os.chmod(heads_log, 0o600)
        media_dir = settings.path(settings.archive.media_dir)
        media_files = 0
        staged_media = staged / "media"
        if staged_media.is_dir():
            media_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            for path in sorted(staged_media.rglob("*")):
                if path.is_file():
                    dest = media_dir / path.relative_to(staged_media)
                    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    shutil.copy2(path, dest)
                    media_files += 1
        synapse_media = restore_synapse(settings, staged)
        rows = await _check_head(settings, keyring, manifest["database"]["archive"])
    notes = []
    if rewritten:
        notes.append("paths rewritten for the new directory in " + ", ".join(rewritten))
    synapse = manifest.get("synapse") or {}
    if synapse.get("member"):
        notes.append(f"Synapse's database and {synapse_media} media file(s) restored")
    elif synapse.get("note"):
        notes.append(str(synapse["note"]))
    if manifest["includes_key"]:
        notes.append(
            "the backup contained the archive key: store it encrypted, or make backups without --include-key"
        )
    return RestoreResult(config_path, manifest["database"]["method"], rows, media_files, key_source, notes)
