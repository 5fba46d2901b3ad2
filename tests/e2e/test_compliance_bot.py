"""Every bot command answers an administrator and refuses a staff member;
`!report` posts a CSV that parses and equals the CLI's CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse
from sqlalchemy import select

from bridge.db.engine import create_engine
from bridge.db.initial_passwords import InitialPasswords
from bridge.db.tables import bot_commands
from tests.compliance_helpers import admin_room_id, ledger, register, shift_around_now, wait_for
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import Stack

# !logins names the person: on the shared test stack, other tests' sign-ins can fill the
# chat answer's row limit before this one's.
COMMANDS = [
    "!help",
    "!online",
    "!logins {staff}",
    "!missing",
    "!sessions {staff}",
    "!report day",
    "!verify",
    "!passwords",
]


async def replies_to(stack: Stack, room_id: str, event_id: str) -> list[dict[str, Any]]:
    bot = f"@carebridge:{stack.server_name}"
    return [
        e.event
        for e in await stack.archived(room_id)
        if e.event["sender"] == bot
        and e.event["type"] == "m.room.message"
        and e.event["content"].get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id") == event_id
    ]


async def ask(
    stack: Stack, client: AsyncClient, room_id: str, text: str, expect: int = 1
) -> list[dict[str, Any]]:
    sent = await client.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    assert isinstance(sent, RoomSendResponse), sent
    return await wait_for(
        lambda: replies_to(stack, room_id, sent.event_id),
        lambda r: len(r) >= expect,
        what=f"answer to {text}",
    )


async def download(stack: Stack, token: str, mxc: str) -> bytes:
    server, media_id = mxc.removeprefix("mxc://").split("/", 1)
    url = f"{stack.hs_url}/_matrix/client/v1/media/download/{server}/{media_id}"
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def cli(stack: Stack, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        CAREBRIDGE, "report", *args, "-c", str(stack.config_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_every_command_answers_an_admin_and_refuses_staff(stack: Stack) -> None:
    admin_id, admin_pw = await stack.create_user()
    staff_id, staff_pw = await stack.create_user()
    # The staff member signing in now is "late", and stays so for the whole test.
    shift = shift_around_now()
    await register(
        stack, [(admin_id, "admin", None), (staff_id, "staff", "bot-test-shift")], {"bot-test-shift": shift}
    )
    marks = create_engine(stack.s.database_url)
    try:
        await InitialPasswords(marks).mark([staff_id])
    finally:
        await marks.dispose()
    room = await admin_room_id(stack)
    await stack.admin("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite", {"user_id": admin_id})
    admin = await stack.login(admin_id, admin_pw)
    staff = await stack.login(staff_id, staff_pw)
    try:
        joined = await admin.join(room)
        assert isinstance(joined, JoinResponse), joined
        await wait_for(lambda: ledger(stack, staff_id), lambda r: len(r[0]) == 1, what="staff login")
        today = datetime.now(UTC).date().isoformat()

        answers: dict[str, list[dict[str, Any]]] = {}
        for template in COMMANDS:
            command = template.format(staff=staff_id)
            answers[command] = await ask(stack, admin, room, command, expect=2 if "report" in command else 1)
        text = {c: "\n".join(str(e["content"].get("body")) for e in a) for c, a in answers.items()}
        assert "!sessions @user [DAYS]" in text["!help"] and "!verify" in text["!help"]
        assert staff_id in text["!online"] and admin_id in text["!online"]
        logins = text[f"!logins {staff_id}"]
        assert staff_id in logins and "ok" in logins
        assert f"Missing on {today}" in text["!missing"] and staff_id not in text["!missing"]
        assert staff.device_id in text[f"!sessions {staff_id}"]
        assert text["!verify"].startswith("Archive intact") and "published chain head" in text["!verify"]
        assert staff_id in text["!passwords"] and admin_id not in text["!passwords"]
        for answer in answers.values():
            notice = answer[0]["content"]
            assert notice["msgtype"] == "m.notice"
        html = answers["!online"][0]["content"]["formatted_body"]
        assert "<table>" in html and staff_id in html

        report = answers["!report day"]
        file_event = next(e for e in report if e["content"]["msgtype"] == "m.file")
        assert file_event["content"]["info"]["mimetype"] == "text/csv"
        posted = (await download(stack, admin.access_token, file_event["content"]["url"])).decode()
        rows = list(csv.DictReader(io.StringIO(posted)))
        mine = next(r for r in rows if r["user"] == staff_id)
        assert (mine["status"], mine["schedule"], mine["date"]) == ("late", "bot-test-shift", today)
        assert posted == await cli(stack, "day", "--date", today, "--format", "csv")

        # A staff member in a direct chat with the bot is refused, politely, every time.
        bot = f"@carebridge:{stack.server_name}"
        dm = await staff.room_create(is_direct=True, invite=[bot])
        assert isinstance(dm, RoomCreateResponse), dm

        async def bot_joined() -> bool:
            members = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{quote(dm.room_id)}/members")
            return bot in members["members"]

        await wait_for(bot_joined, bool, what="bot joins the DM")
        for template in COMMANDS:
            command = template.format(staff=staff_id)
            refusal = await ask(stack, staff, dm.room_id, command)
            assert "for administrators only" in refusal[0]["content"]["body"]
            assert all(e["content"]["msgtype"] != "m.file" for e in refusal)

        engine = create_engine(stack.s.database_url)
        try:
            async with engine.connect() as conn:
                refused = (
                    await conn.execute(select(bot_commands).where(bot_commands.c.sender == staff_id))
                ).all()
        finally:
            await engine.dispose()
        assert len(refused) == len(COMMANDS) and not any(r.allowed for r in refused)
        assert all(r.answered_ts for r in refused)

        async def refusal_notices() -> list[str]:
            bodies = [str(e.event["content"].get("body")) for e in await stack.archived(room)]
            return [b for b in bodies if b.startswith("Refused !") and staff_id in b]

        await wait_for(refusal_notices, lambda n: len(n) == len(COMMANDS), what="refusals announced")
    finally:
        await admin.close()
        await staff.close()
