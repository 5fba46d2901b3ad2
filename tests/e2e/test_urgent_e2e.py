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
from policy.event_types import URGENT_RECORD_TYPE
from tests.harness.provision import carebridge
from tests.harness.roles import RolesOrg, records, roles_org
from tests.staff_helpers import eventually, timeline

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
