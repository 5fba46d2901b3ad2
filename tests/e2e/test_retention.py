"""History nobody can delete, against the real Synapse: redactions, room shutdown, E2EE."""

from __future__ import annotations

import asyncio

import aiohttp
from nio import (
    AsyncClient,
    JoinResponse,
    RoomCreateResponse,
    RoomGetEventResponse,
    RoomGetStateEventError,
    RoomGetStateEventResponse,
    RoomInviteResponse,
    RoomMessagesResponse,
    RoomPutStateError,
    RoomRedactError,
    RoomSendError,
    RoomSendResponse,
)

from policy.encryption import ENCRYPTION_DISABLED
from policy.redaction import HISTORY_RETAINED
from tests.harness.stack import Stack


async def _room_with_two(stack: Stack) -> tuple[AsyncClient, AsyncClient, str, str, str]:
    alice_id, alice_pw = await stack.create_user()
    bob_id, bob_pw = await stack.create_user()
    alice = await stack.login(alice_id, alice_pw)
    bob = await stack.login(bob_id, bob_pw)
    room = await alice.room_create(name="ward 3", is_direct=True, invite=[bob_id])
    assert isinstance(room, RoomCreateResponse), room
    joined = await bob.join(room.room_id)
    assert isinstance(joined, JoinResponse), joined
    return alice, bob, room.room_id, alice_id, bob_id


async def test_redacting_own_and_others_message_is_refused(stack: Stack) -> None:
    """Both refused with the policy errcode; still visible and archived."""
    alice, bob, room_id, _, _ = await _room_with_two(stack)
    try:
        mine = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "K+ 3.1"})
        theirs = await bob.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "noted"})
        assert isinstance(mine, RoomSendResponse), mine
        assert isinstance(theirs, RoomSendResponse), theirs

        own = await alice.room_redact(room_id, mine.event_id, reason="typo")
        other = await alice.room_redact(room_id, theirs.event_id)
        for refused in (own, other):
            assert isinstance(refused, RoomRedactError), refused
            assert refused.status_code == HISTORY_RETAINED
            assert "cannot be deleted" in refused.message

        seen = await bob.room_get_event(room_id, mine.event_id)
        assert isinstance(seen, RoomGetEventResponse), seen
        assert seen.event.source["content"]["body"] == "K+ 3.1"
        assert "redacted_because" not in seen.event.source.get("unsigned", {})
        history = await bob.room_messages(room_id, start="", limit=50)
        assert isinstance(history, RoomMessagesResponse), history
        assert mine.event_id in {e.event_id for e in history.chunk}

        await stack.wait_archived([mine.event_id, theirs.event_id])
        archived = {e.event["event_id"]: e.event for e in await stack.archived(room_id)}
        assert archived[mine.event_id]["content"]["body"] == "K+ 3.1"
        assert not any(e["type"] == "m.room.redaction" for e in archived.values())
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def test_bot_cannot_redact_either(stack: Stack) -> None:
    alice, bob, room_id, _, _ = await _room_with_two(stack)
    bot = f"@carebridge:{stack.server_name}"
    try:
        sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "x"})
        assert isinstance(sent, RoomSendResponse), sent
        invited = await alice.room_invite(room_id, bot)
        assert isinstance(invited, RoomInviteResponse), invited
        await stack.admin("POST", f"/_matrix/client/v3/join/{room_id}", {})
        url = f"/_matrix/client/v3/rooms/{room_id}/redact/{sent.event_id}/t1"
        headers = {"Authorization": f"Bearer {stack.as_token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.put(stack.hs_url + url, json={}, headers=headers) as resp,
        ):
            body = await resp.json()
            assert resp.status == 403, body
        assert body["errcode"] == HISTORY_RETAINED
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def test_admin_room_delete_is_refused(stack: Stack) -> None:
    alice, bob, room_id, _, _ = await _room_with_two(stack)
    try:
        headers = {"Authorization": f"Bearer {stack.as_token}"}
        async with aiohttp.ClientSession() as session:
            for version in ("v1", "v2"):
                url = f"{stack.hs_url}/_synapse/admin/{version}/rooms/{room_id}"
                async with session.delete(url, json={"purge": True}, headers=headers) as resp:
                    body = await resp.json()
                    assert resp.status == 403, (version, body)
                    assert body["errcode"] == "M_FORBIDDEN"
        members = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_id}/members")
        assert len(members["members"]) == 2
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def test_admin_redact_all_user_events_is_refused(stack: Stack) -> None:
    """The admin API's "redact every event of a user" is not on Carebridge's admin API list:
    refused before it starts (the redactions it would send are refused as well)."""
    alice, bob, room_id, alice_id, _ = await _room_with_two(stack)
    try:
        sent = await alice.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": "y"})
        assert isinstance(sent, RoomSendResponse), sent
        url = f"{stack.hs_url}/_synapse/admin/v1/user/{alice_id}/redact"
        headers = {"Authorization": f"Bearer {stack.as_token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json={"rooms": [room_id]}, headers=headers) as resp,
        ):
            body = await resp.json()
            assert resp.status == 403 and body["errcode"] == "M_FORBIDDEN", body
        seen = await bob.room_get_event(room_id, sent.event_id)
        assert isinstance(seen, RoomGetEventResponse), seen
        assert seen.event.source["content"]["body"] == "y"
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def test_encrypted_dm_request_creates_unencrypted_room(stack: Stack) -> None:
    """Element asks for m.room.encryption in initial_state: the room is made, without it."""
    alice_id, alice_pw = await stack.create_user()
    bob_id, _ = await stack.create_user()
    alice = await stack.login(alice_id, alice_pw)
    try:
        created = await alice.room_create(
            is_direct=True,
            invite=[bob_id],
            initial_state=[
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ],
        )
        assert isinstance(created, RoomCreateResponse), created
        state = await alice.room_get_state_event(created.room_id, "m.room.encryption")
        assert isinstance(state, RoomGetStateEventError), state
        assert state.status_code == "M_NOT_FOUND"

        later = await alice.room_put_state(
            created.room_id, "m.room.encryption", {"algorithm": "m.megolm.v1.aes-sha2"}
        )
        assert isinstance(later, RoomPutStateError), later
        assert later.status_code == ENCRYPTION_DISABLED
        assert "archive" in later.message

        ciphertext = await alice.room_send(
            created.room_id,
            "m.room.encrypted",
            {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEn",
                "session_id": "x",
                "device_id": "D",
            },
        )
        assert isinstance(ciphertext, RoomSendError), ciphertext
        assert ciphertext.status_code == ENCRYPTION_DISABLED

        name = await alice.room_put_state(created.room_id, "m.room.name", {"name": "still works"})
        assert not isinstance(name, RoomPutStateError), name
        check = await alice.room_get_state_event(created.room_id, "m.room.name")
        assert isinstance(check, RoomGetStateEventResponse), check
    finally:
        await alice.close()
