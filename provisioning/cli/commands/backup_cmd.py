"""`carebridge backup` and `carebridge restore`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.cli.progress import steps

if TYPE_CHECKING:
    from provisioning.ops.backup import BackupResult


def _print(rows: list[tuple[str, str]], fmt: str, title: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(dict(rows), indent=2))
        return
    table = Table(title=title, show_header=False)
    for key, value in rows:
        table.add_row(key, value)
    Console().print(table)


@click.command("backup")
@config_option
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Backup file to write (mode 0600; refused if it exists): a tar, gzipped if the name ends "
    "in .gz (slower, hardly smaller: the archive is ciphertext).",
)
@click.option(
    "--include-key",
    is_flag=True,
    help="Also put the archive key in the backup. By default it is left out, so the backup "
    "holds only ciphertext of the archive; keep the key elsewhere (restore needs it).",
)
@click.option(
    "--pg-method",
    type=click.Choice(["auto", "pg_dump", "logical"]),
    default="auto",
    show_default=True,
    help="PostgreSQL only: pg_dump (custom format) when installed and not older than the server, "
    "else a logical copy through SQLAlchemy into an SQLite file (restores into either engine).",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def backup_command(config_path: Path, out: Path, include_key: bool, pg_method: str, fmt: str) -> None:
    """Back up the Carebridge database, archive media and configuration to one file.

    \b
    SQLite: the online backup API (safe while the bridge runs).
    PostgreSQL: pg_dump, or a logical copy in one snapshot (see --pg-method).
    Synapse's own database is backed up with pg_dump separately (docs/operator/backup-restore.md).
    """
    from provisioning.ops.backup import create_backup

    if out.exists():
        fail(f"{out} already exists; choose another --out")
    settings = load_settings(config_path)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with steps() as bar:
        try:
            result = asyncio.run(
                create_backup(settings, config_path, out, include_key, pg_method, step=bar.step)  # type: ignore[arg-type]
            )
        except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback with a URL in it
            fail(f"backup failed: {type(exc).__name__}: {exc}")
            return
        if result.sha256 is not None:  # plain tar: every digest was read from the file itself
            bar.step("checking the backup file", None)
            verified = asyncio.run(_record_checked(settings, result))
        else:
            read = bar.step("reading the backup back (bytes)", result.path.stat().st_size)
            total = 0

            def advance(size: int) -> None:
                nonlocal total
                total += size
                read(total)

            verified = asyncio.run(_record(settings, result.path, advance))
    m: dict[str, Any] = result.manifest
    db = m["database"]
    _print(
        [
            ("file", str(result.path)),
            ("database method", db["method"]),
            ("archive head", f"seq {db['archive']['head_seq']}"),
            ("tables", ", ".join(f"{k}={v}" for k, v in sorted(db["tables"].items()))),
            ("media files", str(m["media_files"])),
            ("archive key included", "yes" if m["includes_key"] else "no (keep it separately)"),
            ("verified", "yes (read back, matches its manifest)" if verified else "NO: file does not verify"),
        ],
        fmt,
        "Carebridge backup",
    )
    if include_key:
        click.secho(
            "warning: this backup contains the archive key; anyone holding it can read every "
            "archived message. Store it encrypted.",
            fg="yellow",
            err=True,
        )
    if not verified:
        fail(f"{result.path} does not match its own manifest: do not rely on it", code=1)


async def _record(settings: Settings, path: Path, advance: Callable[[int], None] | None = None) -> bool:
    """Read the new file back and record it (the compliance report's backup evidence)."""
    from bridge.compliance.safeguards.ledger import record_backup
    from bridge.db.engine import create_engine, migrate

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        return await record_backup(engine, path, advance=advance)
    finally:
        await engine.dispose()


async def _record_checked(settings: Settings, result: BackupResult) -> bool:
    """Check the new file's tar structure and manifest (its digests were read from it
    while it was written) and record it."""
    from bridge.compliance.safeguards.ledger import record_checked_backup
    from bridge.core.backup_format import KEY_MEMBER
    from bridge.db.engine import create_engine, migrate
    from provisioning.ops.backup_plain import check_written

    members: dict[str, str] = result.manifest["members"]
    verified = await asyncio.to_thread(check_written, result.path, members)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        size = result.path.stat().st_size
        await record_checked_backup(
            engine, result.path, verified, KEY_MEMBER in members, result.sha256 or "", size
        )
    finally:
        await engine.dispose()
    return verified


@click.command("verify-backup")
@click.argument("backup", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def verify_backup_command(backup: Path, fmt: str) -> None:
    """Read a backup file end to end and check every member against its manifest.

    Needs no configuration or database: run it on a copy (off-site, tape) to prove it is
    complete and readable. Exit code 1 when it does not verify.
    """
    from bridge.compliance.safeguards.ledger import inspect_backup

    with Console(stderr=True).status("reading the backup (every byte)"):
        verified, includes_key, sha, size = inspect_backup(backup)
    _print(
        [
            ("file", str(backup.resolve())),
            ("size", f"{size} bytes"),
            ("sha256", sha),
            ("archive key included", "yes" if includes_key else "no"),
            ("verified", "yes (every member matches its manifest)" if verified else "NO"),
        ],
        fmt,
        "Carebridge backup",
    )
    if not verified:
        fail(f"{backup} does not match its own manifest: do not rely on it", code=1)


@click.command("restore")
@click.argument("backup", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="New data directory to restore into (must be empty or absent).",
)
@click.option(
    "--key-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The archive keyring (0600), when the backup was made without --include-key. "
    "Or set the key env var (CAREBRIDGE_ARCHIVE_KEYS).",
)
@click.option(
    "--database-url",
    help="Restore into this (empty) database instead of the one in the backed-up carebridge.yaml; "
    "also written into the restored carebridge.yaml.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def restore_command(
    backup: Path, data_dir: Path, key_file: Path | None, database_url: str | None, fmt: str
) -> None:
    """Restore a `carebridge backup` file into a fresh data directory and an empty database.

    Every member is checked against the manifest's sha256, the archive key must match the
    one the archive was sealed with, and afterwards the recorded archive head must be
    present, unchanged and decryptable. Then run `carebridge archive verify`.
    """
    from provisioning.ops.restore import RestoreError, RestoreOptions, restore_backup

    try:
        with Console(stderr=True).status("restoring (checking every file against the manifest)"):
            result = asyncio.run(restore_backup(RestoreOptions(backup, data_dir, key_file, database_url)))
    except RestoreError as exc:
        fail(str(exc))
        return
    _print(
        [
            ("config", str(result.config_path)),
            ("database method", result.method),
            ("archive rows", str(result.archive_rows)),
            ("media files", str(result.media_files)),
            ("archive key from", result.key_source),
        ],
        fmt,
        "Carebridge restore",
    )
    for note in result.notes:
        click.secho(f"note: {note}", fg="yellow", err=True)
