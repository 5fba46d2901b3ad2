"""`carebridge archive rotate-key`: a new key id for new rows, old rows stay readable."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bridge.archive.keyring import Keyring, LiveKeyring
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchiveWriter
from bridge.core.files import write_private
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events
from provisioning.cli.app import main
from tests.archive_helpers import message_event


def event(body: str) -> dict[str, Any]:
    return message_event({"body": body})


def data_dir(tmp_path: Path) -> Path:
    config = tmp_path / "carebridge.yaml"
    config.write_text("server_name: test\narchive:\n  key_file: archive.key\n  key_env: CB_TEST_KEYS_UNSET\n")
    write_private(tmp_path / "archive.key", Keyring.generate().dumps())
    return config


def test_rotate_key_cli(tmp_path: Path) -> None:
    config = data_dir(tmp_path)
    key_file = tmp_path / "archive.key"
    before = Keyring.load(key_file)
    result = CliRunner().invoke(main, ["archive", "rotate-key", "-c", str(config)])
    assert result.exit_code == 0, result.output
    after = Keyring.load(key_file)
    assert after.active == "k2" and after.keys["k1"] == before.keys["k1"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "New active archive key: k2" in result.output
    assert not list(tmp_path.glob(".*tmp")), "atomic write leaves no temporary file"


def test_rotate_key_refused_when_keys_come_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = data_dir(tmp_path)
    monkeypatch.setenv("CB_TEST_KEYS_UNSET", Keyring.generate().dumps())
    result = CliRunner().invoke(main, ["archive", "rotate-key", "-c", str(config)])
    assert result.exit_code == 2
    assert "environment variable CB_TEST_KEYS_UNSET" in result.output


async def test_new_rows_use_the_new_key_and_old_rows_stay_readable(db_url: str, tmp_path: Path) -> None:
    config = data_dir(tmp_path)
    key_file = tmp_path / "archive.key"
    live = LiveKeyring(key_file, recheck=0)
    engine = create_engine(db_url)
    await migrate(engine)
    writer = ArchiveWriter(engine, live)
    try:
        await writer.append([event("before rotation")], source="test")
        result = await asyncio.to_thread(
            CliRunner().invoke, main, ["archive", "rotate-key", "-c", str(config)]
        )
        assert result.exit_code == 0, result.output
        await writer.append([event("after rotation")], source="test")
        async with engine.connect() as conn:
            key_ids = [
                r[0]
                for r in await conn.execute(select(archive_events.c.key_id).order_by(archive_events.c.seq))
            ]
        assert key_ids == ["k1", "k2"]
        for reader in (live, Keyring.load(key_file)):
            bodies = [a.event["content"]["body"] async for a in iter_events(engine, reader)]
            assert bodies == ["before rotation", "after rotation"]
    finally:
        await engine.dispose()


async def test_reader_with_stale_keyring_reloads_on_unknown_key_id(db_url: str, tmp_path: Path) -> None:
    """A bridge that has not noticed the rotation yet still reads rows the CLI sealed with k2."""
    data_dir(tmp_path)
    key_file = tmp_path / "archive.key"
    stale = LiveKeyring(key_file, recheck=3600)
    write_private(key_file, Keyring.load(key_file).rotated().dumps())
    engine = create_engine(db_url)
    await migrate(engine)
    try:
        await ArchiveWriter(engine, Keyring.load(key_file)).append([event("from the CLI")], source="export")
        assert [a.event["content"]["body"] async for a in iter_events(engine, stale)] == ["from the CLI"]
    finally:
        await engine.dispose()


def test_unusable_key_file_change_keeps_the_loaded_keys(tmp_path: Path) -> None:
    data_dir(tmp_path)
    key_file = tmp_path / "archive.key"
    live = LiveKeyring(key_file, recheck=0)
    key_id, sealed = live.seal(b"x", b"aad")
    key_file.chmod(0o644)  # someone loosened the permissions
    key_file.touch()
    assert live.seal(b"y", b"aad")[0] == key_id, "still sealing with the loaded key"
    assert live.open(key_id, sealed, b"aad") == b"x"
