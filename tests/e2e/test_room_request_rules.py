"""A hostile staff member's raw /createRoom and /directory calls against the real Synapse +
module: whatever the request carries, a DM stays invitation-only and a DM, and only channels
get an address; normal DMs and channel creation still work."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import quote

from nio import JoinError, RoomSendResponse

from tests.harness.stack import Stack
from tests.staff_helpers import client_api, eventually, timeline

HOSTILE_STATE = [
    {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "public"}},
    {"type": "org.carebridge.channel", "state_key": "", "content": {"name": "x", "post": [], "respond": []}},
    {"type": "m.room.history_visibility", "state_key": "", "content": {"history_visibility": "joined"}},
    {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "can_join"}},
    {"type": "m.room.power_levels", "state_key": "", "content": {"users_default": 100}},
    {"type": "m.room.name", "state_key": "", "content": {"name": "Bed 4 handover"}},
]


async def _state(client: Any, room: str, event_type: str) -> dict[str, Any] | None:
    status, body = await client_api(client, "GET", f"/_matrix/client/v3/rooms/{room}/state/{event_type}/")
    return body if status == 200 else None


async def test_dm_request_cannot_open_the_room_or_plant_channel_rights(stack: Stack) -> None:
    alice_id, alice_pw = await stack.create_user()
    bob_id, bob_pw = await stack.create_user()
    carol_id, carol_pw = await stack.create_user()
    alice, bob, carol = await asyncio.gather(
        stack.login(alice_id, alice_pw), stack.login(bob_id, bob_pw), stack.login(carol_id, carol_pw)
    )
    try:
        status, body = await client_api(
            alice,
            "POST",
            "/_matrix/client/v3/createRoom",
            {
                "is_direct": True,
                "invite": [bob_id],
                "preset": "trusted_private_chat",
                "initial_state": HOSTILE_STATE,
                "power_level_content_override": {
                    "events_default": 0,
                    "users": {alice_id: 100, carol_id: 100},
                },
                "creation_content": {
                    "m.federate": True,
                    "type": "m.space",
                    "additional_creators": [carol_id],
                },
            },
        )
        assert status == 200, body
        room = body["room_id"]
        assert await _state(alice, room, "m.room.join_rules") == {"join_rule": "invite"}
        assert await _state(alice, room, "m.room.history_visibility") == {"history_visibility": "shared"}
        assert await _state(alice, room, "m.room.guest_access") == {"guest_access": "forbidden"}
        assert await _state(alice, room, "org.carebridge.channel") is None
        assert await _state(alice, room, "m.room.name") == {"name": "Bed 4 handover"}
        levels = await _state(alice, room, "m.room.power_levels")
        assert levels is not None and carol_id not in levels["users"] and levels.get("users_default", 0) == 0
        create = await _state(alice, room, "m.room.create")
        assert create is not None and create["org.carebridge.kind"] == "dm"
        assert "type" not in create and carol_id not in create.get("additional_creators", [])

        # An uninvited colleague cannot get in.
        refused = await carol.join(room)
        assert isinstance(refused, JoinError), refused
        assert refused.status_code == "M_FORBIDDEN"

        # A DM gets no address, by PUT /directory/room either.
        alias = f"#dm-{secrets.token_hex(3)}:{stack.server_name}"
        status, body = await client_api(
            alice, "PUT", f"/_matrix/client/v3/directory/room/{quote(alias)}", {"room_id": room}
        )
        assert status == 403, body
        assert body["errcode"] == "M_FORBIDDEN" and "Only channels have an address" in body["error"]

        # Nor can channel rights be planted afterwards, though Alice has full power here.
        status, body = await client_api(
            alice,
            "PUT",
            f"/_matrix/client/v3/rooms/{room}/state/org.carebridge.channel/",
            {"name": "x", "post": [alice_id], "respond": [bob_id]},
        )
        assert status == 403 and "Channel rights are managed by Carebridge" in body["error"], body

        status, body = await client_api(
            alice, "PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.join_rules/", {"join_rule": "public"}
        )
        assert status == 403 and body["error"].startswith("Rooms here are invitation-only"), body

        # The DM itself works as usual.
        joined = await bob.join(room)
        assert not isinstance(joined, JoinError), joined
        sent = await alice.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "see you at 7"})
        assert isinstance(sent, RoomSendResponse), sent
        seen = await eventually(lambda: _has_event(bob, room, sent.event_id), what="bob reads the DM message")
        assert seen
    finally:
        await asyncio.gather(alice.close(), bob.close(), carol.close())


async def _has_event(client: Any, room: str, event_id: str) -> bool:
    return any(e["event_id"] == event_id for e in await timeline(client, room))


async def test_channel_request_cannot_be_public_and_only_creation_gives_an_address(stack: Stack) -> None:
    tag = secrets.token_hex(3)
    creator_id, creator_pw = await stack.create_user()
    staff_id, staff_pw = await stack.create_user()
    stack.allow_channel_creators(creator_id)
    creator, staff = await asyncio.gather(
        stack.login(creator_id, creator_pw), stack.login(staff_id, staff_pw)
    )
    try:
        status, body = await client_api(
            creator,
            "POST",
            "/_matrix/client/v3/createRoom",
            {
                "name": "Ward 3",
                "room_alias_name": f"ward3-{tag}",
                "preset": "public_chat",
                "visibility": "public",
                "initial_state": HOSTILE_STATE,
            },
        )
        assert status == 200, body
        room = body["room_id"]
        assert await _state(creator, room, "m.room.join_rules") == {"join_rule": "invite"}
        create = await _state(creator, room, "m.room.create")
        assert create is not None and create["org.carebridge.kind"] == "channel"
        status, listed = await client_api(creator, "GET", "/_matrix/client/v3/publicRooms")
        assert status == 200 and all(r["room_id"] != room for r in listed["chunk"])
        status, resolved = await client_api(
            creator, "GET", f"/_matrix/client/v3/directory/room/{quote(f'#ward3-{tag}:{stack.server_name}')}"
        )
        assert status == 200 and resolved["room_id"] == room
        # The planted (empty) rights are gone; the bridge writes the real ones.
        channel = await eventually(lambda: _state(creator, room, "org.carebridge.channel"), what="rights")
        assert creator_id in channel["post"]

        # A second address afterwards: refused, even for the channel's creator.
        extra = f"#ward3-extra-{tag}:{stack.server_name}"
        status, body = await client_api(
            creator, "PUT", f"/_matrix/client/v3/directory/room/{quote(extra)}", {"room_id": room}
        )
        assert status == 403 and "Only channels have an address" in body["error"], body

        # Staff without the right cannot make a channel by dressing it as a DM.
        status, body = await client_api(
            staff,
            "POST",
            "/_matrix/client/v3/createRoom",
            {"is_direct": True, "preset": "public_chat", "invite": [creator_id]},
        )
        assert status == 403 and "Only the people your organisation allows" in body["error"], body
    finally:
        await asyncio.gather(creator.close(), staff.close())
