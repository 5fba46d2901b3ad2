"""Export targets resolved from the directory and the archive (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from mautrix.types import RoomID, UserID

from bridge.archive.export.targets import ExportTargetError, resolve_room, resolve_user
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchiveWriter
from bridge.db.directory import Directory, DirectoryChannel, DirectoryUser
from bridge.db.engine import create_engine, migrate

SERVER = "clinic.test"
ICU = RoomID("!icu:clinic.test")


async def test_room_and_person_as_typed_resolve_or_refuse(db_url: str) -> None:
    """A channel by name, '#name' and '#name:server'; a person by username or id; an
    unknown one, another server's, or a room the archive never saw is refused."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        directory = Directory(engine)
        await directory.upsert_channels(
            [DirectoryChannel(ICU, "icu", "#icu:clinic.test", "ICU", "", False, {}, "org", 1, 1)]
        )
        await directory.upsert_users(
            [
                DirectoryUser(
                    UserID("@drlee:clinic.test"), "drlee", "Dr Lee", "l@x", "staff", (), None, True, "org"
                )
            ]
        )
        writer = ArchiveWriter(engine, Keyring.generate())
        event = {"event_id": "$1", "room_id": ICU, "sender": "@drlee:clinic.test", "type": "m.room.message",
                 "origin_server_ts": 1, "content": {"msgtype": "m.text", "body": "x"}}  # fmt: skip
        await writer.ingest_transaction("t1", [event])
        for given in ("icu", "#icu", "#icu:clinic.test", str(ICU)):
            assert await resolve_room(engine, given, SERVER) == ICU, given
        for given in ("drlee", "@drlee:clinic.test"):
            assert await resolve_user(engine, given, SERVER) == "@drlee:clinic.test"
        for given in ("ward", "#ward", "#icu:other.test", "!never:clinic.test", " "):
            with pytest.raises(ExportTargetError):
                await resolve_room(engine, given, SERVER)
        for given in ("drle", "@drlee:other.test", ""):
            with pytest.raises(ExportTargetError):
                await resolve_user(engine, given, SERVER)
    finally:
        await engine.dispose()
