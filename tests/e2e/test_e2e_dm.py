"""End-to-end: two staff exchange a DM the bot never joined; the bridge archives it."""

from __future__ import annotations

import asyncio

from nio import JoinResponse, RoomCreateResponse, RoomSendResponse, SyncResponse

from tests.harness.stack import Stack


async def test_dm_between_staff_is_archived(stack: Stack) -> None:
    alice_id, alice_pw = await stack.create_user(display_name="Alice Nurse")
    bob_id, bob_pw = await stack.create_user(display_name="Bob Physician")
    alice = await stack.login(alice_id, alice_pw)
    bob = await stack.login(bob_id, bob_pw)
    try:
        created = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(created, RoomCreateResponse), created
        joined = await bob.join(created.room_id)
        assert isinstance(joined, JoinResponse), joined
        sent = await alice.room_send(
            created.room_id, "m.room.message", {"msgtype": "m.text", "body": "BP 120/80"}
        )
        assert isinstance(sent, RoomSendResponse), sent
        reply = await bob.room_send(created.room_id, "m.room.message", {"msgtype": "m.text", "body": "ack"})
        assert isinstance(reply, RoomSendResponse), reply

        ids = await stack.wait_archived([sent.event_id, reply.event_id], timeout=10)
        assert sent.event_id in ids and reply.event_id in ids

        archived = await stack.archived(created.room_id)
        members = {e.event["state_key"] for e in archived if e.event["type"] == "m.room.member"}
        assert members == {alice_id, bob_id}, "the bot is not a member, yet the room is archived"
        bodies = [e.event["content"].get("body") for e in archived if e.event["type"] == "m.room.message"]
        assert bodies == ["BP 120/80", "ack"]

        synced = await bob.sync(timeout=1000)
        assert isinstance(synced, SyncResponse)
        assert created.room_id in synced.rooms.join
    finally:
        await asyncio.gather(alice.close(), bob.close())
