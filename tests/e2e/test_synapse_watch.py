"""The bridge compares the archive with Synapse by itself, through a real Synapse: when an
archived event disappears from Synapse (its rows deleted from Synapse's database: the
admin API's purge is refused), the pass at the bridge's start alerts the administrators'
room, naming ids only; a loss already reported is not reported again. (The hourly
schedule is tested with a fake clock: tests/db/test_synapse_watch_db.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nio import RoomCreateResponse, RoomSendResponse

from tests.compliance_helpers import admin_room_id, wait_for
from tests.harness.stack import Stack, running_stack
from tests.synapse_db import forget_events


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


async def alerts(stack: Stack, room: str) -> list[str]:
    return await stack.bot_notices(room, "ALERT: Synapse no longer holds")


async def test_an_event_synapse_lost_is_alerted_by_the_bridge_itself(own_stack: Stack) -> None:
    stack = own_stack
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        room = await client.room_create(is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        sent = []
        for i in range(3):
            resp = await client.room_send(
                room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"bp {i}"}
            )
            assert isinstance(resp, RoomSendResponse), resp
            sent.append(resp.event_id)
        await stack.wait_archived(sent)
        admins = await admin_room_id(stack)

        stack.stop_bridge()
        await forget_events(stack, [sent[0]])
        stack.start_bridge()
        found = await wait_for(lambda: alerts(stack, admins), bool, timeout=60, what="the alert at start")
        assert len(found) == 1 and sent[0] in found[0] and room.room_id in found[0], found
        assert sent[1] not in found[0] and "bp 0" not in found[0], "only the lost event, ids only"

        stack.stop_bridge()
        await forget_events(stack, [sent[1]])
        stack.start_bridge()
        found = await wait_for(
            lambda: alerts(stack, admins), lambda a: len(a) >= 2, timeout=60, what="alert 2"
        )
        assert sent[1] in found[1] and sent[0] not in found[1], "the first loss is not reported again"
    finally:
        await client.close()
