"""Nobody appears under someone else's name, through the real Synapse + module + bridge:
a per-room name or avatar in an `m.room.member` event is refused unless it is the person's
own (today "Dr. Morgan Lee" is stored and shown), an avatar is a picture on this server
(today free text such as a patient's name and MRN is stored and readable), Synapse's own
re-sends after a profile change and the bot's invites still pass, and every profile value
reaches the archive, also one replaced within milliseconds (today it never does)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from policy.event_types import PROFILE_EVENT_TYPE
from tests import file_samples
from tests.compliance_helpers import wait_for
from tests.harness.stack import Stack
from tests.staff_helpers import client_api, timeline

FREE_TEXT_AVATAR = "see notes: John Doe MRN 12345"


async def _dm(stack: Stack) -> tuple[AsyncClient, AsyncClient, str, str, str]:
    nurse_id, nurse_pw = await stack.create_user(display_name="Nurse Nora")
    peer_id, peer_pw = await stack.create_user(display_name="Peer Pat")
    nurse, peer = await asyncio.gather(stack.login(nurse_id, nurse_pw), stack.login(peer_id, peer_pw))
    dm = await nurse.room_create(is_direct=True, invite=[peer_id])
    assert isinstance(dm, RoomCreateResponse), dm
    assert isinstance(await peer.join(dm.room_id), JoinResponse)
    return nurse, peer, nurse_id, peer_id, dm.room_id


async def _member(
    client: AsyncClient, room_id: str, user_id: str, content: dict[str, Any]
) -> tuple[int, Any]:
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/state/m.room.member/{quote(user_id)}"
    return await client_api(client, "PUT", path, content)


async def _upload_png(client: AsyncClient) -> str:
    status, body = await client_api(
        client,
        "POST",
        "/_matrix/media/v3/upload?filename=me.png",
        data=file_samples.photo_png(),
        content_type="image/png",
    )
    assert status == 200, body
    return str(body["content_uri"])


async def test_a_per_room_name_or_avatar_not_ones_own_is_refused(stack: Stack) -> None:
    nurse, peer, nurse_id, _, room = await _dm(stack)
    try:
        status, body = await _member(
            nurse, room, nurse_id, {"membership": "join", "displayname": "Dr. Morgan Lee"}
        )
        assert status == 403, body
        assert body["org.carebridge.reason"] == "member-name-not-directory" and "directory" in body["error"]

        status, body = await _member(
            nurse, room, nurse_id, {"membership": "join", "avatar_url": FREE_TEXT_AVATAR}
        )
        assert status == 403, body
        assert body["org.carebridge.reason"] == "avatar-not-a-picture-on-this-server"

        # The colleague's own picture, a real file on this server, is still not hers.
        peers_picture = await _upload_png(peer)
        status, body = await _member(
            nurse, room, nurse_id, {"membership": "join", "avatar_url": peers_picture}
        )
        assert status == 403 and body["org.carebridge.reason"] == "member-avatar-not-directory", body

        # An invite naming the invitee otherwise is the same thing.
        third_id, _ = await stack.create_user(display_name="Third Tess")
        status, body = await _member(
            nurse, room, third_id, {"membership": "invite", "displayname": "Dr. Morgan Lee"}
        )
        assert status == 403 and body["org.carebridge.reason"] == "member-name-not-directory", body

        # Her own directory name, explicitly, is fine; so is no name at all.
        status, body = await _member(
            nurse, room, nurse_id, {"membership": "join", "displayname": "Nurse Nora"}
        )
        assert status == 200, body
        status, body = await _member(nurse, room, nurse_id, {"membership": "join"})
        assert status == 200, body

        names = [
            e["content"].get("displayname")
            for e in await timeline(peer, room)
            if e["type"] == "m.room.member" and e["state_key"] in (nurse_id, third_id)
        ]
        assert "Dr. Morgan Lee" not in names, names
        archived = [
            e.event["content"] for e in await stack.archived(room) if e.event["type"] == "m.room.member"
        ]
        assert all(c.get("displayname") != "Dr. Morgan Lee" for c in archived)
        assert all(c.get("avatar_url") != FREE_TEXT_AVATAR for c in archived)
    finally:
        await asyncio.gather(nurse.close(), peer.close())


async def test_avatar_is_a_picture_on_this_server_and_ones_own_reaches_every_room(stack: Stack) -> None:
    """Free text (or another server's address) is refused as a profile picture, and not
    readable afterwards; one's own uploaded picture is taken, and Synapse's re-send of the
    member event with it passes the rule and is archived."""
    nurse, peer, nurse_id, _, room = await _dm(stack)
    profile = f"/_matrix/client/v3/profile/{quote(nurse_id)}/avatar_url"
    try:
        for bad in (FREE_TEXT_AVATAR, "mxc://elsewhere.example/abc", "https://tracker.example/p.png"):
            status, body = await client_api(nurse, "PUT", profile, {"avatar_url": bad})
            assert status == 403 and body["org.carebridge.reason"] == "avatar-not-a-picture-on-this-server", (
                body
            )
            status, body = await client_api(peer, "GET", profile)
            assert body.get("avatar_url") != bad, body

        picture = await _upload_png(nurse)
        status, body = await client_api(nurse, "PUT", profile, {"avatar_url": picture})
        assert status == 200, body

        async def resent() -> list[dict[str, Any]]:
            return [
                e.event["content"]
                for e in await stack.archived(room)
                if e.event["type"] == "m.room.member"
                and e.event["state_key"] == nurse_id
                and e.event["content"].get("avatar_url") == picture
            ]

        contents = await wait_for(resent, bool, what="Synapse's member re-send with the new picture")
        assert contents[0]["displayname"] == "Nurse Nora"
        sent = await nurse.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "still here"})
        assert isinstance(sent, RoomSendResponse), sent
    finally:
        await asyncio.gather(nurse.close(), peer.close())


async def test_every_profile_value_is_archived_even_if_replaced_at_once(stack: Stack) -> None:
    """An administrator renames someone three times back to back: Synapse re-sends member
    events only with the newest name (the first is lost to them), but every value is in the
    archive as a profile record, in order; the renames' own member events pass the rule."""
    nurse, peer, nurse_id, _, room = await _dm(stack)
    names = ["Nora A. Quick", "Nora B. Quick", "Nora C. Quick"]
    try:
        for name in names:
            await stack.admin("PUT", f"/_synapse/admin/v2/users/{quote(nurse_id)}", {"displayname": name})

        async def recorded() -> list[dict[str, Any]]:
            return [
                e.event["content"]
                for e in await stack.archived()
                if e.event["type"] == PROFILE_EVENT_TYPE and e.event["content"].get("user_id") == nurse_id
            ]

        records = await wait_for(recorded, lambda r: len(r) >= 3, what="three profile records")
        assert [r["displayname"] for r in records] == names
        assert all(r["by_admin"] is True and r["ts"] > 0 for r in records)

        async def renamed() -> bool:
            return any(
                e.event["type"] == "m.room.member" and e.event["content"].get("displayname") == names[-1]
                for e in await stack.archived(room)
            )

        assert await wait_for(renamed, bool, what="the member event with the newest name")
    finally:
        await asyncio.gather(nurse.close(), peer.close())
