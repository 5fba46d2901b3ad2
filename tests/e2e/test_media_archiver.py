"""The media worker against the real Synapse: a stored file, and one Synapse does not have."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from nio import UploadResponse
from sqlalchemy import select

from bridge.archive.keyring import Keyring
from bridge.archive.media import MAX_PERMANENT_ATTEMPTS, MediaArchiver, media_refs
from bridge.archive.media_store import read_media
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchiveWriter
from bridge.core.synapse_http import SynapseHTTP
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_media
from policy.event_types import MEDIA_RECORD_TYPE
from tests.archive_helpers import png
from tests.harness.stack import Stack


def test_media_refs_cover_files_thumbnails_and_edits() -> None:
    content = {
        "msgtype": "m.image",
        "url": "mxc://hs/a",
        "info": {"thumbnail_url": "mxc://hs/b", "thumbnail_file": {"url": "mxc://hs/c"}},
        "m.new_content": {"url": "mxc://hs/d", "file": {"url": "mxc://hs/e"}},
    }
    event = {"type": "m.room.message", "content": content}
    assert sorted(media_refs(event)) == [f"mxc://hs/{x}" for x in "abcde"]
    assert media_refs({"type": "m.room.message", "content": {"url": "https://x/y"}}) == []
    assert media_refs({"type": "m.reaction", "content": {"url": "mxc://hs/a"}}) == []


async def test_worker_stores_a_file_and_gives_up_on_a_missing_one(stack: Stack, tmp_path: Path) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    data = png(12, 12)
    resp, _ = await client.upload(io.BytesIO(data), content_type="image/png", filesize=len(data))
    await client.close()
    assert isinstance(resp, UploadResponse), resp
    missing = f"mxc://{stack.server_name}/NoSuchMediaHere"

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    now = [1_700_000_000_000]
    http = SynapseHTTP(stack.hs_url, stack.as_token)
    archiver = MediaArchiver(
        engine, keyring, writer, http, tmp_path / "media", "@carebridge:x", clock=lambda: now[0]
    )
    try:
        events = [
            {
                "event_id": f"$img{i}",
                "room_id": "!r:x",
                "sender": user_id,
                "type": "m.room.message",
                "origin_server_ts": 1,
                "content": {"msgtype": "m.image", "body": "x.png", "url": url},
            }
            for i, url in enumerate((resp.content_uri, missing))
        ]
        result = await writer.ingest_transaction("t", events)
        for archived in result.appended:
            await archiver.enqueue(archived)
            await archiver.enqueue(archived)  # idempotent
        for _ in range(MAX_PERMANENT_ATTEMPTS):
            await archiver.run_once()
            now[0] += 3_600_000 * 2
        async with engine.connect() as conn:
            rows = {r.mxc: r for r in (await conn.execute(select(archive_media))).all()}
        stored, gone = rows[resp.content_uri], rows[missing]
        assert stored.status == "stored" and stored.sha256 == hashlib.sha256(data).hexdigest()
        assert read_media(tmp_path / "media", stored.path, stored.key_id, stored.mxc, keyring) == data
        assert (gone.status, gone.attempts) == ("failed", MAX_PERMANENT_ATTEMPTS)
        records = {
            a.event["content"]["mxc"]: a.event["content"]
            async for a in iter_events(engine, keyring)
            if a.event["type"] == MEDIA_RECORD_TYPE
        }
        assert records[resp.content_uri]["sha256"] == stored.sha256
        assert records[resp.content_uri]["for_event_id"] == "$img0"
        assert records[missing]["status"] == "unavailable" and records[missing]["error"].startswith("404")
        assert await archiver.run_once() == 0
    finally:
        await http.close()
        await engine.dispose()
