"""`!calls` in the administrators' room and `carebridge report calls` say the same thing."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from datetime import UTC, datetime
from urllib.parse import quote

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from bridge.staff.calls.model import Outcome
from tests.compliance_helpers import admin_room_id, register
from tests.e2e.test_calls import _call_record
from tests.e2e.test_compliance_bot import ask, cli
from tests.harness.stack import Stack
from tests.staff_helpers import eventually

SDP = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"


async def test_calls_command_and_cli_report(stack: Stack) -> None:
    admin_id, admin_pw = await stack.create_user()
    alice_id, alice_pw = await stack.create_user()
    bob_id, bob_pw = await stack.create_user()
    await register(stack, [(admin_id, "admin", None), (alice_id, "staff", None)], {})
    room = await admin_room_id(stack)
    await stack.admin("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite", {"user_id": admin_id})
    admin = await stack.login(admin_id, admin_pw)
    alice = await stack.login(alice_id, alice_pw)
    bob = await stack.login(bob_id, bob_pw)
    try:
        assert isinstance(await admin.join(room), JoinResponse)
        dm = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(dm, RoomCreateResponse), dm
        assert isinstance(await bob.join(dm.room_id), JoinResponse)
        call_id = f"report-{secrets.token_hex(4)}"
        base = {"call_id": call_id, "version": "1"}
        for client, etype, extra in (
            (
                alice,
                "m.call.invite",
                {"party_id": "a", "lifetime": 60000, "offer": {"type": "offer", "sdp": SDP}},
            ),
            (bob, "m.call.answer", {"party_id": "b", "answer": {"type": "answer", "sdp": SDP}}),
            (bob, "m.call.hangup", {"party_id": "b", "reason": "user_hangup"}),
        ):
            sent = await client.room_send(dm.room_id, etype, {**base, **extra})
            assert isinstance(sent, RoomSendResponse), sent

        async def ended() -> bool:
            record = await _call_record(stack, dm.room_id, call_id)
            return record is not None and record.hangup_ts is not None and record.outcome is Outcome.ANSWERED

        await eventually(ended, what="the call in the log")
        today = datetime.now(UTC).date().isoformat()

        answer = await ask(stack, admin, room, "!calls")
        body = answer[0]["content"]["body"]
        assert f"Calls on {today}" in body and alice_id in body and bob_id in body and "answered" in body
        assert "<table>" in answer[0]["content"]["formatted_body"]
        mine = await ask(stack, admin, room, f"!calls {today} {bob_id}")
        assert call_id not in mine[0]["content"]["body"] and dm.room_id in mine[0]["content"]["body"]

        refused = await ask(stack, alice, await _dm_with_bot(stack, alice), "!calls")
        assert "for administrators only" in refused[0]["content"]["body"]

        out = await cli(stack, "calls", "--date", today, "--user", bob_id, "--format", "csv")
        rows = [r for r in csv.DictReader(io.StringIO(out)) if r["room"] == dm.room_id]
        assert len(rows) == 1
        row = rows[0]
        assert (row["caller"], row["callee"], row["kind"], row["outcome"]) == (
            alice_id,
            bob_id,
            "video",
            "answered",
        )
        assert row["ended by"] == bob_id and row["reason"] == "user_hangup"
    finally:
        await asyncio.gather(admin.close(), alice.close(), bob.close())


async def _dm_with_bot(stack: Stack, client: AsyncClient) -> str:
    bot = stack.s.bot_user_id
    dm = await client.room_create(is_direct=True, invite=[bot])
    assert isinstance(dm, RoomCreateResponse), dm

    async def joined() -> bool:
        members = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{quote(dm.room_id)}/members")
        return bot in members["members"]

    await eventually(joined, what="the bot in the DM")
    return dm.room_id
