"""Export shows edits, reactions and the image; no plaintext on disk."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import secrets
from pathlib import Path

from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse, UploadResponse

from tests.archive_helpers import cli, png, wait_media
from tests.harness.stack import Stack


async def send(client: AsyncClient, room_id: str, event_type: str, content: dict[str, object]) -> str:
    resp = await client.room_send(room_id, event_type, content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def upload(client: AsyncClient, data: bytes, name: str) -> str:
    resp, _ = await client.upload(
        io.BytesIO(data), content_type="image/png", filename=name, filesize=len(data)
    )
    assert isinstance(resp, UploadResponse), resp
    return resp.content_uri


async def test_export_shows_original_revisions_reaction_and_image(stack: Stack, tmp_path: Path) -> None:
    alice_id, alice_pw = await stack.create_user()
    bob_id, bob_pw = await stack.create_user()
    alice, bob = await stack.login(alice_id, alice_pw), await stack.login(bob_id, bob_pw)
    try:
        room = await alice.room_create(name="ICU handover", is_direct=True, invite=[bob_id])
        assert isinstance(room, RoomCreateResponse), room
        assert isinstance(await bob.join(room.room_id), JoinResponse)
        rid = room.room_id

        original = await send(alice, rid, "m.room.message", {"msgtype": "m.text", "body": "Bed 4: K+ 3.1"})
        edits = []
        for text in ("Bed 4: K+ 3.4", "Bed 4: K+ 3.4 (repeat at 14:00)"):
            edits.append(
                await send(
                    alice,
                    rid,
                    "m.room.message",
                    {
                        "msgtype": "m.text",
                        "body": f"* {text}",
                        "m.new_content": {"msgtype": "m.text", "body": text},
                        "m.relates_to": {"rel_type": "m.replace", "event_id": original},
                    },
                )
            )
        reaction = await send(
            bob,
            rid,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": original, "key": "👍"}},
        )
        image, thumb = png(16, 16), png(4, 4)
        image_mxc, thumb_mxc = (
            await upload(alice, image, "wound photo.png"),
            await upload(alice, thumb, "t.png"),
        )
        image_event = await send(
            alice,
            rid,
            "m.room.message",
            {
                "msgtype": "m.image",
                "body": "wound photo.png",
                "url": image_mxc,
                "info": {"mimetype": "image/png", "size": len(image), "thumbnail_url": thumb_mxc},
            },
        )
        await stack.wait_archived([original, *edits, reaction, image_event])
        media = await wait_media(stack, [image_mxc, thumb_mxc])
        assert media[image_mxc].sha256 == hashlib.sha256(image).hexdigest()
        assert media[thumb_mxc].sha256 == hashlib.sha256(thumb).hexdigest()

        out = tmp_path / "export"
        code, _, err = await cli(
            "export",
            "-c",
            str(stack.config_path),
            "--room",
            rid,
            "--out",
            str(out),
            "--operator",
            "HIM officer",
        )
        assert code == 0, err
        records = [json.loads(line) for line in (out / "messages.jsonl").read_text().splitlines()]
        by_id = {r["event_id"]: r for r in records if r["kind"] == "message"}
        assert set(by_id) == {original, image_event}, "edits are revisions, not messages"
        assert not set(edits) & {r["event_id"] for r in records}, "nor records of their own"

        text = by_id[original]
        assert text["body"] == "Bed 4: K+ 3.1"
        assert [r["body"] for r in text["revisions"]] == ["Bed 4: K+ 3.4", "Bed 4: K+ 3.4 (repeat at 14:00)"]
        assert [r["event_id"] for r in text["revisions"]] == edits
        assert text["current_body"] == "Bed 4: K+ 3.4 (repeat at 14:00)"
        assert [(r["sender"], r["key"]) for r in text["reactions"]] == [(bob_id, "👍")]
        assert text["sender"] == alice_id and text["room_id"] == rid
        assert sorted(text["members"]) == sorted([alice_id, bob_id])

        attachment = by_id[image_event]["attachment"]
        assert attachment["status"] == "exported"
        exported = (out / attachment["path"]).read_bytes()
        assert exported == image
        assert attachment["sha256"] == hashlib.sha256(image).hexdigest() == attachment["archived_sha256"]

        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["operator"] == "HIM officer"
        assert (
            manifest["files"]["messages.jsonl"]
            == hashlib.sha256((out / "messages.jsonl").read_bytes()).hexdigest()
        )

        audit = [e.event for e in await stack.archived() if e.event["type"] == "org.carebridge.export"]
        mine = [e for e in audit if e["content"]["export_id"] == manifest["export_id"]]
        assert [e["content"]["phase"] for e in mine] == ["started", "completed"]
        assert mine[0]["content"]["operator"] == "HIM officer"
        assert mine[0]["content"]["filter"]["room"] == rid
        assert mine[1]["content"]["counts"]["messages"] == 2

        csv_out = tmp_path / "export-csv"
        code, _, err = await cli(
            "export",
            "-c",
            str(stack.config_path),
            "--user",
            alice_id,
            "--format",
            "csv",
            "--out",
            str(csv_out),
        )
        assert code == 0, err
        rows = [
            r
            for r in csv.DictReader((csv_out / "messages.csv").open(encoding="utf-8"))
            if r["kind"] == "message"
        ]
        assert [r["event_id"] for r in rows] == [original, image_event]
        assert json.loads(rows[0]["revisions"])[1]["body"] == "Bed 4: K+ 3.4 (repeat at 14:00)"
        assert rows[1]["attachment_sha256"] == hashlib.sha256(image).hexdigest()
    finally:
        await asyncio.gather(alice.close(), bob.close())


async def test_archive_files_hold_no_plaintext(stack: Stack) -> None:
    """Grep the archive database (and its WAL) and media folder for bodies."""
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        room = await client.room_create(name="grep test", is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        marker = "MRN-" + secrets.token_hex(8)
        edit_marker = "EDIT-" + secrets.token_hex(8)
        image = png(8, 8)
        sent = await send(
            client, room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"patient {marker}"}
        )
        edit = await send(
            client,
            room.room_id,
            "m.room.message",
            {
                "msgtype": "m.text",
                "body": f"* {edit_marker}",
                "m.new_content": {"msgtype": "m.text", "body": edit_marker},
                "m.relates_to": {"rel_type": "m.replace", "event_id": sent},
            },
        )
        mxc = await upload(client, image, f"{marker}.png")
        shot = await send(
            client,
            room.room_id,
            "m.room.message",
            {"msgtype": "m.image", "body": f"{marker}.png", "url": mxc},
        )
        await stack.wait_archived([sent, edit, shot])
        await wait_media(stack, [mxc])
        db_path = Path(stack.s.database_url.removeprefix("sqlite+aiosqlite:///"))
        files = [p for p in db_path.parent.glob(db_path.name + "*") if p.is_file()]
        assert db_path in files
        for path in files:
            data = path.read_bytes()
            for needle in (marker, edit_marker, "patient "):
                assert needle.encode() not in data, f"{needle} in plaintext in {path.name}"
        media_files = [p for p in stack.s.path(stack.s.archive.media_dir).rglob("*") if p.is_file()]
        assert media_files
        for path in media_files:
            data = path.read_bytes()
            assert image[-64:] not in data and marker.encode() not in data and b"PNG" not in data
    finally:
        await client.close()
