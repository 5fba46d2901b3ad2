"""End-to-end: two staff exchange a DM the bot never joined; the bridge archives it."""

from __future__ import annotations

from nio import SyncResponse

from tests.harness.scenarios import exchange_dm
from tests.harness.stack import Stack


async def test_dm_between_staff_is_archived(stack: Stack) -> None:
    dm = await exchange_dm(stack, "BP 120/80")
    sent_id, reply_id = dm.event_ids

    ids = await stack.wait_archived([sent_id, reply_id], timeout=10)
    assert sent_id in ids and reply_id in ids

    archived = await stack.archived(dm.room_id)
    members = {e.event["state_key"] for e in archived if e.event["type"] == "m.room.member"}
    assert members == {dm.alice_id, dm.bob_id}, "the bot is not a member, yet the room is archived"
    bodies = [e.event["content"].get("body") for e in archived if e.event["type"] == "m.room.message"]
    assert bodies == ["BP 120/80", "ack"]

    bob = await stack.login(dm.bob_id, dm.passwords[1])
    try:
        synced = await bob.sync(timeout=1000)
        assert isinstance(synced, SyncResponse)
        assert dm.room_id in synced.rooms.join
    finally:
        await bob.close()
