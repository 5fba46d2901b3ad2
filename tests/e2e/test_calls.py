"""WebRTC calls between two nio clients with real aiortc offers and answers.

m.call.invite / answer / hangup travel between two clients and the
call log shows the right parties, kind and duration; an unanswered invite leaves a
missed-call notice for the callee; an invite in a room of three is hung up by the bot.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from bridge.db.engine import create_engine
from bridge.staff.calls.model import Outcome
from bridge.staff.calls.store import CallRecord, CallStore
from tests.harness.stack import Stack
from tests.staff_helpers import eventually, timeline


async def _call_record(stack: Stack, room_id: str, call_id: str) -> CallRecord | None:
    engine = create_engine(stack.s.database_url)
    try:
        return await CallStore(engine).get(room_id, call_id)
    finally:
        await engine.dispose()


async def _people(stack: Stack, n: int) -> list[tuple[str, AsyncClient]]:
    people = []
    for i in range(n):
        uid, pw = await stack.create_user(display_name=f"Caller {i} {secrets.token_hex(2)}")
        people.append((uid, await stack.login(uid, pw)))
    return people


async def _room(people: list[tuple[str, AsyncClient]]) -> str:
    (_, owner), rest = people[0], people[1:]
    created = await owner.room_create(is_direct=True, invite=[uid for uid, _ in rest])
    assert isinstance(created, RoomCreateResponse), created
    for _, client in rest:
        joined = await client.join(created.room_id)
        assert isinstance(joined, JoinResponse), joined
    return created.room_id


async def _send(
    client: AsyncClient, room_id: str, event_type: str, content: dict[str, Any]
) -> RoomSendResponse:
    resp = await client.room_send(room_id, event_type, content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp


async def _invite(
    client: AsyncClient, room_id: str, call_id: str, sdp: str, lifetime: int, invitee: str | None = None
) -> RoomSendResponse:
    """Alice's client rings: an m.call.invite (version 1) carrying an SDP offer."""
    content: dict[str, Any] = {
        "call_id": call_id,
        "version": "1",
        "party_id": "alice-device",
        "lifetime": lifetime,
    }
    if invitee is not None:
        content["invitee"] = invitee
    content["offer"] = {"type": "offer", "sdp": sdp}
    return await _send(client, room_id, "m.call.invite", content)


async def _find(client: AsyncClient, room_id: str, event_type: str, call_id: str) -> dict[str, Any] | None:
    for event in await timeline(client, room_id):
        if event["type"] == event_type and event["content"].get("call_id") == call_id:
            return event
    return None


@pytest.fixture
async def pair(stack: Stack) -> AsyncIterator[list[tuple[str, AsyncClient]]]:
    people = await _people(stack, 2)
    yield people
    await asyncio.gather(*(c.close() for _, c in people))


async def test_aiortc_call_is_logged_with_parties_kind_and_duration(
    stack: Stack, pair: list[tuple[str, AsyncClient]]
) -> None:
    (alice_id, alice), (bob_id, bob) = pair
    room = await _room(pair)
    call_id = f"call-{secrets.token_hex(4)}"
    caller_pc, callee_pc = RTCPeerConnection(), RTCPeerConnection()
    try:
        caller_pc.addTransceiver("audio")
        caller_pc.addTransceiver("video")
        await caller_pc.setLocalDescription(await caller_pc.createOffer())
        offer = caller_pc.localDescription
        await _invite(alice, room, call_id, offer.sdp, 60000, invitee=bob_id)
        # Bob's client receives the invite and answers with a real SDP answer.
        invite = await eventually(
            lambda: _find(bob, room, "m.call.invite", call_id), what="the invite at Bob"
        )
        await callee_pc.setRemoteDescription(RTCSessionDescription(**invite["content"]["offer"]))
        await callee_pc.setLocalDescription(await callee_pc.createAnswer())
        answer = callee_pc.localDescription
        answered = await _send(
            bob,
            room,
            "m.call.answer",
            {
                "call_id": call_id,
                "version": "1",
                "party_id": "bob-device",
                "answer": {"type": answer.type, "sdp": answer.sdp},
            },
        )
        got = await eventually(
            lambda: _find(alice, room, "m.call.answer", call_id), what="the answer at Alice"
        )
        await caller_pc.setRemoteDescription(RTCSessionDescription(**got["content"]["answer"]))

        async def connected() -> bool:
            return caller_pc.connectionState == "connected" and callee_pc.connectionState == "connected"

        await eventually(connected, what="the WebRTC connection")
        hangup = await _send(
            alice,
            room,
            "m.call.hangup",
            {"call_id": call_id, "version": "1", "party_id": "alice-device", "reason": "user_hangup"},
        )

        async def ended() -> CallRecord | None:
            record = await _call_record(stack, room, call_id)
            return record if record is not None and record.hangup_ts is not None else None

        record = await ended_record(ended)
        answer_event = await _find(alice, room, "m.call.answer", call_id)
        hangup_event = await _find(alice, room, "m.call.hangup", call_id)
        assert answer_event is not None and hangup_event is not None
        assert answer_event["event_id"] == answered.event_id and hangup_event["event_id"] == hangup.event_id
        assert record.caller == alice_id and record.callee == bob_id
        assert record.kind == "video"
        assert record.outcome is Outcome.ANSWERED
        assert record.hangup_reason == "user_hangup"
        assert record.duration_ms == hangup_event["origin_server_ts"] - answer_event["origin_server_ts"]
        assert record.duration_ms is not None and record.duration_ms >= 0
    finally:
        await asyncio.gather(caller_pc.close(), callee_pc.close())


async def ended_record(probe: Any) -> CallRecord:
    """Wait for the call log to show the hangup."""
    result: CallRecord = await eventually(probe, what="the hangup in the call log")
    return result


async def test_unanswered_invite_leaves_missed_call_notice(
    stack: Stack, pair: list[tuple[str, AsyncClient]]
) -> None:
    (alice_id, alice), (bob_id, bob) = pair
    room = await _room(pair)
    call_id = f"missed-{secrets.token_hex(4)}"
    pc = RTCPeerConnection()
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        await _invite(alice, room, call_id, pc.localDescription.sdp, 1500)

        async def notice() -> dict[str, Any] | None:
            for event in await timeline(bob, room):
                missed = event["content"].get("org.carebridge.missed_call")
                if event["type"] == "m.room.message" and missed and missed.get("call_id") == call_id:
                    return event
            return None

        found = await eventually(notice, timeout=30, what="the missed-call notice")
        assert found["sender"] == stack.s.bot_user_id
        assert found["content"]["msgtype"] == "m.notice"
        assert found["content"]["m.mentions"] == {"user_ids": [bob_id]}
        assert "Missed audio call from" in found["content"]["body"]
        record = await _call_record(stack, room, call_id)
        assert record is not None and record.outcome is Outcome.MISSED
        assert record.caller == alice_id and record.callee == bob_id and record.kind == "audio"
        assert record.notice_event_id == found["event_id"]
    finally:
        await pc.close()


async def test_invite_in_three_person_room_is_hung_up(stack: Stack) -> None:
    people = await _people(stack, 3)
    try:
        room = await _room(people)
        (alice_id, alice) = people[0]
        call_id = f"group-{secrets.token_hex(4)}"
        pc = RTCPeerConnection()
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        await pc.close()
        await _invite(alice, room, call_id, pc.localDescription.sdp, 60000)
        hangup = await eventually(
            lambda: _find(people[1][1], room, "m.call.hangup", call_id), what="the bot's hangup"
        )
        assert hangup["sender"] == stack.s.bot_user_id
        assert hangup["content"]["version"] == "1"

        async def notices() -> list[dict[str, Any]]:
            events = await timeline(people[2][1], room)
            return [
                e for e in events if e["type"] == "m.room.message" and e["content"].get("org.carebridge.call")
            ]

        # The bot posts its notice just after the hangup: wait for it too.
        posted = await eventually(notices, what="the bot's notice")
        assert "person-to-person" in posted[0]["content"]["body"]

        async def refused() -> CallRecord | None:
            record = await _call_record(stack, room, call_id)
            return record if record is not None and record.outcome is Outcome.REFUSED else None

        record = await eventually(refused, what="the refused call in the log")
        assert record.caller == alice_id and record.callee is None and record.joined_members == 3
    finally:
        await asyncio.gather(*(c.close() for _, c in people))


async def test_missed_call_notice_survives_bridge_restart(
    stack: Stack, pair: list[tuple[str, AsyncClient]]
) -> None:
    """The bridge is down while a call rings out; after restart the callee still gets the notice."""
    (_, alice), (bob_id, bob) = pair
    room = await _room(pair)
    call_id = f"restart-{secrets.token_hex(4)}"
    invite = await _invite(alice, room, call_id, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", 1000)
    await stack.wait_archived([invite.event_id])
    await eventually(lambda: _call_record(stack, room, call_id), what="the call in the log")
    stack.stop_bridge()
    try:
        await asyncio.sleep(2)  # the lifetime runs out while the bridge is down
    finally:
        stack.start_bridge()

    async def noticed() -> CallRecord | None:
        record = await _call_record(stack, room, call_id)
        return record if record is not None and record.notice_event_id else None

    record = await eventually(noticed, timeout=30, what="the notice after restart")
    assert record.outcome is Outcome.MISSED and record.callee == bob_id
    notices = [e for e in await timeline(bob, room) if e["event_id"] == record.notice_event_id]
    assert notices and notices[0]["content"]["m.mentions"] == {"user_ids": [bob_id]}
