"""kill -9 the bridge while 200 messages are being sent; nothing lost or doubled."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from tests.archive_helpers import cli
from tests.harness.stack import Stack

SENDERS = 4
PER_SENDER = 50


@pytest.mark.slow
async def test_kill_9_during_sends_loses_nothing(tmp_path: Path) -> None:
    stack = Stack(root=tmp_path)
    stack.init()
    clients: list[AsyncClient] = []
    try:
        stack.start_synapse()
        stack.start_bridge()
        for _ in range(SENDERS):
            user_id, password = await stack.create_user()
            clients.append(await stack.login(user_id, password))
        room = await clients[0].room_create(
            name="crash", is_direct=True, invite=[c.user_id for c in clients[1:]]
        )
        assert isinstance(room, RoomCreateResponse), room
        for client in clients[1:]:
            assert isinstance(await client.join(room.room_id), JoinResponse)

        sent: list[str] = []
        killed = asyncio.Event()

        async def sender(index: int, client: AsyncClient) -> None:
            for i in range(PER_SENDER):
                resp = await client.room_send(
                    room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"s{index}-{i}"}
                )
                assert isinstance(resp, RoomSendResponse), resp
                sent.append(resp.event_id)

        async def killer() -> None:
            while len(sent) < 60:
                await asyncio.sleep(0.01)
            stack.stop_bridge(kill=True)
            killed.set()

        await asyncio.gather(killer(), *(sender(i, c) for i, c in enumerate(clients)))
        assert killed.is_set() and len(sent) == SENDERS * PER_SENDER
        archived_while_down = set(await stack.archived_ids()) & set(sent)
        assert len(archived_while_down) < len(sent), "the kill happened mid-stream"

        stack.start_bridge()
        ids = await stack.wait_archived(sent, timeout=120)
        counts = Counter(ids)
        assert all(counts[e] == 1 for e in sent), [e for e in sent if counts[e] != 1]
        assert len(ids) == len(set(ids)), "no event archived twice"

        code, out, err = await cli("archive", "verify", "-c", str(stack.config_path), "--format", "json")
        assert code == 0, out + err
        report = json.loads(out)
        assert report["ok"] and report["tail_checked"]
    finally:
        await asyncio.gather(*(c.close() for c in clients))
        stack.stop()
