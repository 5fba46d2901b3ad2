"""Urgent messages in channels against a real Synapse, the bridge on a manual clock, nio
clients: an urgent message alerts the people it mentions again until one of them reads it;
unread after the channel's own escalation time it goes to the channel's `escalate_to` (a
person, or a role's holder), the sender is told, and every step is in the archive and in
`carebridge export`; read in time, it never escalates."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from nio import RoomReadMarkersResponse, RoomSendResponse

from policy.event_types import FORWARDED_KEY, URGENT_RECORD_TYPE
from tests.harness.provision import carebridge
from tests.harness.roles import RolesOrg, exported, roles_org, urgent_steps
from tests.staff_helpers import client_api, eventually, timeline

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Each channel escalates on its own terms, unlike the organisation's policy.urgent
# (5 minutes, to the house supervisor): ICU nursing after 3 minutes to a named person,
# the ward round after 4 minutes to whoever holds the ER charge nurse role.
CHANNELS = """\
channels:
  - name: icu-nursing
    display_name: ICU nursing
    members: [group:er-nurses, group:physicians]
    post: [group:er-nurses, group:physicians]
    escalation_minutes: 3
    escalate_to: user:ray
  - name: ward-round
    display_name: Ward round
    members: [group:er-nurses, group:physicians, group:pharmacists]
    post: [group:er-nurses, group:physicians, group:pharmacists]
    escalation_minutes: 4
    escalate_to: role:er-charge-nurse
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RolesOrg]:
    async with roles_org(Path(tmp_path_factory.mktemp("urgent-channels")), extra=CHANNELS) as running:
        await running.tick(minutes=2)  # 07:00: Nina holds the ER charge nurse role
        yield running


async def channel_room(org: RolesOrg, name: str) -> str:
    channel = await org.bridge.roles.desk.directory.channel_by_name(name)  # type: ignore[union-attr]
    assert channel is not None, name
    return str(channel.room_id)


async def messages(org: RolesOrg, who: str, room_id: str) -> list[dict[str, Any]]:
    return [e for e in await timeline(org.clients[who], room_id) if e["type"] == "m.room.message"]


async def urgent_in_channel(
    org: RolesOrg, channel: str, body: str, mention: list[str], track: bool = True
) -> tuple[str, str]:
    """Dr. Lee posts an urgent message in a channel mentioning `mention`; with `track`,
    waits until the bridge tracks it."""
    room_id = await channel_room(org, channel)
    content = {
        "msgtype": "m.text",
        "body": body,
        "org.carebridge.urgent": True,
        "m.mentions": {"user_ids": [org.uid(m) for m in mention]},
    }
    sent = await org.clients["lee"].room_send(room_id, "m.room.message", content)
    assert isinstance(sent, RoomSendResponse), sent

    async def tracked() -> bool:
        return await org.bridge.roles.urgent.get(sent.event_id) is not None

    if track:
        await eventually(tracked, what="the urgent message tracked")
    return room_id, sent.event_id


def alerts(events: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if (e["content"].get(URGENT_RECORD_TYPE) or {}).get("event_id") == event_id
        and (e["content"].get(URGENT_RECORD_TYPE) or {}).get("step") == "alert"
    ]


async def archived_steps(org: RolesOrg, room_id: str, event_id: str, want: int) -> list[str]:
    async def probe() -> list[str] | None:
        events = [e.event for e in await org.stack.archived(room_id)]
        found = urgent_steps(events, event_id)
        return found if len(found) >= want else None

    return await eventually(probe, what=f"{want} urgent steps archived")


async def test_urgent_in_a_channel_alerts_the_mentioned_person_until_read_and_never_escalates(
    org: RolesOrg,
) -> None:
    room_id, event_id = await urgent_in_channel(org, "icu-nursing", "bed 7 pressure dropping", ["nina"])
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None
    assert (row.kind, row.recipients, row.escalate_ms) == ("channel", (org.uid("nina"),), 3 * 60_000)
    assert (await org.tick(minutes=1)).urgent.alerted == []
    assert (await org.tick(minutes=1)).urgent.alerted == [event_id]  # 2 minutes: first repeat
    (alert,) = alerts(await messages(org, "nina", room_id), event_id)
    # Only the mentioned nurse is alerted, not Omar (also in the channel).
    assert alert["content"]["m.mentions"] == {"user_ids": [org.uid("nina")]}
    assert alert["content"]["body"] == (
        "URGENT message from Dr. Lee is still unread after 2 min: Nina Nurse, please read it."
    )
    # An alert rings: Synapse's push rules notify Nina as mentioned (a notice would not).
    assert alert["event_id"] in await highlighted(org, "nina")
    assert alert["event_id"] not in await highlighted(org, "omar")

    read = await org.clients["nina"].room_read_markers(room_id, event_id, event_id)
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=30)).urgent.read == [event_id]
    for _ in range(3):  # well past the channel's 3 minutes: no alert, no escalation
        later = await org.tick(minutes=1)
        assert event_id not in later.urgent.alerted + later.urgent.escalated
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and (row.read_by, row.alerts, row.escalated_ts) == (org.uid("nina"), 1, None)

    assert await archived_steps(org, room_id, event_id, 2) == [
        "m.room.message:alert",
        f"{URGENT_RECORD_TYPE}:read",
    ]
    rows = await exported(org, room_id, "channel-read")
    assert urgent_steps(rows, event_id) == ["m.room.message:alert", f"{URGENT_RECORD_TYPE}:read"]
    assert not [
        b
        for b in (m["content"].get("body", "") for m in await messages(org, "lee", room_id))
        if "Not read by" in b
    ]


async def test_unread_urgent_in_a_channel_goes_to_its_named_person_after_its_own_time(org: RolesOrg) -> None:
    room_id, event_id = await urgent_in_channel(org, "icu-nursing", "need a second pair of hands", ["omar"])
    assert (await org.tick(minutes=2)).urgent.alerted == [event_id]
    escalated = await org.tick(minutes=1)  # the channel's 3 minutes, not the organisation's 5
    assert escalated.urgent.escalated == [event_id]

    lee_sees = await messages(org, "lee", room_id)
    (notice,) = [m for m in lee_sees if m["content"]["body"].startswith("Not read by Omar")]
    assert notice["content"]["body"] == "Not read by Omar Nurse after 3 min; sent to Ray Pharmacist."
    assert notice["event_id"] in await highlighted(org, "lee")  # the sender is told, wherever they are
    copy_room = await org.bridge.roles.store.room_for(org.uid("ray"), org.uid("lee"))
    assert copy_room is not None
    (copy,) = [
        m for m in await messages(org, "ray", copy_room.room_id) if "second pair" in m["content"]["body"]
    ]
    assert copy["content"]["body"] == (
        "URGENT from Dr. Lee (escalated: not read by Omar Nurse after 3 min):\nneed a second pair of hands"
    )
    assert copy["content"]["org.carebridge.urgent"] is True
    assert copy["content"][FORWARDED_KEY]["event_id"] == event_id
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and row.escalated_to == (org.uid("ray"),) and row.read_ts is None

    # Both steps (the repeat alert, the escalation) are archived in the channel, and the
    # copy in Ray's conversation; the export of the channel tells the same story.
    assert await archived_steps(org, room_id, event_id, 3) == [
        "m.room.message:alert",
        "m.room.message:escalated",
        f"{URGENT_RECORD_TYPE}:escalated",
    ]
    (record,) = [
        e["content"]
        for e in (x.event for x in await org.stack.archived(room_id))
        if e["type"] == URGENT_RECORD_TYPE and e["content"]["event_id"] == event_id
    ]
    assert (record["target"], record["to"], record["copy_event_id"]) == (
        org.uid("ray"),
        [org.uid("ray")],
        copy["event_id"],
    )
    assert record["after_ms"] == 3 * 60_000
    rows = await exported(org, room_id, "channel-person")
    assert [r["body"] for r in rows if r["event_id"] == event_id] == ["need a second pair of hands"]
    assert urgent_steps(rows, event_id) == [
        "m.room.message:alert",
        "m.room.message:escalated",
        f"{URGENT_RECORD_TYPE}:escalated",
    ]
    copies = await exported(org, copy_room.room_id, "channel-person-copy")
    assert [r["content"][FORWARDED_KEY]["event_id"] for r in copies if r["event_id"] == copy["event_id"]] == [
        event_id
    ]
    # Ray reads the copy: its own timers stop.
    read = await org.clients["ray"].room_read_markers(copy_room.room_id, copy["event_id"], copy["event_id"])
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=10)).urgent.read == [copy["event_id"]]


async def test_unread_urgent_in_a_channel_goes_to_the_holder_of_its_escalation_role(org: RolesOrg) -> None:
    room_id, event_id = await urgent_in_channel(org, "ward-round", "drug chart for bed 9 unsigned", ["pat"])
    assert (await org.tick(minutes=2)).urgent.alerted == [event_id]
    assert (await org.tick(minutes=1, seconds=59)).urgent.escalated == []
    assert (await org.tick(seconds=1)).urgent.escalated == [event_id]  # the channel's 4 minutes

    told = [m["content"]["body"] for m in await messages(org, "lee", room_id)]
    assert "Not read by Pat Pharmacist after 4 min; sent to ER charge nurse (Nina Nurse)." in told
    role_room = await org.bridge.roles.store.room_for("role:er-charge-nurse", org.uid("lee"))
    assert role_room is not None
    copies = [m for m in await messages(org, "nina", role_room.room_id) if "bed 9" in m["content"]["body"]]
    assert [c["content"]["body"] for c in copies] == [
        "URGENT from Dr. Lee (escalated: not read by Pat Pharmacist after 4 min):\n"
        "drug chart for bed 9 unsigned"
    ]
    # The copy is urgent for the role in its own right: its repeat alerts reach Nina.
    copy_row = await org.bridge.roles.urgent.get(copies[0]["event_id"])
    assert copy_row is not None
    assert (copy_row.kind, copy_row.role, copy_row.recipients, copy_row.escalated_from) == (
        "role",
        "er-charge-nurse",
        (org.uid("nina"),),
        event_id,
    )
    assert (await org.tick(minutes=2)).urgent.alerted == [copies[0]["event_id"]]

    rows = await exported(org, room_id, "channel-role")
    assert urgent_steps(rows, event_id) == [
        "m.room.message:alert",
        "m.room.message:escalated",
        f"{URGENT_RECORD_TYPE}:escalated",
    ]
    (record,) = [
        r["content"] for r in rows if r["type"] == URGENT_RECORD_TYPE and r["content"]["event_id"] == event_id
    ]
    assert (record["target"], record["to"]) == ("role:er-charge-nurse", [org.uid("nina")])
    # Nina reads the copy: its timers stop (read in the role room by receipt).
    read = await org.clients["nina"].room_read_markers(
        role_room.room_id, copies[0]["event_id"], copies[0]["event_id"]
    )
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=10)).urgent.read == [copies[0]["event_id"]]


async def highlighted(org: RolesOrg, who: str) -> set[str]:
    """The event ids Synapse's push rules notified `who` of as a mention (highlight, with
    sound on phones): GET /notifications?only=highlight."""
    path = "/_matrix/client/v3/notifications?limit=100&only=highlight"
    status, data = await client_api(org.clients[who], "GET", path)
    assert status == 200, data
    return {n["event"]["event_id"] for n in data["notifications"]}


async def test_urgent_in_a_channel_mentioning_nobody_alerts_everyone_in_it_until_one_reads(
    org: RolesOrg,
) -> None:
    room_id, event_id = await urgent_in_channel(org, "ward-round", "fire door on level 2 is open", [])
    everyone = tuple(sorted(org.uid(p) for p in ("nina", "omar", "pat", "ray")))  # all but Dr. Lee
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and (row.kind, row.recipients) == ("channel_all", everyone)
    assert (await org.tick(minutes=2)).urgent.alerted == [event_id]
    (alert,) = alerts(await messages(org, "omar", room_id), event_id)
    assert alert["content"]["body"] == (
        "URGENT message from Dr. Lee is still unread after 2 min: everyone in Ward round, please read it."
    )
    assert alert["content"]["m.mentions"] == {"user_ids": list(everyone)}
    # Synapse's push rules notify every member of the channel as mentioned, not the sender.
    for who in ("nina", "omar", "pat", "ray"):
        assert alert["event_id"] in await highlighted(org, who), who
    assert alert["event_id"] not in await highlighted(org, "lee")

    read = await org.clients["omar"].room_read_markers(room_id, event_id, event_id)
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=20)).urgent.read == [event_id]  # one reader is enough
    for _ in range(3):
        later = await org.tick(minutes=1)
        assert event_id not in later.urgent.alerted + later.urgent.escalated
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and (row.read_by, row.escalated_ts) == (org.uid("omar"), None)
    rows = await exported(org, room_id, "channel-all-read")
    assert urgent_steps(rows, event_id) == ["m.room.message:alert", f"{URGENT_RECORD_TYPE}:read"]


async def test_unread_urgent_to_a_whole_channel_escalates_and_names_the_channel(org: RolesOrg) -> None:
    room_id, event_id = await urgent_in_channel(org, "icu-nursing", "who has the crash trolley keys", [])
    assert (await org.tick(minutes=2)).urgent.alerted == [event_id]
    assert (await org.tick(minutes=1)).urgent.escalated == [event_id]
    told = [m["content"]["body"] for m in await messages(org, "lee", room_id)]
    assert "Not read by anyone in ICU nursing after 3 min; sent to Ray Pharmacist." in told
    copy_room = await org.bridge.roles.store.room_for(org.uid("ray"), org.uid("lee"))
    assert copy_room is not None
    (copy,) = [
        m for m in await messages(org, "ray", copy_room.room_id) if "crash trolley" in m["content"]["body"]
    ]
    assert copy["content"]["body"] == (
        "URGENT from Dr. Lee (escalated: not read by anyone in ICU nursing after 3 min):\n"
        "who has the crash trolley keys"
    )
    read = await org.clients["ray"].room_read_markers(copy_room.room_id, copy["event_id"], copy["event_id"])
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=10)).urgent.read == [copy["event_id"]]


async def test_urgent_to_a_whole_channel_where_everyone_is_away_goes_on_at_once(org: RolesOrg) -> None:
    service = org.bridge.roles.service()
    for nurse in ("nina", "omar"):
        await service.set_away(org.uid(nurse), True, None, None)
    try:
        room_id, event_id = await urgent_in_channel(
            org, "icu-nursing", "bed 3 family asking for you", [], track=False
        )

        async def told() -> list[str] | None:
            bodies = [m["content"]["body"] for m in await messages(org, "lee", room_id)]
            return [b for b in bodies if b.startswith("Nobody in ICU nursing")] or None

        (notice,) = await eventually(told, what="the sender told nobody can be alerted")
        assert notice == (
            "Nobody in ICU nursing can be alerted now (everyone is away). "
            "Your urgent message was sent to Ray Pharmacist."
        )
        row = await org.bridge.roles.urgent.get(event_id)
        assert row is None  # nobody in the channel to alert: no timers there
        steps = await archived_steps(org, room_id, event_id, 1)
        assert steps == [f"{URGENT_RECORD_TYPE}:forwarded"]
        copy_room = await org.bridge.roles.store.room_for(org.uid("ray"), org.uid("lee"))
        assert copy_room is not None
        (copy,) = [
            m for m in await messages(org, "ray", copy_room.room_id) if "bed 3 family" in m["content"]["body"]
        ]
        read = await org.clients["ray"].room_read_markers(
            copy_room.room_id, copy["event_id"], copy["event_id"]
        )
        assert isinstance(read, RoomReadMarkersResponse), read
        assert (await org.tick(seconds=10)).urgent.read == [copy["event_id"]]
    finally:
        for nurse in ("nina", "omar"):
            await service.set_away(org.uid(nurse), False, None, None)


async def test_escalation_to_a_named_person_who_is_away_goes_to_their_forward_to(org: RolesOrg) -> None:
    service = org.bridge.roles.service()
    await service.set_away(org.uid("ray"), True, org.uid("sam"), None)
    try:
        room_id, event_id = await urgent_in_channel(org, "icu-nursing", "ventilator alarm bed 5", ["omar"])
        await org.tick(minutes=2)
        assert (await org.tick(minutes=1)).urgent.escalated == [event_id]
        told = [m["content"]["body"] for m in await messages(org, "lee", room_id)]
        assert "Not read by Omar Nurse after 3 min; sent to Sam Supervisor (Ray Pharmacist is away)." in told
        copy_room = await org.bridge.roles.store.room_for(org.uid("sam"), org.uid("lee"))
        assert copy_room is not None
        copies = [
            m for m in await messages(org, "sam", copy_room.room_id) if "ventilator" in m["content"]["body"]
        ]
        assert len(copies) == 1
        events = [e.event for e in await org.stack.archived(room_id)]
        (record,) = [
            e["content"]
            for e in events
            if e["type"] == URGENT_RECORD_TYPE and e["content"]["event_id"] == event_id
        ]
        assert (record["step"], record["target"], record["away"]) == (
            "escalated",
            org.uid("sam"),
            org.uid("ray"),
        )
        read = await org.clients["sam"].room_read_markers(
            copy_room.room_id, copies[0]["event_id"], copies[0]["event_id"]
        )
        assert isinstance(read, RoomReadMarkersResponse), read
        assert (await org.tick(seconds=10)).urgent.read == [copies[0]["event_id"]]
    finally:
        await service.set_away(org.uid("ray"), False, None, None)


async def test_report_says_whom_each_channel_message_was_for(org: RolesOrg) -> None:
    code, out, err = await carebridge(
        org.stack, "report", "urgent", "--date", "2030-01-07", "--format", "json"
    )
    assert code == 0, out + err
    rows = json.loads(out)["rows"]
    originals = [
        (r["To"], r["Recipients"], r["Read by"], r["Escalated to"], r["Escalated after"])
        for r in rows
        if "forwarded copy" not in r["To"]
    ]
    everyone = "Nina Nurse, Omar Nurse, Pat Pharmacist, Ray Pharmacist"
    assert originals == [
        ("channel (mentioned)", "Nina Nurse", "Nina Nurse", "", ""),
        ("channel (mentioned)", "Omar Nurse", "", "Ray Pharmacist", "3m 00s"),
        ("channel (mentioned)", "Pat Pharmacist", "", "Nina Nurse", "4m 00s"),
        ("channel (everyone)", everyone, "Omar Nurse", "", ""),
        ("channel (everyone)", "Nina Nurse, Omar Nurse", "", "Ray Pharmacist", "3m 00s"),
        ("channel (mentioned)", "Omar Nurse", "", "Sam Supervisor", "3m 00s"),
    ]
    copies = [(r["To"], r["Recipients"], r["Read by"]) for r in rows if "forwarded copy" in r["To"]]
    assert copies == [
        ("direct message (forwarded copy)", "Ray Pharmacist", "Ray Pharmacist"),
        ("role er-charge-nurse (forwarded copy)", "Nina Nurse", "Nina Nurse"),
        ("direct message (forwarded copy)", "Ray Pharmacist", "Ray Pharmacist"),
        ("direct message (forwarded copy)", "Ray Pharmacist", "Ray Pharmacist"),
        ("direct message (forwarded copy)", "Sam Supervisor", "Sam Supervisor"),
    ]
