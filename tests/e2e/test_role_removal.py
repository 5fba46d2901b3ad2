"""A role removed from the org file ends, against a real Synapse, the bridge on a manual
clock and `carebridge provision apply`: its holder is released with an archived hand-over
record (source "removed"), its conversation rooms are closed read-only but kept with their
history (in the archive and in `carebridge export`), an unread urgent message to it goes on
to the administrators at once, and the rooms open again when the role comes back. A
mistaken org file applies nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import RoomSendError, RoomSendResponse

from bridge.roles.service import RoleError
from policy.event_types import FORWARDED_KEY, ROLE_HANDOVER_TYPE, URGENT_RECORD_TYPE
from tests.harness.provision import carebridge
from tests.harness.roles import RolesOrg, apply_org, exported, org_yaml, records, roles_org, urgent_steps
from tests.staff_helpers import eventually, timeline

pytestmark = pytest.mark.asyncio(loop_scope="module")

PHARMACIST = (
    "  pharmacist-on-call:\n"
    "    display_name: Pharmacist on call\n"
    "    members: [group:pharmacists]\n"
    "    backup: role:house-supervisor\n"
    "    self_assign: true\n"
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RolesOrg]:
    async with roles_org(Path(tmp_path_factory.mktemp("role-removal"))) as running:
        await running.tick(minutes=2)  # 07:00
        yield running


def without_pharmacist() -> str:
    text = org_yaml()
    assert PHARMACIST in text
    return text.replace(PHARMACIST, "")


async def members(org: RolesOrg, room_id: str) -> set[str]:
    data = await org.stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_id}/members")
    return set(data["members"]) - {org.stack.s.bot_user_id}


async def bodies(org: RolesOrg, who: str, room_id: str) -> list[str]:
    return [
        str(e["content"].get("body", ""))
        for e in await timeline(org.clients[who], room_id)
        if e["type"] == "m.room.message"
    ]


async def send(org: RolesOrg, who: str, room_id: str, body: str, urgent: bool = False) -> Any:
    content: dict[str, Any] = {"msgtype": "m.text", "body": body}
    if urgent:
        content["org.carebridge.urgent"] = True
    return await org.clients[who].room_send(room_id, "m.room.message", content)


async def test_a_removed_role_ends_its_holder_is_released_and_its_rooms_are_closed_but_kept(
    org: RolesOrg,
) -> None:
    service = org.bridge.roles.service()
    await service.take("pharmacist-on-call", org.uid("ray"))
    room_id = await service.open_room("pharmacist-on-call", org.uid("lee"))
    assert await members(org, room_id) == {org.uid("lee"), org.uid("ray")}
    plain = await send(org, "lee", room_id, "is drug X compatible with Y?")
    assert isinstance(plain, RoomSendResponse), plain
    urgent = await send(org, "lee", room_id, "check the potassium dose for bed 4", urgent=True)
    assert isinstance(urgent, RoomSendResponse), urgent

    async def tracked() -> bool:
        return await org.bridge.roles.urgent.get(urgent.event_id) is not None

    await eventually(tracked, what="the urgent message tracked")
    await org.tick(seconds=30)

    await apply_org(org.stack, org.stack.root, without_pharmacist())
    done = await org.tick(seconds=1)
    assert done.handovers.removed == ["pharmacist-on-call"]
    # The unread urgent message does not wait for a holder who is gone: on to the
    # administrators at once (the role's backup went with the role), the sender told.
    assert done.urgent.escalated == [urgent.event_id]

    # The holder is released, and the room keeps Dr. Lee (read-only) and its history.
    assert "pharmacist-on-call" not in await org.bridge.roles.store.holders()
    assert await members(org, room_id) == {org.uid("lee")}
    refused = await send(org, "lee", room_id, "hello?")
    assert isinstance(refused, RoomSendError) and refused.status_code == "M_FORBIDDEN", refused
    seen = await bodies(org, "lee", room_id)
    assert "is drug X compatible with Y?" in seen
    assert (
        "Pharmacist on call was removed from the organisation's roles, so this conversation is closed. "
        "It stays here, read-only, with its history; to reach someone, message a person or another "
        "role from Contacts."
    ) in seen
    assert "Not read by Ray Pharmacist after 31 s; the role was removed; sent to the administrators." in seen
    room = await org.bridge.roles.store.room(room_id)
    assert room is not None and room.closed_ts == org.bridge.roles.desk.now_ms()  # type: ignore[union-attr]
    with pytest.raises(RoleError, match="no role"):
        await service.open_room("pharmacist-on-call", org.uid("lee"))
    code, out, err = await carebridge(
        org.stack, "role", "list", "--at", org.clock.now().isoformat(), "--format", "json"
    )
    assert code == 0, out + err
    assert "pharmacist-on-call" not in {r["Role"] for r in json.loads(out)["rows"]}

    # Every step archived and exported: the hand-over record "removed" in the
    # administrators' room, the notice with it in the room, the urgent message's escalation.
    admin_id = str(org.bridge.admin_room_id)

    async def handovers() -> list[tuple[Any, Any, Any]] | None:
        found = [
            (r["from"], r["to"], r["source"])
            for r in records(await org.stack.archived(admin_id), ROLE_HANDOVER_TYPE)
            if r["role"] == "pharmacist-on-call"
        ]
        return found if len(found) == 2 else None

    assert await eventually(handovers, what="taken, then removed, archived") == [
        ([], [org.uid("ray")], "self"),
        ([org.uid("ray")], [], "removed"),
    ]
    exported_admin = await exported(org, admin_id, "removed-admins")
    (removed,) = [
        r["content"]
        for r in exported_admin
        if r["type"] == ROLE_HANDOVER_TYPE and r["content"]["source"] == "removed"
    ]
    assert (removed["role"], removed["display_name"], removed["from"]) == (
        "pharmacist-on-call",
        "Pharmacist on call",
        [org.uid("ray")],
    )
    copies = [
        r
        for r in exported_admin
        if (r.get("content") or {}).get(FORWARDED_KEY, {}).get("event_id") == urgent.event_id
    ]
    assert [c["body"] for c in copies] == [
        "URGENT from Dr. Lee (escalated: not read by Ray Pharmacist after 31 s; the role was removed):\n"
        "check the potassium dose for bed 4"
    ]
    in_room = await exported(org, room_id, "removed-room")
    assert [r["body"] for r in in_room if r["event_id"] == plain.event_id] == ["is drug X compatible with Y?"]
    # (Ray took the role before the room existed: the room's only hand-over is the end.)
    assert [
        r["content"][ROLE_HANDOVER_TYPE]["source"]
        for r in in_room
        if ROLE_HANDOVER_TYPE in (r.get("content") or {})
    ] == ["removed"]
    assert urgent_steps(in_room, urgent.event_id) == [
        "m.room.message:escalated",
        f"{URGENT_RECORD_TYPE}:escalated",
    ]

    # Nothing more happens on later passes (the role stays ended, once).
    later = await org.tick(minutes=1)
    assert later.handovers.removed == [] and later.urgent.escalated == []


async def test_a_role_that_comes_back_opens_its_rooms_again(org: RolesOrg) -> None:
    await apply_org(org.stack, org.stack.root, org_yaml())
    await org.tick(seconds=1)
    room = await org.bridge.roles.store.room_for("role:pharmacist-on-call", org.uid("lee"))
    assert room is not None and room.closed_ts is None
    sent = await send(org, "lee", room.room_id, "are you back?")
    assert isinstance(sent, RoomSendResponse), sent  # writable again; nobody holds it: to the backup

    async def told() -> list[str] | None:
        found = [b for b in await bodies(org, "lee", room.room_id) if "nobody holds it now" in b]
        return found or None

    assert await eventually(told, what="the sender told nobody holds it") == [
        "Pharmacist on call; nobody holds it now. Your message was sent to House supervisor (Sam Supervisor)."
    ]
    await org.bridge.roles.service().take("pharmacist-on-call", org.uid("pat"))
    assert await members(org, room.room_id) == {org.uid("lee"), org.uid("pat")}


async def test_an_org_file_with_a_mistake_applies_nothing(org: RolesOrg) -> None:
    """The role removed, and a rota line naming a role that does not exist: refused with
    file:line:column, and the role stays (nothing applied)."""
    bad = without_pharmacist().replace(
        "  - {file: rota.ics}\n", "  - {file: rota.ics}\n  - {role: pharmacy, user: ray, from: 2030-01-07}\n"
    )
    folder = org.stack.root / "bad"
    folder.mkdir()
    (folder / "rota.ics").write_text((org.stack.root / "rota.ics").read_text())
    (folder / "org.yaml").write_text(bad)
    code, out, err = await carebridge(org.stack, "provision", "apply", str(folder / "org.yaml"))
    assert code != 0, out + err
    line = bad.splitlines().index("  - {role: pharmacy, user: ray, from: 2030-01-07}") + 1
    assert f"org.yaml:{line}:" in err + out and "pharmacy" in err + out, err + out
    assert "pharmacist-on-call" in await org.bridge.roles.store.specs()
    done = await org.tick(seconds=1)
    assert done.handovers.removed == []
    assert (await org.bridge.roles.store.holders())["pharmacist-on-call"] == {
        org.uid("pat"): (org.bridge.roles.desk.now_ms() - 1000, "self")  # type: ignore[union-attr]
    }
