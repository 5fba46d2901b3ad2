"""History purged and media deleted through Synapse's admin API (no module hook can refuse
them) are found by `carebridge archive verify --against-synapse` and by `!verify`, and the
administrators' room is alerted. Runs on its own stack: the purge would alarm other tests."""

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
    return [
        str(e.event["content"].get("body"))
        for e in await stack.archived(room)
        if e.event["sender"] == stack.s.bot_user_id
        and e.event["type"] == "m.room.message"
        and str(e.event["content"].get("body", "")).startswith("ALERT: Synapse no longer holds")
    ]


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

        # An operator with the admin API purges the first messages and deletes the photo.
        await stack.wait_background_updates()
        purge = await stack.admin(
            "POST",
            f"/_synapse/admin/v1/purge_history/{quote(room.room_id)}",
            {"delete_local_events": True, "purge_up_to_event_id": sent[2]},
        )

        async def purge_done() -> bool:
            status = await stack.admin("GET", f"/_synapse/admin/v1/purge_history_status/{purge['purge_id']}")
            assert status["status"] != "failed", status
            return bool(status["status"] == "complete")

        await wait_for(purge_done, bool, what="the purge")
        server, media_id = upload.content_uri.removeprefix("mxc://").split("/", 1)
        await stack.admin("DELETE", f"/_synapse/admin/v1/media/{server}/{media_id}")

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
