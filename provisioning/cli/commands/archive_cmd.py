"""`carebridge archive ...`: verify the archive, rotate its key, publish its chain head."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bridge.archive.chain import ChainKey
from bridge.archive.chain_key import chain_key_for
from bridge.archive.heads import HeadsLog, PublishedHead, publish_head, published_heads
from bridge.archive.keyring import Keyring, KeyringError
from bridge.archive.reader import head_seq
from bridge.archive.synapse_check import SynapseComparison, compare_with_synapse
from bridge.archive.verify import VerifyReport, stored_media_count, verify_archive
from bridge.core.files import write_private
from bridge.core.registration import load_registration
from bridge.core.synapse_http import SynapseHTTP
from bridge.db.engine import create_engine, migrate
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.cli.progress import Steps, steps

EXIT_BROKEN = 1
EXIT_UNCHECKED = 3


@click.group("archive")
def archive_group() -> None:
    """The encrypted, tamper-evident archive: verify it, rotate its key, publish its head.

    \b
    carebridge archive verify          check the hash chain, the published heads, media files
    carebridge archive rotate-key      add a new key for new rows (old rows stay readable)
    carebridge archive publish-head    post the chain head to the administrators' room now
    """


def _synapse(settings: Settings) -> SynapseHTTP:
    registration = load_registration(settings.path(settings.bridge.registration))
    return SynapseHTTP(settings.synapse.url, registration.as_token, timeout=30)


async def _published(settings: Settings) -> list[PublishedHead]:
    async with _synapse(settings) as http:
        room_id = await http.resolve_alias(settings.admin_room_alias)
        return [h async for h in published_heads(http, room_id, settings.bot_user_id)]


def _heads_log(settings: Settings) -> HeadsLog:
    return HeadsLog(settings.path(settings.archive.heads_log), settings.archive.heads_syslog)


def _chain_key(settings: Settings) -> ChainKey | None:
    return chain_key_for(settings.path(settings.archive.key_file), settings.archive.key_env)


async def _verify(
    settings: Settings, offline: bool, media: bool, bar: Steps
) -> tuple[VerifyReport, str | None]:
    tail_error = None
    heads: list[PublishedHead] | None = None
    if not offline:
        try:
            heads = await _published(settings)
        except Exception as exc:  # noqa: BLE001 - reported, and the exit code says so
            tail_error = f"could not read the published chain heads from Synapse ({exc})"
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        media_dir = settings.path(settings.archive.media_dir) if media else None
        chain = bar.step("checking the hash chain (rows)", await head_seq(engine))
        files = bar.later(
            "checking archived media files", await stored_media_count(engine) if media else None
        )
        # The heads log is a copy outside the database, read even offline; the chain key
        # (in the keyring) checks the rows' MACs and the heads'.
        report = await verify_archive(
            engine,
            heads,
            media_dir,
            progress=chain,
            media_progress=files,
            chain_key=_chain_key(settings),
            heads_log=_heads_log(settings).path,
        )
        return report, tail_error
    finally:
        await engine.dispose()


def _print_report(report: VerifyReport, tail_error: str | None, offline: bool) -> None:
    console = Console()
    table = Table(title="Archive verification", show_header=False)
    table.add_column()
    table.add_column(overflow="fold")  # the whole head hash, folded, never cut
    table.add_row("rows in chain", str(report.rows))
    table.add_row("chain head", f"row {report.head.seq}, sha256 {report.head.row_hash.hex()}")
    if report.keyed_from is None:
        table.add_row("keyed chain (MACs)", "NOT CHECKED: no chain key in the keyring")
    else:
        table.add_row(
            "keyed chain (MACs)", f"from row {report.keyed_from}: {report.macs_checked} row(s) checked"
        )
    latest = report.latest_published
    if report.tail_checked:
        newest = "none yet" if latest is None else f"row {latest.seq} ({latest.event_id})"
        table.add_row("heads checked", f"{report.heads_checked}; newest: {newest}")
        if report.unlogged_rows:
            table.add_row(
                "not yet logged",
                f"{report.unlogged_rows} row(s) after row {report.logged_up_to}: committed but not yet "
                "acknowledged when this copy was taken or the bridge stopped (the bridge logs "
                "its head at start)",
            )
    else:
        table.add_row("heads", "not checked (--offline)" if offline else "NOT CHECKED")
    if offline:
        table.add_row("published heads (Synapse)", "not read (--offline): the heads log only")
    table.add_row("media files checked", str(report.media_checked))
    console.print(table)
    for problem in report.problems:
        where = f"row {problem.seq}" + (f", event {problem.event_id}" if problem.event_id else "")
        console.print(f"[bold red]{problem.kind.upper()}[/] at {where}: {problem.detail}")
    for note in report.unchecked:
        console.print(f"[yellow]warning:[/] {note}")
    if tail_error:
        console.print(f"[yellow]warning:[/] {tail_error}; a truncated tail cannot be ruled out")
    if report.ok:
        console.print("[bold green]OK[/]: no row changed, removed, reordered, inserted or recomputed.")


async def _against_synapse(settings: Settings) -> SynapseComparison:
    engine = create_engine(settings.database_url)
    try:
        async with _synapse(settings) as http:
            found = await compare_with_synapse(engine, http)
            if not found.ok:
                room_id = await http.resolve_alias(settings.admin_room_alias)
                await http.send_event(
                    room_id, "m.room.message", {"msgtype": "m.text", "body": found.alert_text()}
                )
            return found
    finally:
        await engine.dispose()


def _print_synapse(found: SynapseComparison) -> None:
    console = Console()
    table = Table(title="Archive against Synapse", show_header=False)
    table.add_column()
    table.add_column(overflow="fold")
    table.add_row("rooms compared", str(found.rooms_checked))
    table.add_row("archived events compared", str(found.events_checked))
    table.add_row("archived media compared", str(found.media_checked))
    console.print(table)
    for f in found.findings:
        console.print(f"[bold red]{f.kind.upper()}[/] {f.item} in {f.room_id}: {f.detail}")
    if found.ok:
        console.print("[bold green]OK[/]: Synapse still holds every archived event and media file.")
    else:
        console.print("An alert was posted to the administrators' room.")


@archive_group.command("verify")
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--offline", is_flag=True, help="Do not ask Synapse for the published heads (tail unchecked).")
@click.option("--no-media", is_flag=True, help="Skip checking the archived media files.")
@click.option(
    "--against-synapse",
    is_flag=True,
    help="Also report archived events and media Synapse no longer holds (purged or deleted "
    "through its admin API), and alert the administrators' room if any.",
)
def verify_command(config_path: Path, fmt: str, offline: bool, no_media: bool, against_synapse: bool) -> None:
    """Check the archive without the decryption key.

    Walks the hash chain from the first row and names the first broken link (a row
    changed, removed, reordered or inserted); from the row where the keyed chain starts,
    checks every row's MAC under the chain key in the keyring (a chain recomputed without
    the key is `recomputed`). Then compares the archive with every chain head the bridge
    published in the administrators' room (read from Synapse) and in the heads log file
    (archive.heads_log: the head of every committed transaction, read even with
    --offline), so a deleted tail of any length is `truncated`, and checks every archived
    media file.

    With --against-synapse, every room and media file the archive holds is compared with
    what Synapse still has: events purged with the admin API's purge_history, rooms gone,
    media deleted or quarantined are listed, and an alert is posted to the administrators'
    room. (Synapse offers no hook to refuse those admin operations; this finds them.)

    Exit code: 0 all good; 1 a problem was found; 3 nothing wrong was found but something
    could not be checked: the published heads in Synapse (use --offline to skip that on
    purpose) or the rows' MACs (no chain key in the keyring).
    """
    if against_synapse and offline:
        fail("--against-synapse needs Synapse; leave out --offline")
    settings = load_settings(config_path)
    with steps() as bar:
        report, tail_error = asyncio.run(_verify(settings, offline, not no_media, bar))
    synapse = None
    if against_synapse:
        try:
            synapse = asyncio.run(_against_synapse(settings))
        except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
            fail(f"could not compare the archive with Synapse: {exc}", code=1)
    if fmt == "json":
        extra = {"synapse": synapse.to_json()} if synapse is not None else {}
        click.echo(json.dumps({**report.to_json(), "tail_error": tail_error, **extra}, indent=2))
    else:
        _print_report(report, tail_error, offline)
        if synapse is not None:
            _print_synapse(synapse)
    if not report.ok or (synapse is not None and not synapse.ok):
        sys.exit(EXIT_BROKEN)
    if tail_error or report.unchecked:
        sys.exit(EXIT_UNCHECKED)


@archive_group.command("rotate-key")
@config_option
def rotate_key_command(config_path: Path) -> None:
    """Add a new archive key and make it the one that seals new rows.

    Old keys stay in the keyring, so every existing row and file stays readable; never
    delete a key id from the file. The file is rewritten atomically, mode 0600. A running
    bridge starts using the new key within a second. Back up the key file afterwards.
    """
    settings = load_settings(config_path)
    env = settings.archive.key_env
    if env and os.environ.get(env):
        fail(
            f"the archive keys come from the environment variable {env}; rotate them where that "
            "value is kept (generate a new keyring with this command on a key file, then copy it)"
        )
    key_file = settings.path(settings.archive.key_file)
    try:
        ring = Keyring.load(key_file)
    except KeyringError as exc:
        fail(str(exc))
    rotated = ring.rotated()
    write_private(key_file, rotated.dumps())
    kept = ", ".join(sorted(k for k in rotated.keys if k != rotated.active))
    click.echo(f"New active archive key: {rotated.active} (kept for old rows: {kept}).")
    click.echo(f"Back up {key_file} now: without it the archive cannot be read.")


@archive_group.command("publish-head")
@config_option
def publish_head_command(config_path: Path) -> None:
    """Post the archive's chain head to the administrators' room now.

    The bridge does this by itself within minutes of the archive growing
    (archive.head_interval_minutes) and at a clean stop; use this
    before and after maintenance, or before handing a copy of the archive to an auditor.
    """
    settings = load_settings(config_path)

    async def run() -> PublishedHead:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            async with _synapse(settings) as http:
                room_id = await http.resolve_alias(settings.admin_room_alias)
                return await publish_head(
                    engine,
                    http,
                    room_id,
                    heads_log=_heads_log(settings),
                    chain_key=_chain_key(settings),
                )
        finally:
            await engine.dispose()

    try:
        head = asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - one clear line instead of a traceback
        fail(f"could not publish the chain head: {exc}", code=1)
    click.echo(f"Published chain head: row {head.seq}, sha256 {head.row_hash.hex()} as {head.event_id}")
