"""History and media that Synapse lost (the admin API's purge and media delete are refused
by the module; here rows are deleted from Synapse's database directly, as someone with the
server's files could) are found by `carebridge archive verify --against-synapse` and by
`!verify`, and the administrators' room is alerted. Runs on its own stack: the loss would
alarm other tests."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import JoinResponse, RoomCreateResponse, RoomSendResponse, UploadResponse

from tests.archive_helpers import cli, png, wait_media
from tests.compliance_helpers import admin_room_id, register, wait_for
from tests.e2e.test_compliance_bot import ask
from tests.harness.stack import Stack, running_stack
from tests.synapse_db import forget_events, forget_media


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path) as running:
        yield running


async def _verify(stack: Stack) -> tuple[int, dict[str, Any]]:
    code, out, err = await cli(
        "archive", "verify", "--against-synapse", "--format", "json", "-c", str(stack.config_path)
    )
    assert code in (0, 1), out + err
    return code, json.loads(out)


async def _alerts(stack: Stack, room: str) -> list[str]:
    return await stack.bot_notices(room, "ALERT: Synapse no longer holds")


async def test_purged_history_and_deleted_media_are_reported_and_alerted(own_stack: Stack) -> None:
    stack = own_stack
    admin_id, admin_pw = await stack.create_user()
    user_id, password = await stack.create_user()
    await register(stack, [(admin_id, "admin", None)], {})
    admin_room = await admin_room_id(stack)
    await stack.admin("POST", f"/_matrix/client/v3/rooms/{quote(admin_room)}/invite", {"user_id": admin_id})
    admin, client = await asyncio.gather(stack.login(admin_id, admin_pw), stack.login(user_id, password))
    try:
        joined = await admin.join(admin_room)
        assert isinstance(joined, JoinResponse), joined
        room = await client.room_create(is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        sent = []
        for i in range(3):
            resp = await client.room_send(
                room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"obs {i}"}
            )
            assert isinstance(resp, RoomSendResponse), resp
            sent.append(resp.event_id)
        data = png()
        upload, _ = await client.upload(io.BytesIO(data), content_type="image/png", filesize=len(data))
        assert isinstance(upload, UploadResponse), upload
        image = await client.room_send(
            room.room_id,
            "m.room.message",
            {"msgtype": "m.image", "body": "wound.png", "url": upload.content_uri},
        )
        assert isinstance(image, RoomSendResponse), image
        await stack.wait_archived([*sent, image.event_id])
        await wait_media(stack, [upload.content_uri])

        code, clean = await _verify(stack)
        assert code == 0 and clean["synapse"]["ok"], clean["synapse"]["findings"]
        assert clean["synapse"]["events_checked"] >= 4 and clean["synapse"]["media_checked"] >= 1

        # Someone with the server's files deletes the first messages and the photo from
        # Synapse's database (the admin API's purge and media delete are refused).
        await forget_events(stack, sent[:2])
        await forget_media(stack, upload.content_uri)

        code, found = await _verify(stack)
        assert code == 1
        findings = found["synapse"]["findings"]
        purged = {f["item"] for f in findings if f["kind"] == "purged"}
        assert {sent[0], sent[1]} <= purged and sent[2] not in purged and image.event_id not in purged
        assert {f["item"] for f in findings if f["kind"] == "media_lost"} == {upload.content_uri}
        assert found["ok"], "the archive itself is intact: it still holds every copy"

        alerts = await wait_for(
            lambda: _alerts(stack, admin_room), bool, what="the alert in the admins' room"
        )
        assert sent[0] in alerts[0] and upload.content_uri in alerts[0]
        assert "obs 0" not in alerts[0] and "wound.png" not in alerts[0], "ids only, never content"

        answer = await ask(stack, admin, admin_room, "!verify")
        body = str(answer[0]["content"]["body"])
        assert body.startswith("ALERT: Synapse no longer holds") and sent[1] in body
        assert "Archive intact" in body
    finally:
        await asyncio.gather(admin.close(), client.close())
