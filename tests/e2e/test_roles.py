"""Roles on shift against a real Synapse, the bridge on a manual clock, nio clients: the
rota (org file and iCalendar) hands the role over at the shift boundary, a message to the
role reaches the holder and after hand-over the next one (who reads the history), an empty
role sends the message to its backup and tells the sender, and every step is archived."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nio import RoomCreateResponse, RoomSendResponse

from bridge.roles.service import RoleError
from policy.event_types import FORWARDED_KEY, ROLE_HANDOVER_TYPE
from tests.harness.provision import carebridge
from tests.harness.roles import RolesOrg, exported, records, roles_org
from tests.staff_helpers import eventually, timeline

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RolesOrg]:
    async with roles_org(Path(tmp_path_factory.mktemp("roles"))) as running:
        yield running


async def admin_room_id(org: RolesOrg) -> str:
    assert org.bridge.admin_room_id is not None
    return str(org.bridge.admin_room_id)


async def bodies(org: RolesOrg, who: str, room_id: str) -> list[str]:
    return [
        e["content"].get("body", "")
        for e in await timeline(org.clients[who], room_id)
        if e["type"] == "m.room.message"
    ]


async def members_with_bot(org: RolesOrg, room_id: str) -> set[str]:
    data = await org.stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_id}/members")
    return set(data["members"])


async def members(org: RolesOrg, room_id: str) -> set[str]:
    return await members_with_bot(org, room_id) - {org.stack.s.bot_user_id}


async def test_rota_hand_over_at_the_shift_boundary_reaches_the_holder_then_the_next(org: RolesOrg) -> None:
    first = await org.tick(seconds=0)  # 06:58: the night nurse from rota.ics holds it
    assert first.handovers.changed["er-charge-nurse"] == ((), (org.uid("omar"),))
    assert first.handovers.changed["house-supervisor"] == ((), (org.uid("sam"),))
    assert "pharmacist-on-call" not in first.handovers.changed  # nobody, before and after

    room_id = await org.bridge.roles.service().open_room("er-charge-nurse", org.uid("lee"))
    assert await members(org, room_id) == {org.uid("lee"), org.uid("omar")}
    sent = await org.clients["lee"].room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "bed 4 needs a porter"}
    )
    assert isinstance(sent, RoomSendResponse), sent
    assert "bed 4 needs a porter" in await bodies(org, "omar", room_id)

    before = await org.tick(minutes=1, seconds=59)  # 06:59:59: still the night nurse
    assert "er-charge-nurse" not in before.handovers.changed
    boundary = await org.tick(seconds=1)  # 07:00 sharp: the day nurse (org file rota)
    assert boundary.handovers.changed["er-charge-nurse"] == ((org.uid("omar"),), (org.uid("nina"),))
    assert await members(org, room_id) == {org.uid("lee"), org.uid("nina")}
    # The next holder reads the conversation so far, and the hand-over notice.
    seen = await bodies(org, "nina", room_id)
    assert "bed 4 needs a porter" in seen
    assert any("Nina Nurse now holds ER charge nurse (by the rota, until 19:00)" in b for b in seen), seen

    admin_id = await admin_room_id(org)

    async def handover_records() -> list[dict[str, object]] | None:
        found = [
            r
            for r in records(await org.stack.archived(admin_id), ROLE_HANDOVER_TYPE)
            if r["role"] == "er-charge-nurse"
        ]
        return found if len(found) == 2 else None

    archived = await eventually(handover_records, what="both hand-overs in the archive")
    assert [(r["from"], r["to"], r["source"]) for r in archived] == [
        ([], [org.uid("omar")], "rota"),
        ([org.uid("omar")], [org.uid("nina")], "rota"),
    ]
    in_room = records(await org.stack.archived(room_id), "m.room.message")
    assert any(ROLE_HANDOVER_TYPE in c for c in in_room)
    # ... and in `carebridge export`: the records in the administrators' room, the notice
    # (with the record) in the role room, and the message the next holder read.
    exported_admin = await exported(org, admin_id, "handover-admins")
    assert [
        (r["content"]["from"], r["content"]["to"], r["content"]["source"], r["sender"])
        for r in exported_admin
        if r["type"] == ROLE_HANDOVER_TYPE and r["content"]["role"] == "er-charge-nurse"
    ] == [
        ([], [org.uid("omar")], "rota", org.stack.s.bot_user_id),
        ([org.uid("omar")], [org.uid("nina")], "rota", org.stack.s.bot_user_id),
    ]
    exported_room = await exported(org, room_id, "handover-room")
    notices = [r for r in exported_room if ROLE_HANDOVER_TYPE in (r.get("content") or {})]
    assert [n["content"][ROLE_HANDOVER_TYPE]["to"] for n in notices] == [[org.uid("nina")]]
    assert "bed 4 needs a porter" in [r["body"] for r in exported_room]


async def test_message_to_an_empty_role_goes_to_its_backup_and_the_sender_is_told(org: RolesOrg) -> None:
    await org.tick(seconds=0)
    room_id = await org.bridge.roles.service().open_room("pharmacist-on-call", org.uid("lee"))
    sent = await org.clients["lee"].room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": "is drug X compatible with Y?"}
    )
    assert isinstance(sent, RoomSendResponse), sent

    async def told() -> list[str] | None:
        found = [b for b in await bodies(org, "lee", room_id) if "Your message was sent to" in b]
        return found or None

    (notice,) = await eventually(told, what="the notice to the sender")
    assert notice == (
        "Pharmacist on call; nobody holds it now. Your message was sent to House supervisor (Sam Supervisor)."
    )
    backup_room = await org.bridge.roles.store.room_for("role:house-supervisor", org.uid("lee"))
    assert backup_room is not None
    assert await members(org, backup_room.room_id) == {org.uid("lee"), org.uid("sam")}
    copies = [b for b in await bodies(org, "sam", backup_room.room_id) if "drug X" in b]
    assert copies == [
        "from Dr. Lee (to Pharmacist on call; nobody holds it now):\nis drug X compatible with Y?"
    ]
    archived = records(await org.stack.archived(backup_room.room_id), "m.room.message")
    forwarded = [c[FORWARDED_KEY] for c in archived if FORWARDED_KEY in c]
    assert forwarded[0]["event_id"] == sent.event_id and forwarded[0]["target"] == "role:house-supervisor"
    # Both steps in `carebridge export`: the message and the routing notice (where it went)
    # in the role room, the copy (whose it is, why it moved) in the backup's room.
    in_role_room = await exported(org, room_id, "empty-role")
    assert [r["body"] for r in in_role_room if r["event_id"] == sent.event_id] == [
        "is drug X compatible with Y?"
    ]
    (routed,) = [
        r["content"][FORWARDED_KEY] for r in in_role_room if FORWARDED_KEY in (r.get("content") or {})
    ]
    assert (routed["event_id"], routed["reason"], routed["to"]) == (sent.event_id, "backup", [org.uid("sam")])
    in_backup_room = await exported(org, backup_room.room_id, "empty-role-backup")
    (copy,) = [r for r in in_backup_room if FORWARDED_KEY in (r.get("content") or {})]
    assert (copy["event_id"], copy["content"][FORWARDED_KEY]["event_id"]) == (
        routed["copy_event_id"],
        sent.event_id,
    )
    assert copy["content"][FORWARDED_KEY]["sender"] == org.uid("lee")


async def test_a_role_whose_whole_backup_chain_is_empty_reaches_the_administrators(org: RolesOrg) -> None:
    """Chaplain on call (nobody) -> its backup Bed manager (nobody, no backup): the sender is
    told at once and the administrators' room receives the message, archived and exported."""
    await org.tick(seconds=0)
    room_id = await org.bridge.roles.service().open_room("chaplain-on-call", org.uid("lee"))
    sent = await org.clients["lee"].room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "family in bed 12 asks for a chaplain", "org.carebridge.urgent": True},
    )
    assert isinstance(sent, RoomSendResponse), sent

    async def told() -> list[str] | None:
        found = [b for b in await bodies(org, "lee", room_id) if "Your message was sent to" in b]
        return found or None

    (notice,) = await eventually(told, what="the notice to the sender")
    assert notice == "Chaplain on call; nobody holds it now. Your message was sent to the administrators."
    admin_id = await admin_room_id(org)

    async def in_admins() -> list[dict[str, object]] | None:
        found = [
            c
            for c in records(await org.stack.archived(admin_id), "m.room.message")
            if (c.get(FORWARDED_KEY) or {}).get("event_id") == sent.event_id
        ]
        return found or None

    (copy,) = await eventually(in_admins, what="the copy in the administrators' room")
    assert copy["body"] == (
        "URGENT from Dr. Lee (to Chaplain on call; nobody holds it now):\n"
        "family in bed 12 asks for a chaplain"
    )
    assert copy["org.carebridge.urgent"] is True and copy[FORWARDED_KEY]["target"] == "admins"  # type: ignore[index]
    exported_admin = await exported(org, admin_id, "empty-chain-admins")
    assert [
        r["content"][FORWARDED_KEY]["reason"]
        for r in exported_admin
        if (r.get("content") or {}).get(FORWARDED_KEY, {}).get("event_id") == sent.event_id
    ] == ["to Chaplain on call; nobody holds it now"]
    in_role_room = await exported(org, room_id, "empty-chain-room")
    (routed,) = [
        r["content"][FORWARDED_KEY] for r in in_role_room if FORWARDED_KEY in (r.get("content") or {})
    ]
    assert (routed["reason"], routed["to"], routed["room_id"]) == ("admins", [], admin_id)


async def test_cli_shows_holders_and_assigns_by_hand_with_an_archived_hand_over(org: RolesOrg) -> None:
    at = org.clock.now().isoformat()
    code, out, err = await carebridge(
        org.stack, "role", "who", "er-charge-nurse", "--at", at, "--format", "json"
    )
    assert code == 0, out + err
    (row,) = json.loads(out)["rows"]
    assert (row["Held by"], row["How"], row["Backup"]) == ("Nina Nurse", "rota", "role:house-supervisor")

    code, out, err = await carebridge(org.stack, "role", "assign", "er-charge-nurse", "sam", "--from", at)
    assert code == 1 or code == 2, out + err
    assert "is not a member of er-charge-nurse" in err
    code, out, err = await carebridge(
        org.stack, "role", "assign", "er-charge-nurse", "omar", "--from", at, "--hours", "1"
    )
    assert code == 0, out + err
    assigned = await org.tick(seconds=1)
    assert assigned.handovers.changed["er-charge-nurse"] == ((org.uid("nina"),), (org.uid("omar"),))
    code, out, err = await carebridge(
        org.stack, "role", "list", "--at", org.clock.now().isoformat(), "--format", "json"
    )
    rows = {r["Role"]: r for r in json.loads(out)["rows"]}
    assert (rows["er-charge-nurse"]["Held by"], rows["er-charge-nurse"]["How"]) == ("Omar Nurse", "assigned")
    assert rows["pharmacist-on-call"]["Held by"] == "nobody"

    code, out, err = await carebridge(
        org.stack, "role", "release", "er-charge-nurse", "omar", "--at", org.clock.now().isoformat()
    )
    assert code == 0, out + err
    back = await org.tick(seconds=1)
    assert back.handovers.changed["er-charge-nurse"] == ((org.uid("omar"),), (org.uid("nina"),))
    admin_id = await admin_room_id(org)

    async def sources() -> list[object] | None:
        archived = records(await org.stack.archived(admin_id), ROLE_HANDOVER_TYPE)
        found = [r["source"] for r in archived if r["role"] == "er-charge-nurse"]
        return found if len(found) == 4 else None

    assert (await eventually(sources, what="four hand-overs archived"))[-2:] == ["assigned", "rota"]


async def test_self_assignment_only_where_the_org_file_allows_it(org: RolesOrg) -> None:
    service = org.bridge.roles.service()
    with pytest.raises(RoleError, match="not open to taking"):
        await service.take("er-charge-nurse", org.uid("omar"))
    with pytest.raises(RoleError, match="for its members only"):
        await service.take("pharmacist-on-call", org.uid("lee"))
    text = await service.take("pharmacist-on-call", org.uid("ray"))
    assert text.startswith("You hold Pharmacist on call until ")
    assert (await org.bridge.roles.store.holders())["pharmacist-on-call"] == {
        org.uid("ray"): (org.bridge.roles.desk.now_ms(), "self")  # type: ignore[union-attr]
    }
    await service.release("pharmacist-on-call", org.uid("ray"), org.uid("ray"))
    assert "pharmacist-on-call" not in await org.bridge.roles.store.holders()
    room = await org.bridge.roles.store.room_for("role:pharmacist-on-call", org.uid("lee"))
    assert room is not None
    seen = await bodies(org, "lee", room.room_id)
    assert any(b.startswith("Ray Pharmacist now holds Pharmacist on call (taken, until ") for b in seen), seen
    assert "Nobody holds Pharmacist on call now; messages here go to its backup, House supervisor." in seen
    admin_id = await admin_room_id(org)

    async def taken_and_released() -> list[tuple[object, object, object]] | None:
        found = [
            (r["from"], r["to"], r["source"])
            for r in records(await org.stack.archived(admin_id), ROLE_HANDOVER_TYPE)
            if r["role"] == "pharmacist-on-call"
        ]
        return found if len(found) == 2 else None

    # Taking a role and giving it up are hand-overs like any other, archived with who and how.
    assert await eventually(taken_and_released, what="both hand-overs archived") == [
        ([], [org.uid("ray")], "self"),
        ([org.uid("ray")], [], "rota"),
    ]


async def test_who_in_chat_answers_any_member_of_the_organisation(org: RolesOrg) -> None:
    lee = org.clients["lee"]
    bot = org.stack.s.bot_user_id
    created = await lee.room_create(is_direct=True, invite=[bot])
    assert isinstance(created, RoomCreateResponse), created

    async def bot_joined() -> bool:
        return bot in await members_with_bot(org, created.room_id)

    await eventually(bot_joined, what="the bot in the direct chat")
    sent = await lee.room_send(
        created.room_id, "m.room.message", {"msgtype": "m.text", "body": "!who er-charge-nurse"}
    )
    assert isinstance(sent, RoomSendResponse), sent
    empty = await lee.room_send(
        created.room_id, "m.room.message", {"msgtype": "m.text", "body": "!who pharmacist-on-call"}
    )
    assert isinstance(empty, RoomSendResponse), empty

    async def answers() -> list[str] | None:
        found = [
            b for b in await bodies(org, "lee", created.room_id) if b.startswith(("ER charge", "Pharmacist"))
        ]
        return found if len(found) == 2 else None

    answered = await eventually(answers, what="the bot's answers")
    assert answered[0].startswith("ER charge nurse: Nina Nurse (rota, until 19:00)")
    assert answered[1] == "Pharmacist on call: nobody holds it now; messages to it go to Sam Supervisor."
