"""Rooms are made only in the room version Carebridge's rules are written for, through the
real Synapse + module: a /createRoom asking for version 1 or 5 gets a version-11 room (today
Synapse honours the request for DMs), and an upgrade to another version is refused with the
organisation's words while the room stays as it was."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from tests.harness.stack import Stack
from tests.staff_helpers import client_api


async def _create_event(client: AsyncClient, room_id: str) -> dict[str, Any]:
    status, body = await client_api(client, "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.create/")
    assert status == 200, body
    return dict(body)


async def test_create_room_in_an_old_version_gets_carebridges_version(stack: Stack) -> None:
    lead_id, lead_pw = await stack.create_user()
    nurse_id, nurse_pw = await stack.create_user()
    stack.allow_channel_creators(lead_id)
    lead, nurse = await asyncio.gather(stack.login(lead_id, lead_pw), stack.login(nurse_id, nurse_pw))
    try:
        for version in ("1", "5"):
            dm = await nurse.room_create(is_direct=True, invite=[lead_id], room_version=version)
            assert isinstance(dm, RoomCreateResponse), dm
            create = await _create_event(nurse, dm.room_id)
            assert (create["room_version"], create["org.carebridge.kind"]) == ("11", "dm"), version
            sent = await nurse.room_send(dm.room_id, "m.room.message", {"msgtype": "m.text", "body": "hi"})
            assert isinstance(sent, RoomSendResponse), sent
        channel = await lead.room_create(
            name="Ward 5", alias=f"ward5-{secrets.token_hex(3)}", invite=[nurse_id], room_version="5"
        )
        assert isinstance(channel, RoomCreateResponse), channel
        create = await _create_event(lead, channel.room_id)
        assert (create["room_version"], create["org.carebridge.kind"]) == ("11", "channel")
    finally:
        await asyncio.gather(lead.close(), nurse.close())


async def test_upgrade_to_another_version_is_refused_and_the_room_stays(stack: Stack) -> None:
    """The DM's creator holds every power in it (the tombstone's too) and is a channel
    creator (an upgrade makes a new room, which the module judges as a channel): today
    the upgrade to version 5 goes through. It is refused; the room gets no tombstone and
    carries on."""
    nurse_id, nurse_pw = await stack.create_user()
    peer_id, peer_pw = await stack.create_user()
    stack.allow_channel_creators(nurse_id)
    nurse, peer = await asyncio.gather(stack.login(nurse_id, nurse_pw), stack.login(peer_id, peer_pw))
    try:
        dm = await nurse.room_create(is_direct=True, invite=[peer_id])
        assert isinstance(dm, RoomCreateResponse), dm
        assert isinstance(await peer.join(dm.room_id), JoinResponse)
        for version in ("5", "12"):
            status, body = await client_api(
                nurse, "POST", f"/_matrix/client/v3/rooms/{dm.room_id}/upgrade", {"new_version": version}
            )
            assert status == 403, (version, body)
            assert body["errcode"] == "M_FORBIDDEN" and "same room version" in body["error"]
            assert body["org.carebridge.reason"] == "room-version-not-carebridge"
        status, body = await client_api(
            nurse, "GET", f"/_matrix/client/v3/rooms/{dm.room_id}/state/m.room.tombstone/"
        )
        assert status == 404, body
        for client in (nurse, peer):
            sent = await client.room_send(dm.room_id, "m.room.message", {"msgtype": "m.text", "body": "here"})
            assert isinstance(sent, RoomSendResponse), sent
    finally:
        await asyncio.gather(nurse.close(), peer.close())
