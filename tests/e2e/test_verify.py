"""End to end: `carebridge archive verify` against the real Synapse's heads."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from nio import RoomCreateResponse

from tests.archive_helpers import cli
from tests.harness.scenarios import send_texts
from tests.harness.stack import Stack


def copy_data_dir(stack: Stack, target: Path) -> Path:
    """A consistent copy of the bridge's side of the data dir (same Synapse, copied DB)."""
    target.mkdir(mode=0o700)
    src = stack.s.data_dir
    for name in ("carebridge.yaml", "registration.yaml", "archive.key"):
        shutil.copy2(src / name, target / name)
    media = stack.s.path(stack.s.archive.media_dir)
    if media.exists():
        shutil.copytree(media, target / media.name)
    db = Path(stack.s.database_url.removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(db) as source, sqlite3.connect(target / db.name) as copy:
        source.backup(copy)
    return target / "carebridge.yaml"


async def test_verify_passes_then_finds_a_deleted_tail_against_synapse(stack: Stack, tmp_path: Path) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        room = await client.room_create(name="verify", is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        sent = await send_texts(client, room.room_id, (f"v{i}" for i in range(3)))
        await stack.wait_archived(sent)
    finally:
        await client.close()

    code, out, err = await cli("archive", "publish-head", "-c", str(stack.config_path))
    assert code == 0, err
    assert "Published chain head: row" in out

    code, out, err = await cli("archive", "verify", "-c", str(stack.config_path), "--format", "json")
    assert code == 0, out + err
    clean = json.loads(out)
    assert clean["ok"] and clean["tail_checked"] and clean["heads_checked"] >= 1
    published_seq = clean["latest_published_head"]["seq"]

    code, out, _ = await cli("archive", "verify", "-c", str(stack.config_path))
    assert code == 0 and "OK" in out

    copied = copy_data_dir(stack, tmp_path / "copy")
    with sqlite3.connect(copied.parent / "carebridge.db") as db:
        db.execute("DELETE FROM archive_events WHERE seq > ?", (published_seq - 2,))
    # The copy leaves out the heads log (as if it had been deleted too): Synapse's copy of
    # the published head still shows the cut tail, and the missing log is itself a finding.
    code, out, err = await cli("archive", "verify", "-c", str(copied), "--format", "json")
    assert code == 1, out + err
    report = json.loads(out)
    assert [p["kind"] for p in report["problems"]] == ["truncated", "heads-log-missing"]
    assert report["problems"][0]["seq"] == published_seq - 1

    code, out, _ = await cli("archive", "verify", "-c", str(copied), "--offline", "--format", "json")
    report = json.loads(out)
    assert code == 1, "offline, without the heads log, the cut tail is not visible; the missing log is"
    assert [p["kind"] for p in report["problems"]] == ["heads-log-missing"]

    code, out, _ = await cli("archive", "verify", "-c", str(copied))
    assert code == 1 and "TRUNCATED" in out
