"""Respond-only and read-only channel members against the real Synapse + module: replies and
threads must point at a message in the room; anything else a respond-only member sends is
refused; read-only members are told so in the organisation's words. Replies, threads,
reactions, own edits and read receipts keep working."""

from __future__ import annotations

import asyncio
from typing import Any

from nio import JoinResponse, RoomSendError, RoomSendResponse

from tests.harness.stack import Stack
from tests.staff_helpers import client_api, timeline


def _reply(event_id: str, body: str = "ok") -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body, "m.relates_to": {"m.in_reply_to": {"event_id": event_id}}}


def _thread(event_id: str) -> dict[str, Any]:
    return {
        "msgtype": "m.text",
        "body": "in thread",
        "m.relates_to": {"rel_type": "m.thread", "event_id": event_id},
    }


async def test_respond_only_and_read_only_members(stack: Stack) -> None:
    poster_id, poster_pw = await stack.create_user()
    responder_id, responder_pw = await stack.create_user()
    reader_id, reader_pw = await stack.create_user()
    created = await stack.admin(
        "POST",
        "/_matrix/client/v3/createRoom",
        {
            "name": "Member rules",
            "preset": "private_chat",
            "invite": [poster_id, responder_id, reader_id],
            "power_level_content_override": {
                "users": {stack.s.bot_user_id: 100, poster_id: 10, responder_id: 10},
                "users_default": 0,
                "events_default": 10,
            },
            "initial_state": [
                {
                    "type": "org.carebridge.channel",
                    "state_key": "",
                    "content": {"name": "member-rules", "post": [poster_id], "respond": [responder_id]},
                }
            ],
        },
    )
    room = created["room_id"]
    pat, rae, rob = await asyncio.gather(
        stack.login(poster_id, poster_pw),
        stack.login(responder_id, responder_pw),
        stack.login(reader_id, reader_pw),
    )
    try:
        for client in (pat, rae, rob):
            joined = await client.join(room)
            assert isinstance(joined, JoinResponse), joined
        question = await pat.room_send(
            room, "m.room.message", {"msgtype": "m.text", "body": "Who has bed 4?"}
        )
        assert isinstance(question, RoomSendResponse), question
        events = await timeline(pat, room)
        create_id = next(e["event_id"] for e in events if e["type"] == "m.room.create")
        member_id = next(e["event_id"] for e in events if e["type"] == "m.room.member")
        state_id = next(e["event_id"] for e in events if e["type"] == "org.carebridge.channel")

        async def refused(event_type: str, content: dict[str, Any], words: str) -> None:
            resp = await rae.room_send(room, event_type, content)
            assert isinstance(resp, RoomSendError), (event_type, content, resp)
            assert resp.status_code == "M_FORBIDDEN" and words in resp.message, resp.message

        not_a_message = "not on a room event"
        await refused("m.room.message", _reply(create_id), not_a_message)
        await refused("m.room.message", _reply(member_id), not_a_message)
        await refused("m.room.message", _thread(state_id), not_a_message)
        await refused("m.room.message", {"msgtype": "m.text", "body": "new topic"}, "not start new ones")
        only = "only reply to messages, react to them"
        await refused("org.example.note", {"body": "psst"}, only)
        call = {"call_id": "c1", "version": "1", "lifetime": 60000, "offer": {"type": "offer", "sdp": "v=0"}}
        await refused("m.call.invite", call, only)
        await refused(
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": state_id, "key": "x"}},
            not_a_message,
        )

        # What a respond-only member may do.
        reply = await rae.room_send(room, "m.room.message", _reply(question.event_id, "I do"))
        assert isinstance(reply, RoomSendResponse), reply
        thread = await rae.room_send(room, "m.room.message", _thread(question.event_id))
        assert isinstance(thread, RoomSendResponse), thread
        reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": question.event_id, "key": "+1"}}
        reacted = await rae.room_send(room, "m.reaction", reaction)
        assert isinstance(reacted, RoomSendResponse), reacted
        edit = {
            "msgtype": "m.text",
            "body": "* I do (until 8)",
            "m.new_content": {"msgtype": "m.text", "body": "I do (until 8)"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": reply.event_id},
        }
        edited = await rae.room_send(room, "m.room.message", edit)
        assert isinstance(edited, RoomSendResponse), edited
        status, body = await client_api(
            rae, "POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.read/{question.event_id}", {}
        )
        assert status == 200, body

        # A read-only member hears the organisation's words, not Synapse's power levels.
        for event_type, content in (
            ("m.room.message", {"msgtype": "m.text", "body": "hello"}),
            ("m.room.message", _reply(question.event_id)),
            ("org.example.note", {"body": "psst"}),
        ):
            resp = await rob.room_send(room, event_type, content)
            assert isinstance(resp, RoomSendError), resp
            assert resp.status_code == "M_FORBIDDEN"
            assert "You can read this channel but not write in it" in resp.message
            assert "user_level" not in resp.message
        status, body = await client_api(
            rob, "PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.topic/", {"topic": "mine now"}
        )
        assert status == 403 and "You can read this channel but not write in it" in body["error"], body
        status, body = await client_api(
            rob, "POST", f"/_matrix/client/v3/rooms/{room}/receipt/m.read/{question.event_id}", {}
        )
        assert status == 200, body
        # The poster is not limited.
        more = await pat.room_send(room, "org.example.note", {"body": "fine"})
        assert isinstance(more, RoomSendResponse), more
    finally:
        await asyncio.gather(pat.close(), rae.close(), rob.close())
