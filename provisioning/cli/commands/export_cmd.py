"""`carebridge export`: decrypted messages of a room or a person, for records requests."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import click
from mautrix.errors import MatrixRequestError
from rich.console import Console
from rich.progress import Progress

from bridge.archive.chain_key import ensure_chain_key
from bridge.archive.commit_log import CommitLog
from bridge.archive.export.job import ExportJob, ExportResult, Format, run_export
from bridge.archive.export.stream import ExportFilter
from bridge.archive.export.targets import ExportTargetError, resolve_room, resolve_user
from bridge.archive.keyring import KeyringError, LiveKeyring
from bridge.archive.writer import ArchiveWriter
from bridge.core.matrix_errors import SynapseUnavailable
from bridge.core.registration import load_registration
from bridge.db.engine import create_engine, migrate
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.cli.progress import bar
from provisioning.org.admin_api import SynapseClient


def parse_instant(value: str | None, option: str) -> int | None:
    """ISO 8601 date or date-time (UTC unless an offset is given) to epoch milliseconds."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            "expected an ISO 8601 date or time, e.g. 2025-01-31 or 2025-01-31T08:00", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


async def _lookup_alias(settings: Settings, alias: str) -> str | None:
    """Ask the homeserver (as the bot) which room an alias names; None if it is not
    there or the homeserver is not reachable."""
    try:
        registration = load_registration(settings.path(settings.bridge.registration))
        async with SynapseClient(settings.synapse.url, registration.as_token, 2) as client:
            return await client.find_alias(alias)
    except (MatrixRequestError, SynapseUnavailable, OSError, ValueError):
        return None


async def _run(
    settings: Settings,
    room: str | None,
    user: str | None,
    make_job: Callable[[ExportFilter], ExportJob],
    progress: Progress,
) -> tuple[ExportJob, ExportResult]:
    keyring = LiveKeyring(settings.path(settings.archive.key_file), settings.archive.key_env)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        # Resolve first: a room or person that does not resolve stops here, before any
        # file or audit record is written.
        room_id = (
            await resolve_room(engine, room, settings.server_name, lambda a: _lookup_alias(settings, a))
            if room is not None
            else None
        )
        user_id = await resolve_user(engine, user, settings.server_name) if user is not None else None
        job = make_job(ExportFilter(room_id, user_id))
        task = progress.add_task("exporting (archive rows)", total=None)
        # The export's audit records are archive rows like any other: MACed, and their
        # heads in the heads log before the command goes on.
        await ensure_chain_key(engine, keyring)
        archive = settings.archive
        writer = ArchiveWriter(
            engine,
            keyring,
            commit_log=CommitLog(settings.path(archive.heads_log), keyring.chain_key, archive.heads_syslog),
        )
        try:
            result = await run_export(
                engine,
                keyring,
                writer,
                settings.path(settings.archive.media_dir),
                job,
                settings.server_name,
                settings.bot_user_id,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        finally:
            await writer.close()
        return job, result
    finally:
        await engine.dispose()


@click.command("export")
@config_option
@click.option(
    "--room",
    "room_id",
    metavar="ROOM",
    help="Export one room: a channel name (icu), an alias (#icu or #icu:server) or a room id (!…).",
)
@click.option(
    "--user",
    "user_id",
    metavar="USER",
    help="Export everything one person sent: a username (drlee) or a user id (@drlee:server).",
)
@click.option("--since", help="Only messages sent at or after this time (ISO 8601, UTC by default).")
@click.option("--until", help="Only messages sent before this time (ISO 8601, UTC by default).")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="New (or empty) folder for the export; default ./carebridge-export-<UTC time>.",
)
@click.option("--operator", help="Who is exporting, for the audit record (default: your OS account).")
def export_command(
    config_path: Path,
    room_id: str | None,
    user_id: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    out_dir: Path | None,
    operator: str | None,
) -> None:
    """Export decrypted messages of one room (--room) or one person (--user).

    \b
    Each message: sender, time, room, the original text, every edit, every reaction,
    its attachment (decrypted into the export folder, SHA-256 checked) and who was a
    member of the room when it was sent. Writes messages.jsonl (or .csv: nested
    fields as JSON in their cell), attachments/ and manifest.json (files' SHA-256).

    The export is recorded in the archive before any data is written: who ran it
    (--operator and the OS account), the filters, the folder; and again when it ends.
    The folder holds PHI: it is created 0700; keep it on encrypted storage.
    """
    if (room_id is None) == (user_id is None):
        fail("give exactly one of --room or --user")
    settings = load_settings(config_path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    since_ms, until_ms = parse_instant(since, "--since"), parse_instant(until, "--until")

    def make_job(resolved: ExportFilter) -> ExportJob:
        return ExportJob(
            flt=replace(resolved, since_ms=since_ms, until_ms=until_ms),
            fmt=cast(Format, fmt),
            out_dir=out_dir or Path(f"carebridge-export-{stamp}"),
            operator=operator or getpass.getuser(),
        )

    console = Console(stderr=True)
    try:
        with bar(console) as progress:
            job, result = asyncio.run(_run(settings, room_id, user_id, make_job, progress))
    except (FileExistsError, KeyringError, ExportTargetError) as exc:
        fail(str(exc))
        return
    counts = result.counts
    console.print(
        f"Exported {counts.messages} messages ({counts.revisions} edits, {counts.reactions} reactions, "
        f"{counts.attachments} attachments, {counts.attachments_missing} not available) to {job.out_dir}"
    )
    console.print(
        f"{result.data_file.name} sha256 {result.sha256}; audit record export id {result.export_id}"
    )
