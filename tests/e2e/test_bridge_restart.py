"""Synapse keeps transactions while the bridge is down; nothing is lost or doubled."""

from __future__ import annotations

from collections import Counter

from nio import RoomCreateResponse

from tests.harness.scenarios import send_texts
from tests.harness.stack import Stack


async def test_messages_sent_while_bridge_down_arrive_once(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        room = await client.room_create(name="restart test", is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        stack.stop_bridge()
        sent = await send_texts(client, room.room_id, (f"m{i}" for i in range(20)))
        assert not set(sent) & set(await stack.archived_ids()), "bridge was down; nothing archived yet"
        stack.start_bridge()
        ids = await stack.wait_archived(sent, timeout=60)
        counts = Counter(ids)
        assert all(counts[e] == 1 for e in sent), counts
    finally:
        await client.close()
        if stack.bridge is None:
            stack.start_bridge()
