"""The /createRoom bodies Element X (Android, iOS) and Element Web send for a direct message,
read from their public source (tests/data/create_room/*.json names the files and commits),
sent through the real Synapse + Carebridge module as those apps send them: each is
accepted, the room is the DM the rules make (no end-to-end encryption, invitation-only,
history shared), the account-data write that marks it as a DM goes through, and the
colleague can join and read a message."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import JoinError, RoomSendResponse

from tests.harness.stack import Stack
from tests.staff_helpers import client_api, eventually, timeline

FIXTURES = sorted((Path(__file__).resolve().parents[1] / "data" / "create_room").glob("*.json"))


def filled(value: Any, names: dict[str, str]) -> Any:
    """The fixture with its placeholders (@INVITEE, @CREATOR, !ROOM) replaced, keys too."""
    text = json.dumps(value)
    for placeholder, real in names.items():
        text = text.replace(placeholder, real)
    return json.loads(text)


async def _state(client: Any, room: str, event_type: str, state_key: str = "") -> dict[str, Any] | None:
    path = f"/_matrix/client/v3/rooms/{room}/state/{event_type}/{quote(state_key)}"
    status, body = await client_api(client, "GET", path)
    return body if status == 200 else None


def test_every_app_has_a_fixture() -> None:
    assert {f.stem for f in FIXTURES} >= {
        "element-x-android-dm",
        "element-x-ios-dm",
        "element-web-dm",
        "element-web-dm-encrypted",
    }


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
async def test_the_app_s_dm_request_is_accepted_and_makes_a_carebridge_dm(
    stack: Stack, fixture: Path
) -> None:
    recorded = json.loads(fixture.read_text())
    nurse_id, nurse_pw = await stack.create_user()
    doctor_id, doctor_pw = await stack.create_user()
    nurse, doctor = await asyncio.gather(stack.login(nurse_id, nurse_pw), stack.login(doctor_id, doctor_pw))
    try:
        names = {"@INVITEE": doctor_id, "@CREATOR": nurse_id}
        status, body = await client_api(
            nurse, "POST", "/_matrix/client/v3/createRoom", filled(recorded["body"], names)
        )
        assert status == 200, body
        room = body["room_id"]
        names["!ROOM"] = room
        for step in recorded["after"]:
            path = filled(step["path"], {k: quote(v) for k, v in names.items()})
            status, answer = await client_api(nurse, step["method"], path, filled(step["body"], names))
            assert status == 200, (step, answer)

        assert await _state(nurse, room, "m.room.encryption") is None
        assert await _state(nurse, room, "m.room.join_rules") == {"join_rule": "invite"}
        assert await _state(nurse, room, "m.room.history_visibility") == {"history_visibility": "shared"}
        assert await _state(nurse, room, "m.room.guest_access") == {"guest_access": "forbidden"}
        create = await _state(nurse, room, "m.room.create")
        assert create is not None and create["org.carebridge.kind"] == "dm"
        invite = await _state(nurse, room, "m.room.member", doctor_id)
        assert invite is not None and invite["membership"] == "invite" and invite["is_direct"] is True

        joined = await doctor.join(room)
        assert not isinstance(joined, JoinError), joined
        sent = await nurse.room_send(room, "m.room.message", {"msgtype": "m.text", "body": "Bed 2 is ready"})
        assert isinstance(sent, RoomSendResponse), sent

        async def read_by_doctor() -> bool:
            return any(e["event_id"] == sent.event_id for e in await timeline(doctor, room))

        assert await eventually(read_by_doctor, what="the colleague reads the DM")
        await stack.wait_archived([sent.event_id], timeout=30)
    finally:
        await asyncio.gather(nurse.close(), doctor.close())
