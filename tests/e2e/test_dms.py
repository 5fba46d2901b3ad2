"""Direct messages, invites and the user directory against the real Synapse + bridge.

A group DM of three, then a fourth added, and all four see the whole
history; an invite to a deactivated account is refused; the directory finds "jan" as
Jane Doe and Janet Roe but not a deactivated user.
"""

from __future__ import annotations

import asyncio
import secrets
from urllib.parse import quote

from nio import (
    DirectRoomsResponse,
    JoinResponse,
    RoomCreateError,
    RoomCreateResponse,
    RoomInviteError,
    RoomInviteResponse,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy import select

from bridge.db.engine import create_engine
from bridge.db.tables import dm_members, dm_rooms
from tests.harness.stack import Stack
from tests.staff_helpers import client_api, eventually, timeline


async def _dm_state(stack: Stack, room_id: str) -> tuple[bool, dict[str, str]]:
    engine = create_engine(stack.s.database_url)
    try:
        async with engine.connect() as conn:
            registered = bool(
                await conn.scalar(select(dm_rooms.c.room_id).where(dm_rooms.c.room_id == room_id))
            )
            rows = await conn.execute(select(dm_members).where(dm_members.c.room_id == room_id))
            return registered, {r.user_id: r.membership for r in rows}
    finally:
        await engine.dispose()


async def test_group_dm_then_fourth_member_sees_whole_history(stack: Stack) -> None:
    ids = []
    clients = []
    for name in ("Ann", "Ben", "Cat", "Dan"):
        uid, pw = await stack.create_user(display_name=f"{name} Staff")
        ids.append(uid)
        clients.append(await stack.login(uid, pw))
    ann, ben, cat, dan = clients
    try:
        created = await ann.room_create(is_direct=True, invite=[ids[1], ids[2]])
        assert isinstance(created, RoomCreateResponse), created
        room = created.room_id
        for member in (ben, cat):
            joined = await member.join(room)
            assert isinstance(joined, JoinResponse), joined
        first = await ann.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "handover at 7"})
        assert isinstance(first, RoomSendResponse), first
        second = await ben.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "noted"})
        assert isinstance(second, RoomSendResponse), second

        invited = await cat.room_invite(room, ids[3])
        assert isinstance(invited, RoomInviteResponse), invited
        joined = await dan.join(room)
        assert isinstance(joined, JoinResponse), joined
        third = await dan.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "joining late"})
        assert isinstance(third, RoomSendResponse), third

        for client in clients:
            bodies = [
                e["content"].get("body")
                for e in await timeline(client, room)
                if e["type"] == "m.room.message"
            ]
            assert bodies == ["handover at 7", "noted", "joining late"], (client.user_id, bodies)

        # The DM registry knows the room and its four participants...
        async def registry() -> dict[str, str] | None:
            registered, members = await _dm_state(stack, room)
            return members if registered and len([m for m in members.values() if m == "join"]) == 4 else None

        members = await eventually(registry, what="the DM registry")
        assert set(members) == set(ids)

        # ...and every participant's m.direct lists the room under each other participant.
        async def direct_ok(client_index: int) -> bool:
            resp = await clients[client_index].list_direct_rooms()
            if not isinstance(resp, DirectRoomsResponse):
                return False
            others = [u for u in ids if u != ids[client_index]]
            return all(room in resp.rooms.get(other, []) for other in others)

        for index in range(4):
            await eventually(lambda index=index: direct_ok(index), what=f"m.direct of {ids[index]}")
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_invite_to_deactivated_or_outside_account_is_refused(stack: Stack) -> None:
    alice_id, alice_pw = await stack.create_user(display_name="Alice Nurse")
    gone_id, _ = await stack.create_user(display_name="Gone Staff")
    await stack.admin("POST", f"/_synapse/admin/v1/deactivate/{quote(gone_id)}", {"erase": False})
    alice = await stack.login(alice_id, alice_pw)
    try:
        refused = await alice.room_create(is_direct=True, invite=[gone_id])
        assert isinstance(refused, RoomCreateError), refused
        assert refused.status_code == "M_FORBIDDEN"
        assert "deactivated" in refused.message

        buddy_id, _ = await stack.create_user()
        created = await alice.room_create(is_direct=True, invite=[buddy_id])
        assert isinstance(created, RoomCreateResponse), created
        again = await alice.room_invite(created.room_id, gone_id)
        assert isinstance(again, RoomInviteError), again
        assert "deactivated" in again.message
        outside = await alice.room_invite(created.room_id, "@someone:elsewhere.example")
        assert isinstance(outside, RoomInviteError), outside
        assert "organisation" in outside.message
        unknown = await alice.room_invite(
            created.room_id, f"@nobody{secrets.token_hex(3)}:{stack.server_name}"
        )
        assert isinstance(unknown, RoomInviteError), unknown
    finally:
        await alice.close()


async def test_directory_finds_active_colleagues_by_partial_name(stack: Stack) -> None:
    tag = secrets.token_hex(2)
    jane_id, _ = await stack.create_user(f"jdoe{tag}", display_name="Jane Doe")
    janet_id, _ = await stack.create_user(f"jroe{tag}", display_name="Janet Roe")
    gone_id, _ = await stack.create_user(f"jgone{tag}", display_name="Janice Gone")
    searcher_id, pw = await stack.create_user(display_name="Sam Searcher")
    await stack.admin("POST", f"/_synapse/admin/v1/deactivate/{quote(gone_id)}", {"erase": False})
    sam = await stack.login(searcher_id, pw)
    try:

        async def search() -> set[str] | None:
            status, data = await client_api(
                sam, "POST", "/_matrix/client/v3/user_directory/search", {"search_term": "jan", "limit": 50}
            )
            assert status == 200, data
            found = {r["user_id"] for r in data["results"]}
            return found if {jane_id, janet_id} <= found else None

        found = await eventually(search, what="Jane and Janet in the directory")
        assert gone_id not in found
        names = {r: r for r in found}
        assert jane_id in names and janet_id in names
    finally:
        await sam.close()


async def test_presence_of_colleagues_without_a_shared_room(stack: Stack) -> None:
    """Presence on, organisation-wide: a colleague one shares no room with shows online."""
    ann_id, ann_pw = await stack.create_user(display_name="Ann Online")
    bo_id, bo_pw = await stack.create_user(display_name="Bo Watcher")
    ann = await stack.login(ann_id, ann_pw)
    bo = await stack.login(bo_id, bo_pw)
    try:
        first = await bo.sync(timeout=0)
        assert isinstance(first, SyncResponse), first
        status, body = await client_api(
            ann, "PUT", f"/_matrix/client/v3/presence/{quote(ann_id)}/status", {"presence": "online"}
        )
        assert status == 200, body

        async def seen_online() -> bool:
            resp = await bo.sync(timeout=1000, since=bo.next_batch)
            assert isinstance(resp, SyncResponse), resp
            return any(p.user_id == ann_id and p.presence == "online" for p in resp.presence_events)

        await eventually(seen_online, what="Ann's presence at Bo")
    finally:
        await asyncio.gather(ann.close(), bo.close())
