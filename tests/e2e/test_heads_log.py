"""Chain heads leave the database within minutes: cutting the archive's tail is caught."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
import time
from pathlib import Path

import pytest
from nio import RoomCreateResponse, RoomSendResponse

from bridge.archive.heads_log import read_heads_log
from tests.archive_helpers import cli
from tests.harness.stack import Stack


@pytest.mark.slow
async def test_deleting_the_newest_rows_after_a_head_was_logged_is_found(tmp_path: Path) -> None:
    """The bridge logs a head soon after the archive grows (interval set to about a second
    here) and at a clean stop, in the 0600 heads log as well as the admins' room; after the
    newest rows are deleted, `archive verify` exits 1 naming `truncated`, with Synapse
    (both copies) and --offline (the heads log alone)."""
    stack = Stack(root=tmp_path, extra_settings={"archive": {"head_interval_minutes": 0.02}})
    stack.init()
    heads_log = stack.s.path(stack.s.archive.heads_log)
    try:
        stack.start_synapse()
        stack.start_bridge()
        user_id, password = await stack.create_user()
        stack.allow_channel_creators(user_id)
        client = await stack.login(user_id, password)
        try:
            room = await client.room_create(name="handover")
            assert isinstance(room, RoomCreateResponse), room
            sent = []
            for i in range(5):
                resp = await client.room_send(
                    room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"{i}"}
                )
                assert isinstance(resp, RoomSendResponse), resp
                sent.append(resp.event_id)
        finally:
            await client.close()
        await stack.wait_archived(sent, timeout=30)
        db_path = stack.s.database_url.removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(db_path) as db:
            last_sent = db.execute(
                f"SELECT max(seq) FROM archive_events WHERE event_id IN ({','.join('?' * len(sent))})", sent
            ).fetchone()[0]
        deadline = time.monotonic() + 60
        while not any(h.seq >= last_sent for h in read_heads_log(heads_log)):
            assert time.monotonic() < deadline, "no head covering the new messages was logged"
            await asyncio.sleep(0.5)
        assert stat.S_IMODE(heads_log.stat().st_mode) == 0o600
        stack.stop_bridge()  # clean stop: one more head if the archive grew since

        with sqlite3.connect(db_path) as db:
            newest = db.execute("SELECT max(seq) FROM archive_events").fetchone()[0]
            db.execute("DELETE FROM archive_events WHERE seq > ?", (newest - 3,))

        for offline in ([], ["--offline"]):
            code, out, err = await cli(
                "archive", "verify", "-c", str(stack.config_path), "--format", "json", "--no-media", *offline
            )
            assert code == 1, out + err
            report = json.loads(out)
            assert [p["kind"] for p in report["problems"]] == ["truncated"], report
    finally:
        stack.stop()
