"""Channels against the real Synapse + bridge: who may create one, respond-only members.

A staff member without the right cannot create a channel (and sees
why), a channel creator can; a respond-only member's top-level message is refused and
their reply (and thread message) accepted.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from nio import (
    JoinResponse,
    RoomCreateError,
    RoomCreateResponse,
    RoomSendError,
    RoomSendResponse,
)

from bridge.db.directory import Directory, DirectoryChannel
from bridge.db.engine import create_engine
from policy.channel_power import (
    CHANNEL_STATE_TYPE,
    Access,
    channel_power_levels,
    channel_state_content,
    power_levels_match,
)
from tests.harness.stack import Stack
from tests.staff_helpers import client_api, eventually


async def test_staff_without_right_cannot_create_channel(stack: Stack) -> None:
    staff_id, pw = await stack.create_user(display_name="Sue Staff")
    buddy_id, _ = await stack.create_user(display_name="Buddy Staff")
    sue = await stack.login(staff_id, pw)
    try:
        refused = await sue.room_create(name="Night shift", invite=[buddy_id])
        assert isinstance(refused, RoomCreateError), refused
        assert refused.status_code == "M_FORBIDDEN"
        assert "Only the people your organisation allows can create channels" in refused.message
        aliased = await sue.room_create(alias="sue-room", is_direct=True, invite=[buddy_id])
        assert isinstance(aliased, RoomCreateError), aliased
        # A DM is fine for everyone.
        dm = await sue.room_create(is_direct=True, invite=[buddy_id])
        assert isinstance(dm, RoomCreateResponse), dm
    finally:
        await sue.close()


async def test_respond_only_member_can_reply_not_post(stack: Stack) -> None:
    poster_id, poster_pw = await stack.create_user(display_name="Pat Poster")
    responder_id, responder_pw = await stack.create_user(display_name="Rae Responder")
    created = await stack.admin(
        "POST",
        "/_matrix/client/v3/createRoom",
        {
            "name": "Respond test",
            "preset": "private_chat",
            "invite": [poster_id, responder_id],
            "initial_state": [
                {
                    "type": "org.carebridge.channel",
                    "state_key": "",
                    "content": {"name": "respond-test", "post": [poster_id], "respond": [responder_id]},
                }
            ],
        },
    )
    room = created["room_id"]
    pat = await stack.login(poster_id, poster_pw)
    rae = await stack.login(responder_id, responder_pw)
    try:
        for client in (pat, rae):
            joined = await client.join(room)
            assert isinstance(joined, JoinResponse), joined
        question = await pat.room_send(
            room, "m.room.message", {"msgtype": "m.text", "body": "Who covers bed 4?"}
        )
        assert isinstance(question, RoomSendResponse), question

        top = await rae.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "New topic"})
        assert isinstance(top, RoomSendError), top
        assert top.status_code == "M_FORBIDDEN"
        assert "reply to messages but not start new ones" in top.message

        reply = await rae.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "I do",
                "m.relates_to": {"m.in_reply_to": {"event_id": question.event_id}},
            },
        )
        assert isinstance(reply, RoomSendResponse), reply
        thread = await rae.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "until 7",
                "m.relates_to": {"rel_type": "m.thread", "event_id": question.event_id},
            },
        )
        assert isinstance(thread, RoomSendResponse), thread
        edit = await rae.room_send(
            room,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": "* I do (until 8)",
                "m.new_content": {"msgtype": "m.text", "body": "I do (until 8)"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": reply.event_id},
            },
        )
        assert isinstance(edit, RoomSendResponse), edit
        fake = await rae.room_send(
            room,
            "m.room.message",
            {"msgtype": "m.text", "body": "sneaky", "m.relates_to": {"m.in_reply_to": {"event_id": "$nope"}}},
        )
        assert isinstance(fake, RoomSendError), fake
        # The poster is not limited.
        more = await pat.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "Thanks"})
        assert isinstance(more, RoomSendResponse), more
    finally:
        await asyncio.gather(pat.close(), rae.close())


async def test_channel_creator_creates_channel_with_policy_power_levels(stack: Stack) -> None:
    tag = secrets.token_hex(3)
    admin_id, admin_pw = await stack.create_user(display_name="Ada Admin")
    member_id, member_pw = await stack.create_user(display_name="Max Member")
    stack.allow_channel_creators(admin_id)
    ada = await stack.login(admin_id, admin_pw)
    mx = await stack.login(member_id, member_pw)
    try:
        # Version 12 would make the creator outrank the bot: channels get version 11.
        created = await ada.room_create(
            name="ICU nights", alias=f"icu-nights-{tag}", invite=[member_id], room_version="12"
        )
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        bot = stack.s.bot_user_id
        access: dict[str, Access] = {admin_id: "post", member_id: "post"}
        expected = channel_power_levels(bot, access, admins=[admin_id])

        async def state(event_type: str) -> dict[str, Any] | None:
            status, body = await client_api(
                ada, "GET", f"/_matrix/client/v3/rooms/{room}/state/{event_type}/"
            )
            return body if status == 200 else None

        async def policy_applied() -> dict[str, Any] | None:
            levels = await state("m.room.power_levels")
            return levels if levels is not None and power_levels_match(levels, expected) else None

        levels = await eventually(policy_applied, what="the channel power levels")
        assert levels["users"][admin_id] == 50 and levels["users"][bot] == 100
        assert levels["redact"] == 100
        # The bridge writes the rights just after the power levels: wait for them too.
        rights = await eventually(lambda: state(CHANNEL_STATE_TYPE), what="the channel rights")
        assert rights == channel_state_content(f"icu-nights-{tag}", access)
        assert await state("m.room.history_visibility") == {"history_visibility": "shared"}
        assert await state("m.room.join_rules") == {"join_rule": "invite"}
        create = await state("m.room.create")
        assert create is not None and create["org.carebridge.kind"] == "channel"
        assert create["room_version"] == "11"

        channel = await eventually(lambda: _directory_channel(stack, room), what="the directory entry")
        assert channel.managed_by == "client" and channel.name == f"icu-nights-{tag}"
        assert channel.display_name == "ICU nights"

        joined = await mx.join(room)
        assert isinstance(joined, JoinResponse), joined
        hello = await mx.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "on shift"})
        assert isinstance(hello, RoomSendResponse), hello
        members = await eventually(
            lambda: _joined_member_access(stack, room, member_id), what="the member in the directory"
        )
        assert members == "post"
    finally:
        await asyncio.gather(ada.close(), mx.close())


async def _directory_channel(stack: Stack, room_id: str) -> DirectoryChannel | None:
    engine = create_engine(stack.s.database_url)
    try:
        return await Directory(engine).channel_by_room(room_id)
    finally:
        await engine.dispose()


async def _joined_member_access(stack: Stack, room_id: str, user_id: str) -> str | None:
    engine = create_engine(stack.s.database_url)
    try:
        members: dict[str, str] = dict(await Directory(engine).channel_members(room_id))
        return members.get(user_id)
    finally:
        await engine.dispose()
