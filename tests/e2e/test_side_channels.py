"""Side channels a signed-in staff member could use, tried with raw Client-Server API calls
against the real Synapse + Carebridge module (shared `stack`).

To-device messages (any type, `m.room.encrypted` too) are refused, encryption keys are
discarded or refused; one-to-one calls, which signal with `m.call.*` events in the DM, still go
through and are archived. Presence status messages and custom profile fields are
refused; plain presence and reading profiles still work.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse

from policy.client_requests import MESSAGES, RequestReason
from tests.harness.stack import Stack
from tests.staff_helpers import client_api, eventually, refusal_count, sync_once, timeline

V3 = "/_matrix/client/v3"


def assert_refused(status: int, body: Any, reason: RequestReason) -> None:
    """403, M_FORBIDDEN, the organisation's sentence and the reason code."""
    assert (status, body.get("errcode"), body.get("error")) == (403, "M_FORBIDDEN", MESSAGES[reason]), body
    assert body["org.carebridge.reason"] == reason.value


async def _pair(stack: Stack) -> tuple[AsyncClient, AsyncClient, str]:
    alice_id, alice_pw = await stack.create_user()
    bob_id, bob_pw = await stack.create_user()
    alice, bob = await stack.login(alice_id, alice_pw), await stack.login(bob_id, bob_pw)
    created = await alice.room_create(is_direct=True, invite=[bob_id])
    assert isinstance(created, RoomCreateResponse), created
    await bob.join(created.room_id)
    return alice, bob, created.room_id


async def test_to_device_and_key_uploads_refused_calls_still_work(stack: Stack) -> None:
    """/sendToDevice of any type is refused and nothing reaches the other person; device keys
    are discarded (a colleague finds none), cross-signing and backup uploads refused; an
    m.call.* exchange in the DM is sent, received and archived."""
    alice, bob, room = await _pair(stack)
    to_device_before = await refusal_count(stack.hs_url, RequestReason.TO_DEVICE.value)
    try:
        await sync_once(bob)
        for event_type in ("m.room.encrypted", "org.example.chat", "m.call.invite", "m.room_key_request"):
            txn = secrets.token_hex(4)
            message = {"messages": {bob.user_id: {"*": {"body": "bed 4 patient is ..."}}}}
            status, body = await client_api(
                alice, "PUT", f"{V3}/sendToDevice/{quote(event_type)}/{txn}", message
            )
            assert_refused(status, body, RequestReason.TO_DEVICE)
        after = await sync_once(bob)
        assert after.to_device_events == []
        assert await refusal_count(stack.hs_url, RequestReason.TO_DEVICE.value) == to_device_before + 4

        # Device keys: answered as stored (apps stop signing in otherwise) but discarded, so
        # no colleague can find them to start an encrypted session or read text put in them.
        device = {"user_id": alice.user_id, "device_id": alice.device_id, "keys": {}, "note": "bed 4"}
        device["algorithms"] = ["m.olm.v1.curve25519-aes-sha2"]
        otks = {"signed_curve25519:AAAAAQ": {"key": "bed 4 patient"}}
        status, body = await client_api(
            alice, "POST", f"{V3}/keys/upload", {"device_keys": device, "one_time_keys": otks}
        )
        assert (status, body) == (200, {"one_time_key_counts": {"signed_curve25519": 1}})
        status, body = await client_api(bob, "POST", f"{V3}/keys/query", {"device_keys": {alice.user_id: []}})
        assert status == 200 and body["device_keys"].get(alice.user_id, {}) == {}, body
        claim = {"one_time_keys": {alice.user_id: {alice.device_id: "signed_curve25519"}}}
        status, body = await client_api(bob, "POST", f"{V3}/keys/claim", claim)
        assert status == 200 and body["one_time_keys"] == {}, body
        for path, payload in (
            (f"{V3}/keys/device_signing/upload", {}),
            (f"{V3}/keys/signatures/upload", {}),
            (f"{V3}/room_keys/version", {"algorithm": "m.megolm_backup.v1", "auth_data": {}}),
        ):
            status, body = await client_api(alice, "POST", path, payload)
            assert_refused(status, body, RequestReason.ENCRYPTION_KEYS)

        call_id = secrets.token_hex(6)
        sent = []
        for client, event_type, extra in (
            (alice, "m.call.invite", {"lifetime": 60000, "offer": {"type": "offer", "sdp": "v=0\r\n"}}),
            (bob, "m.call.answer", {"answer": {"type": "answer", "sdp": "v=0\r\n"}}),
            (alice, "m.call.hangup", {"reason": "user_hangup"}),
        ):
            content = {"call_id": call_id, "version": "1", "party_id": client.user_id, **extra}
            resp = await client.room_send(room, event_type, content)
            assert isinstance(resp, RoomSendResponse), resp
            sent.append(resp.event_id)

        async def bob_sees_hangup() -> bool:
            return any(e["type"] == "m.call.hangup" for e in await timeline(bob, room))

        await eventually(bob_sees_hangup, what="the hangup at Bob")
        assert set(sent) <= set(await stack.wait_archived(sent))
    finally:
        await alice.close()
        await bob.close()


async def test_status_messages_and_custom_profile_fields_refused(stack: Stack) -> None:
    """A status message and custom profile fields are refused; plain presence and profile
    reads work; staff cannot change their display name (administrator-managed)."""
    alice, bob, _room = await _pair(stack)
    me = quote(alice.user_id)
    before = await refusal_count(stack.hs_url, RequestReason.STATUS_MESSAGE.value)
    try:
        status, body = await client_api(
            alice, "PUT", f"{V3}/presence/{me}/status", {"presence": "online", "status_msg": "with bed 4"}
        )
        assert_refused(status, body, RequestReason.STATUS_MESSAGE)
        assert await refusal_count(stack.hs_url, RequestReason.STATUS_MESSAGE.value) == before + 1
        status, body = await client_api(alice, "PUT", f"{V3}/presence/{me}/status", {"presence": "online"})
        assert status == 200, body
        status, body = await client_api(bob, "GET", f"{V3}/presence/{me}/status")
        assert status == 200 and not body.get("status_msg"), body

        for field in ("org.example.note", "m.tz"):
            status, body = await client_api(
                alice, "PUT", f"{V3}/profile/{me}/{field}", {field: "ward 3 notes"}
            )
            assert_refused(status, body, RequestReason.PROFILE_FIELD)
        status, body = await client_api(alice, "PUT", f"{V3}/profile/{me}/displayname", {"displayname": "X"})
        assert_refused(status, body, RequestReason.PROFILE_FIELD)
        status, body = await client_api(bob, "GET", f"{V3}/profile/{me}")
        assert status == 200 and "org.example.note" not in body and body.get("displayname") != "X", body
    finally:
        await alice.close()
        await bob.close()
