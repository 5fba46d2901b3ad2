"""Channels against the real Synapse + bridge: who may create one, respond-only members.

Acceptance (issue 6): a staff member without the right cannot create a channel (and sees
why), a channel creator can; a respond-only member's top-level message is refused and
their reply (and thread message) accepted.
"""

from __future__ import annotations

import asyncio

from nio import (
    JoinResponse,
    RoomCreateError,
    RoomCreateResponse,
    RoomSendError,
    RoomSendResponse,
)

from tests.harness.stack import Stack


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
