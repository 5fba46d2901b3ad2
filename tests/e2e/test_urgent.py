"""Urgent messages against a real Synapse, the bridge on a manual clock, nio clients:
repeat alerts until a read receipt, then nothing more (no escalation once read); unread,
escalation to the role's backup after the configured time with the sender told; an urgent
message to someone away goes to their forward-to; every step is in the archive and in
`carebridge export`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from nio import JoinResponse, RoomCreateResponse, RoomReadMarkersResponse, RoomSendResponse

from bridge.service import Bridge
from policy.event_types import AWAY_RECORD_TYPE, FORWARDED_KEY, URGENT_RECORD_TYPE
from tests.harness.provision import carebridge
from tests.harness.roles import RolesOrg, exported, records, roles_org, urgent_steps
from tests.staff_helpers import client_api, eventually, timeline

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RolesOrg]:
    async with roles_org(Path(tmp_path_factory.mktemp("urgent"))) as running:
        await running.tick(minutes=2)  # 07:00: Nina holds the ER charge nurse role
        yield running


async def messages(org: RolesOrg, who: str, room_id: str) -> list[dict[str, object]]:
    return [e for e in await timeline(org.clients[who], room_id) if e["type"] == "m.room.message"]


async def tracked(org: RolesOrg, event_id: str) -> None:
    """Wait until the bridge's consumer has started the message's timers."""

    async def found() -> bool:
        return await org.bridge.roles.urgent.get(event_id) is not None

    await eventually(found, what="the urgent message tracked")


async def urgent_to_role(org: RolesOrg, body: str, field: bool = True) -> tuple[str, str]:
    room_id = await org.bridge.roles.service().open_room("er-charge-nurse", org.uid("lee"))
    content: dict[str, object] = {"msgtype": "m.text", "body": body}
    if field:
        content["org.carebridge.urgent"] = True
    sent = await org.clients["lee"].room_send(room_id, "m.room.message", content)
    assert isinstance(sent, RoomSendResponse), sent
    await tracked(org, sent.event_id)
    return room_id, sent.event_id


def alerts_for(events: list[dict[str, object]], event_id: str) -> list[dict[str, object]]:
    return [
        e
        for e in events
        if (e["content"].get(URGENT_RECORD_TYPE) or {}).get("event_id") == event_id  # type: ignore[union-attr]
        and (e["content"].get(URGENT_RECORD_TYPE) or {}).get("step") == "alert"  # type: ignore[union-attr]
    ]


async def test_urgent_message_alerts_again_until_read_then_stops_and_never_escalates(org: RolesOrg) -> None:
    room_id, event_id = await urgent_to_role(org, "patient in bay 2 is deteriorating")
    assert (await org.tick(minutes=1, seconds=59)).urgent.alerted == []
    assert (await org.tick(seconds=1)).urgent.alerted == [event_id]  # 2 minutes: first repeat
    assert (await org.tick(minutes=2)).urgent.alerted == [event_id]  # 4 minutes: second
    alerts = alerts_for(await messages(org, "nina", room_id), event_id)
    assert len(alerts) == 2
    assert alerts[0]["content"]["m.mentions"] == {"user_ids": [org.uid("nina")]}  # type: ignore[index]
    assert "still unread after 2 min: Nina Nurse, please read it" in alerts[0]["content"]["body"]  # type: ignore[index]
    # Each alert rings on every client: Synapse's push rules notify Nina as mentioned
    # (highlight). A bot m.notice would not: `.m.rule.suppress_notices` comes first.
    status, data = await client_api(
        org.clients["nina"], "GET", "/_matrix/client/v3/notifications?limit=100&only=highlight"
    )
    assert status == 200, data
    rung = {n["event"]["event_id"] for n in data["notifications"]}
    assert {str(a["event_id"]) for a in alerts} <= rung

    read = await org.clients["nina"].room_read_markers(room_id, event_id, event_id)
    assert isinstance(read, RoomReadMarkersResponse), read
    done = await org.tick(seconds=30)
    assert done.urgent.read == [event_id]
    for _ in range(3):  # well past the 5-minute escalation time: nothing more
        later = await org.tick(minutes=2)
        assert event_id not in later.urgent.alerted + later.urgent.escalated
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and row.read_by == org.uid("nina") and row.escalated_ts is None and row.alerts == 2

    async def read_record() -> list[dict[str, object]] | None:
        found = [
            r
            for r in records(await org.stack.archived(room_id), URGENT_RECORD_TYPE)
            if r["event_id"] == event_id
        ]
        return found or None

    (record,) = await eventually(read_record, what="the read record in the archive")
    assert (record["step"], record["read_by"], record["alerts"]) == ("read", org.uid("nina"), 2)
    assert record["time_to_read_ms"] == 4 * 60_000 + 30_000
    rows = await exported(org, room_id, "read")
    assert urgent_steps(rows, event_id) == [
        "m.room.message:alert",
        "m.room.message:alert",
        f"{URGENT_RECORD_TYPE}:read",
    ]


async def test_unread_urgent_message_escalates_to_the_backup_and_the_sender_is_told(org: RolesOrg) -> None:
    room_id, event_id = await urgent_to_role(org, "!urgent need a second nurse in resus", field=False)
    await org.tick(minutes=2)
    await org.tick(minutes=2)
    escalated = await org.tick(minutes=1)  # 5 minutes unread
    assert escalated.urgent.escalated == [event_id]
    told = [m["content"]["body"] for m in await messages(org, "lee", room_id)]  # type: ignore[index]
    assert "Not read by Nina Nurse after 5 min; sent to House supervisor (Sam Supervisor)." in told
    backup = await org.bridge.roles.store.room_for("role:house-supervisor", org.uid("lee"))
    assert backup is not None
    copy = [m for m in await messages(org, "sam", backup.room_id) if "second nurse" in str(m["content"])]
    assert copy[0]["content"]["body"] == (  # type: ignore[index]
        "URGENT from Dr. Lee (escalated: not read by Nina Nurse after 5 min):\nneed a second nurse in resus"
    )
    assert copy[0]["content"]["org.carebridge.urgent"] is True  # type: ignore[index]
    # The copy is urgent in its own right: its own repeat alerts go to the supervisor.
    assert (await org.tick(minutes=2)).urgent.alerted == [copy[0]["event_id"]]
    assert event_id not in (await org.tick(minutes=2)).urgent.alerted

    folder = org.stack.root / "export-escalation"
    code, out, err = await carebridge(org.stack, "export", "--room", room_id, "--out", str(folder))
    assert code == 0, out + err
    exported = [json.loads(line) for line in (folder / "messages.jsonl").read_text().splitlines()]
    mine = [r for r in exported if r["event_id"] == event_id]
    assert mine[0]["body"] == "!urgent need a second nurse in resus"
    steps = [(r["content"] or {}).get(URGENT_RECORD_TYPE, r["content"]) for r in exported if r.get("content")]
    kinds = [s.get("step") for s in steps if isinstance(s, dict) and s.get("event_id") == event_id]
    assert kinds.count("alert") == 2 and "escalated" in kinds, kinds


async def test_urgent_message_to_someone_away_goes_to_their_forward_to(org: RolesOrg) -> None:
    lee, pat = org.clients["lee"], org.clients["pat"]
    created = await lee.room_create(is_direct=True, invite=[org.uid("pat")])
    assert isinstance(created, RoomCreateResponse), created
    joined = await pat.join(created.room_id)
    assert isinstance(joined, JoinResponse), joined
    text = await org.bridge.roles.service().set_away(org.uid("pat"), True, org.uid("ray"), None)
    assert text == "Do not disturb is on; urgent messages go to Ray Pharmacist."
    sent = await lee.room_send(
        created.room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "can you check the heparin dose", "org.carebridge.urgent": True},
    )
    assert isinstance(sent, RoomSendResponse), sent

    async def notice() -> list[str] | None:
        found = [
            str(m["content"]["body"])
            for m in await messages(org, "lee", created.room_id)
            if "away" in str(m["content"].get("body"))
        ]  # type: ignore[union-attr]
        return found or None

    (told,) = await eventually(notice, what="the sender told that Pat is away")
    assert told == "Pat Pharmacist is away (do not disturb). Your urgent message was sent to Ray Pharmacist."
    forwarded = await org.bridge.roles.store.room_for(org.uid("ray"), org.uid("lee"))
    assert forwarded is not None
    copy = [m for m in await messages(org, "ray", forwarded.room_id) if "heparin" in str(m["content"])]
    assert len(copy) == 1 and copy[0]["content"]["org.carebridge.urgent"] is True  # type: ignore[index]
    # Pat is not alerted again: nothing for her is tracked.
    assert await org.bridge.roles.urgent.get(sent.event_id) is None
    step = [r for r in records(await org.stack.archived(created.room_id), URGENT_RECORD_TYPE)]
    assert step and step[0]["step"] == "forwarded" and step[0]["away"] == org.uid("pat")
    await org.bridge.roles.service().set_away(org.uid("pat"), False, None, None)
    # Recorded: do not disturb on and off in the administrators' room; the forwarding in
    # the conversation (the step, and the notice saying where the message went); all of it
    # in `carebridge export`.
    admin_room = str(org.bridge.admin_room_id)

    async def away_records() -> list[tuple[object, object, object]] | None:
        found = [
            (r["away"], r["forward_to"], r["at_ts"] is not None)
            for r in records(await org.stack.archived(admin_room), AWAY_RECORD_TYPE)
            if r["user_id"] == org.uid("pat")
        ]
        return found if len(found) == 2 else None

    assert await eventually(away_records, what="DND on and off archived") == [
        (True, org.uid("ray"), True),
        (False, None, True),
    ]
    exported_admin = await exported(org, admin_room, "away-admins")
    assert [r["content"]["away"] for r in exported_admin if r["type"] == AWAY_RECORD_TYPE] == [True, False]
    rows = await exported(org, created.room_id, "away")
    assert urgent_steps(rows, sent.event_id) == [f"{URGENT_RECORD_TYPE}:forwarded"]
    (routed,) = [r["content"][FORWARDED_KEY] for r in rows if FORWARDED_KEY in (r.get("content") or {})]
    assert (routed["reason"], routed["to"], routed["copy_event_id"]) == (
        "away",
        [org.uid("ray")],
        copy[0]["event_id"],
    )
    read = await org.clients["ray"].room_read_markers(
        forwarded.room_id, copy[0]["event_id"], copy[0]["event_id"]
    )
    assert isinstance(read, RoomReadMarkersResponse), read
    assert (await org.tick(seconds=10)).urgent.read == [copy[0]["event_id"]]


async def test_report_lists_every_urgent_message_with_time_to_read_and_escalations(org: RolesOrg) -> None:
    code, out, err = await carebridge(
        org.stack, "report", "urgent", "--date", "2030-01-07", "--format", "json"
    )
    assert code == 0, out + err
    rows = json.loads(out)["rows"]
    read = [r for r in rows if r["Read by"] == "Nina Nurse"]
    assert [(r["Time to read"], r["Alerts"], r["Escalated to"]) for r in read] == [("4m 30s", "2", "")]
    escalated = [r for r in rows if r["Escalated to"]]
    assert next((r["To"], r["Time to read"], r["Escalated to"], r["Escalated after"]) for r in escalated) == (
        "role er-charge-nurse",
        "unread",
        "Sam Supervisor",
        "5m 00s",
    )
    copies = [r for r in rows if r["To"] == "role house-supervisor (forwarded copy)"]
    assert copies and copies[0]["Recipients"] == "Sam Supervisor"


async def test_timers_survive_a_bridge_restart(org: RolesOrg) -> None:
    _, event_id = await urgent_to_role(org, "restart check: please call pharmacy")
    assert event_id in (await org.tick(minutes=2)).urgent.alerted
    await org.bridge.stop()
    org.bridge = Bridge.from_settings(org.stack.s, clock=org.clock)
    await org.bridge.start()
    assert event_id in (await org.tick(minutes=2)).urgent.alerted  # the second alert, not a first
    row = await org.bridge.roles.urgent.get(event_id)
    assert row is not None and row.alerts == 2
    assert event_id in (await org.tick(minutes=1)).urgent.escalated  # 5 minutes after sending


async def test_urgent_message_to_a_role_whose_holder_is_away_reaches_the_forward_to_then_the_backup(
    org: RolesOrg,
) -> None:
    """Nina holds the role but set do not disturb, forwarding to Omar: the message goes to
    Omar at once (the sender told), and unread it escalates to the role's backup."""
    service = org.bridge.roles.service()
    await service.set_away(org.uid("nina"), True, org.uid("omar"), None)
    try:
        room_id = await service.open_room("er-charge-nurse", org.uid("lee"))
        sent = await org.clients["lee"].room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": "second opinion on the bay 6 ECG", "org.carebridge.urgent": True},
        )
        assert isinstance(sent, RoomSendResponse), sent

        async def told() -> list[str] | None:
            bodies = [str(m["content"]["body"]) for m in await messages(org, "lee", room_id)]  # type: ignore[index]
            return [b for b in bodies if "Nina Nurse is away" in b] or None

        (notice,) = await eventually(told, what="the sender told Nina is away")
        assert notice == "ER charge nurse; Nina Nurse is away. Your message was sent to Omar Nurse."
        copy_room = await org.bridge.roles.store.room_for(org.uid("omar"), org.uid("lee"))
        assert copy_room is not None
        (copy,) = [m for m in await messages(org, "omar", copy_room.room_id) if "bay 6" in str(m["content"])]
        row = await org.bridge.roles.urgent.get(str(copy["event_id"]))
        assert row is not None and (row.kind, row.role, row.recipients) == (
            "role",
            "er-charge-nurse",
            (org.uid("omar"),),
        )
        assert await org.bridge.roles.urgent.get(sent.event_id) is None  # Nina is not alerted
        # (The supervisor's copy from the restart test above is still alerting: look at ours.)
        assert copy["event_id"] in (await org.tick(minutes=2)).urgent.alerted
        assert copy["event_id"] in (await org.tick(minutes=2)).urgent.alerted
        assert copy["event_id"] in (await org.tick(minutes=1)).urgent.escalated
        in_copy_room = [str(m["content"]["body"]) for m in await messages(org, "lee", copy_room.room_id)]  # type: ignore[index]
        assert (
            "Not read by Omar Nurse after 5 min; sent to House supervisor (Sam Supervisor)." in in_copy_room
        )
        rows = await exported(org, copy_room.room_id, "role-away")
        assert urgent_steps(rows, str(copy["event_id"])) == [
            "m.room.message:alert",
            "m.room.message:alert",
            "m.room.message:escalated",
            f"{URGENT_RECORD_TYPE}:escalated",
        ]
    finally:
        await service.set_away(org.uid("nina"), False, None, None)


async def test_unread_urgent_direct_message_goes_to_the_organisations_escalate_to(org: RolesOrg) -> None:
    """A direct message has no role and no channel: policy.urgent decides (5 minutes, to
    role:house-supervisor in this org file)."""
    lee, omar = org.clients["lee"], org.clients["omar"]
    created = await lee.room_create(is_direct=True, invite=[org.uid("omar")])
    assert isinstance(created, RoomCreateResponse), created
    joined = await omar.join(created.room_id)
    assert isinstance(joined, JoinResponse), joined
    sent = await lee.room_send(
        created.room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "!urgent porter needed for bed 8 now"},
    )
    assert isinstance(sent, RoomSendResponse), sent
    await tracked(org, sent.event_id)
    row = await org.bridge.roles.urgent.get(sent.event_id)
    assert row is not None
    assert (row.kind, row.recipients, row.escalate_to) == ("dm", (org.uid("omar"),), "role:house-supervisor")
    # (Copies from the tests above may still be alerting: look at this message only.)
    assert sent.event_id in (await org.tick(minutes=2)).urgent.alerted
    assert sent.event_id in (await org.tick(minutes=2)).urgent.alerted
    assert sent.event_id not in (await org.tick(seconds=59)).urgent.escalated
    assert sent.event_id in (await org.tick(seconds=1)).urgent.escalated
    told = [str(m["content"]["body"]) for m in await messages(org, "lee", created.room_id)]  # type: ignore[index]
    assert "Not read by Omar Nurse after 5 min; sent to House supervisor (Sam Supervisor)." in told
    rows = await exported(org, created.room_id, "dm-escalated")
    assert urgent_steps(rows, sent.event_id) == [
        "m.room.message:alert",
        "m.room.message:alert",
        "m.room.message:escalated",
        f"{URGENT_RECORD_TYPE}:escalated",
    ]


async def test_unread_urgent_message_to_a_role_goes_to_its_named_backup_person(org: RolesOrg) -> None:
    """Wound care nurse (assigned to Omar by hand, backup: user:ray, 3 minutes)."""
    store, now = org.bridge.roles.store, org.bridge.roles.desk.now_ms()  # type: ignore[union-attr]
    await store.assign("wound-care-nurse", org.uid("omar"), now, now + 3_600_000, "assigned", "test")
    assert (await org.tick(seconds=1)).handovers.changed["wound-care-nurse"] == ((), (org.uid("omar"),))
    room_id = await org.bridge.roles.service().open_room("wound-care-nurse", org.uid("lee"))
    sent = await org.clients["lee"].room_send(
        room_id,
        "m.room.message",
        {"msgtype": "m.text", "body": "dressing on bed 2 soaked through", "org.carebridge.urgent": True},
    )
    assert isinstance(sent, RoomSendResponse), sent
    await tracked(org, sent.event_id)
    assert sent.event_id in (await org.tick(minutes=2)).urgent.alerted
    assert sent.event_id in (await org.tick(minutes=1)).urgent.escalated  # the role's own 3 minutes
    told = [str(m["content"]["body"]) for m in await messages(org, "lee", room_id)]  # type: ignore[index]
    assert "Not read by Omar Nurse after 3 min; sent to Ray Pharmacist." in told
    copy_room = await store.room_for(org.uid("ray"), org.uid("lee"))
    assert copy_room is not None
    copies = [m for m in await messages(org, "ray", copy_room.room_id) if "bed 2 soaked" in str(m["content"])]
    assert len(copies) == 1
    rows = await exported(org, room_id, "named-backup")
    (record,) = [r["content"] for r in rows if r["type"] == URGENT_RECORD_TYPE]
    assert (record["step"], record["target"], record["to"]) == ("escalated", org.uid("ray"), [org.uid("ray")])
