"""Backup one data directory, restore into another: the archive comes back identical
(every table, decrypted event and media file, and its export), on SQLite, on PostgreSQL
(pg_dump and logical), and from SQLite into PostgreSQL (moving from the embedded set-up to
production)."""

from __future__ import annotations

import asyncio
import json
import tarfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain import GENESIS_HASH, RowMeta, event_aad, row_hash
from bridge.archive.commit_log import CommitLog
from bridge.archive.keyring import Keyring
from bridge.archive.reader import iter_events
from bridge.archive.verify import verify_archive
from bridge.archive.writer import ArchiveWriter
from bridge.core.files import write_private
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events, consumer_cursors
from config.settings import Settings, load_settings
from provisioning.cli.app import main
from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.archive_helpers import message_event
from tests.harness.databases import fresh_database

MEDIA = {"ab/abcdef.bin": b"\x00sealed-media\xff" * 100, "cd/cdef01.bin": b"second file"}


def _event(n: int) -> dict[str, Any]:
    return message_event(
        {"msgtype": "m.text", "body": f"Patient note {n} \u00e9\u2713"},
        event_id=f"$ev{n}:test",
        room_id=f"!room{n % 3}:test",
        sender="@alice:test",
        ts=1_700_000_000_000 + n,
    )


async def _populate(settings: Settings) -> None:
    """30 archived events sealed under two keys (a rotation half-way), media, a cursor."""
    key_path = settings.path(settings.archive.key_file)
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        keyring = Keyring.load(key_path)
        heads_log = settings.path(settings.archive.heads_log)
        writer = ArchiveWriter(engine, keyring, commit_log=CommitLog(heads_log, keyring.chain_key))
        await writer.ingest_transaction("t1", [_event(n) for n in range(15)])
        await writer.close()
        rotated = keyring.rotated()
        write_private(key_path, rotated.dumps())
        writer = ArchiveWriter(engine, rotated, commit_log=CommitLog(heads_log, rotated.chain_key))
        await writer.ingest_transaction("t2", [_event(n) for n in range(15, 30)])
        await writer.close()
        async with engine.begin() as conn:
            await conn.execute(consumer_cursors.insert().values(name="rooms", seq=17))
    finally:
        await engine.dispose()
    media = settings.path(settings.archive.media_dir)
    for name, data in MEDIA.items():
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(data)


async def _all_rows(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    async with engine.connect() as conn:
        await conn.run_sync(meta.reflect)
        out = {}
        for table in meta.sorted_tables:
            if table.name == "alembic_version":
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            rows = (await conn.execute(select(table).order_by(*order))).all()
            out[table.name] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    return out


async def _decrypted(engine: AsyncEngine, keyring: Keyring) -> list[bytes]:
    """Each archived event's plaintext bytes, exactly as sealed."""
    t = archive_events
    async with engine.connect() as conn:
        rows = (await conn.execute(select(t).order_by(t.c.seq))).all()
    plain = [keyring.open(r.key_id, bytes(r.ciphertext), event_aad(r.event_id, r.room_id)) for r in rows]
    assert [json.loads(p) for p in plain] == [e.event async for e in iter_events(engine, keyring)]
    return plain


async def _chain_ok(engine: AsyncEngine) -> int:
    prev, count = GENESIS_HASH, 0
    t = archive_events
    async with engine.connect() as conn:
        for r in (await conn.execute(select(t).order_by(t.c.seq))).all():
            meta = RowMeta(
                r.seq, r.event_id, r.room_id, r.sender, r.event_type, r.state_key,
                r.origin_ts, r.received_ts, r.source, r.key_id,
            )  # fmt: skip
            assert bytes(r.prev_hash) == prev and bytes(r.row_hash) == row_hash(
                prev, meta, bytes(r.ciphertext)
            )
            prev, count = bytes(r.row_hash), count + 1
    return count


async def _snapshot(settings: Settings) -> tuple[dict[str, Any], list[bytes], dict[str, bytes], int]:
    engine = create_engine(settings.database_url)
    try:
        keyring = Keyring.load(settings.path(settings.archive.key_file), settings.archive.key_env)
        rows, plain, chained = (
            await _all_rows(engine),
            await _decrypted(engine, keyring),
            await _chain_ok(engine),
        )
        # What `carebridge archive verify` checks offline (chain, MACs, the heads log,
        # media): it must pass, the restored heads log included.
        report = await verify_archive(
            engine,
            None,
            settings.path(settings.archive.media_dir),
            chain_key=keyring.chain,
            heads_log=settings.path(settings.archive.heads_log),
        )
        assert report.ok, report.problems
        assert report.keyed_from == 1 and report.macs_checked >= 30 and report.logged_up_to >= 30
    finally:
        await engine.dispose()
    media_dir = settings.path(settings.archive.media_dir)
    media = {p.relative_to(media_dir).as_posix(): p.read_bytes() for p in media_dir.rglob("*") if p.is_file()}
    return rows, plain, media, chained


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


async def _round_trip(
    tmp_path: Path, source_url: str | None, target_url: str | None, pg_method: str = "auto"
) -> dict[str, Any]:
    config = init_data_dir(InitOptions(data_dir=tmp_path / "a", database_url=source_url))
    source = load_settings(config)
    await _populate(source)
    backup = tmp_path / "backups" / "cb.tar.gz"
    made = await asyncio.to_thread(
        _cli, "backup", "-c", str(config), "--out", str(backup), "--pg-method", pg_method, "--format", "json"
    )
    assert made.exit_code == 0, made.output
    with tarfile.open(backup) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert "key/archive.key" not in names and manifest["includes_key"] is False
    assert (backup.stat().st_mode & 0o777) == 0o600

    restored_dir = tmp_path / "b"
    args = ["restore", str(backup), "--data-dir", str(restored_dir), "--format", "json"]
    if target_url:
        args += ["--database-url", target_url]
    refused = await asyncio.to_thread(_cli, *args)
    assert refused.exit_code != 0 and "--key-file" in refused.output, "restore needs the archive key"
    wrong = tmp_path / "wrong.key"
    write_private(wrong, Keyring.generate().dumps())
    refused = await asyncio.to_thread(_cli, *args, "--key-file", str(wrong))
    assert refused.exit_code != 0 and "does not match" in refused.output

    assert not any(restored_dir.iterdir()), "a refused restore leaves nothing behind"
    done = await asyncio.to_thread(_cli, *args, "--key-file", str(source.path(source.archive.key_file)))
    assert done.exit_code == 0, done.output
    restored = load_settings(restored_dir / "carebridge.yaml")
    if target_url:
        assert restored.database.url == target_url

    before, after = await _snapshot(source), await _snapshot(restored)
    # The record of this backup is written after the dump (once the file is read back), so
    # the source holds it and the backup cannot.
    made_record = before[0].pop("backup_records")
    assert len(made_record) == 1 and after[0].pop("backup_records") == []
    assert after[0] == before[0], "every table, every column, identical"
    assert after[1] == before[1] and len(after[1]) == 30, "decrypted events identical byte for byte"
    assert after[2] == before[2] == MEDIA
    assert after[3] == 30
    for name in ("registration.yaml", "signing.key"):
        assert (restored_dir / name).read_bytes() == (source.data_dir / name).read_bytes()
    # homeserver.yaml: identical but for the data directory in its paths
    old_dir, new_dir = str(source.data_dir.resolve()), str(restored_dir.resolve())
    expected = (source.data_dir / "homeserver.yaml").read_text().replace(old_dir + "/", new_dir + "/")
    assert (restored_dir / "homeserver.yaml").read_text() == expected
    exports = [
        await _export_room(cfg, tmp_path / f"export-{n}")
        for n, cfg in enumerate((config, restored_dir / "carebridge.yaml"))
    ]
    assert exports[0] == exports[1], "an export of the restored archive matches byte for byte"
    assert exports[0].count(b"\n") == 10
    return manifest


async def _export_room(config: Path, out: Path) -> bytes:
    """`carebridge export --room` of one room, as an auditor would run it."""
    result = await asyncio.to_thread(
        _cli, "export", "-c", str(config), "--room", "!room0:test", "--format", "jsonl", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    return (out / "messages.jsonl").read_bytes()


async def test_backup_restore_round_trip(db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        manifest = await _round_trip(tmp_path, None, None)
        assert manifest["database"]["method"] == "sqlite-online-backup"
        return
    async with fresh_database("postgres", tmp_path) as target:
        manifest = await _round_trip(tmp_path, db_url, target)
    assert manifest["database"]["method"] == "pg_dump"


async def test_postgres_logical_backup_restores_into_postgres(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as source, fresh_database("postgres", tmp_path) as target:
        manifest = await _round_trip(tmp_path, source, target, pg_method="logical")
    assert manifest["database"]["method"] == "logical-sqlalchemy"


async def test_sqlite_backup_restores_into_postgres(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as target:
        await _round_trip(tmp_path, None, target)


async def test_backup_with_key_restores_without_key_file(tmp_path: Path) -> None:
    config = init_data_dir(InitOptions(data_dir=tmp_path / "a"))
    await _populate(load_settings(config))
    backup = tmp_path / "with-key.tar.gz"
    made = await asyncio.to_thread(_cli, "backup", "-c", str(config), "--out", str(backup), "--include-key")
    assert made.exit_code == 0, made.output
    assert "contains the archive key" in made.output
    done = await asyncio.to_thread(_cli, "restore", str(backup), "--data-dir", str(tmp_path / "b"))
    assert done.exit_code == 0, done.output
    assert "store it encrypted" in done.output
    again = await asyncio.to_thread(_cli, "restore", str(backup), "--data-dir", str(tmp_path / "b"))
    assert again.exit_code != 0 and "not empty" in again.output


async def test_a_plain_tar_unless_the_name_asks_for_gzip(tmp_path: Path) -> None:
    """`--out x.tar` writes an uncompressed tar (the archive is ciphertext: gzip cost more
    than the copy and saved little), `x.tar.gz` a gzipped one; both verify, both restore;
    the manifest is the last member (its digests are taken while the members are copied)."""
    config = init_data_dir(InitOptions(data_dir=tmp_path / "a"))
    await _populate(load_settings(config))
    key = str(load_settings(config).path(load_settings(config).archive.key_file))
    for name, gzipped in (("plain.tar", False), ("packed.tar.gz", True)):
        backup = tmp_path / name
        made = await asyncio.to_thread(_cli, "backup", "-c", str(config), "--out", str(backup))
        assert made.exit_code == 0 and "read back, matches its manifest" in made.output, made.output
        assert (backup.read_bytes()[:2] == b"\x1f\x8b") is gzipped
        with tarfile.open(backup) as tar:
            names = tar.getnames()
        assert names[-1] == "manifest.json" and names[0] == "db/carebridge.sqlite3"
        target = tmp_path / f"restored-{name}"
        done = await asyncio.to_thread(
            _cli, "restore", str(backup), "--data-dir", str(target), "--key-file", key
        )
        assert done.exit_code == 0, done.output
    # A file as tarfile wrote it before the database went in place (no padded first
    # header) still verifies and restores.
    old = tmp_path / "old.tar"
    with tarfile.open(tmp_path / "plain.tar") as new, tarfile.open(old, "w") as tar:
        for member in new.getmembers():
            member.pax_headers = {}
            tar.addfile(member, new.extractfile(member))
    assert old.read_bytes()[512:1024] != (tmp_path / "plain.tar").read_bytes()[512:1024], "re-packed"
    checked = await asyncio.to_thread(_cli, "verify-backup", str(old))
    assert checked.exit_code == 0, checked.output
    done = await asyncio.to_thread(
        _cli, "restore", str(old), "--data-dir", str(tmp_path / "restored-old"), "--key-file", key
    )
    assert done.exit_code == 0, done.output


def test_backup_and_restore_explain_themselves() -> None:
    for command in ("backup", "restore"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage: " in result.output
        assert "key" in result.output
