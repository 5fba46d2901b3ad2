"""The bridge on PostgreSQL: the same end-to-end path as on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from nio import JoinResponse, RoomCreateResponse, RoomSendResponse

from tests.harness.databases import fresh_database
from tests.harness.stack import Stack


@pytest.mark.slow
async def test_dm_archived_with_bridge_on_postgres(tmp_path: Path) -> None:
    async with fresh_database("postgres", tmp_path) as url:
        stack = Stack(root=tmp_path, database_url=url)
        stack.init()
        await asyncio.to_thread(stack.start_synapse)
        try:
            await asyncio.to_thread(stack.start_bridge)
            a_id, a_pw = await stack.create_user()
            b_id, b_pw = await stack.create_user()
            alice, bob = await stack.login(a_id, a_pw), await stack.login(b_id, b_pw)
            try:
                room = await alice.room_create(is_direct=True, invite=[b_id])
                assert isinstance(room, RoomCreateResponse), room
                assert isinstance(await bob.join(room.room_id), JoinResponse)
                sent = await alice.room_send(
                    room.room_id, "m.room.message", {"msgtype": "m.text", "body": "pg"}
                )
                assert isinstance(sent, RoomSendResponse), sent
                assert sent.event_id in await stack.wait_archived([sent.event_id], timeout=10)
                bodies = [e.event["content"].get("body") for e in await stack.archived(room.room_id)]
                assert "pg" in bodies
            finally:
                await asyncio.gather(alice.close(), bob.close())
        finally:
            await asyncio.to_thread(stack.stop)
