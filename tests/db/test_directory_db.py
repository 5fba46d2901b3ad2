"""The directory tables (migration 0002) and the queries other features use, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import time

from mautrix.types import RoomID, UserID

from bridge.db.directory import Directory, DirectoryChannel, DirectoryUser
from bridge.db.engine import create_engine, migrate


def user(name: str, role: str = "staff", schedule: str | None = None, active: bool = True) -> DirectoryUser:
    return DirectoryUser(
        UserID(f"@{name}:x"),
        name,
        name.title(),
        f"{name}@x.example",
        role,
        ("nurses",),
        schedule,
        active,
        "org",
        1,
        1,
    )


async def test_directory_round_trip_and_queries(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        d = Directory(engine)
        await d.upsert_users([user("ann", "admin", "night"), user("bob"), user("old", "admin", active=False)])
        await d.replace_schedules({"night": {"days": ["mon"], "start": "19:00", "end": "07:00"}}, ts=5)
        await d.save_settings(
            {"organization": {"name": "C", "timezone": "UTC"}, "groups": {"nurses": {}}}, ts=5
        )
        room = RoomID("!icu:x")
        await d.upsert_channels(
            [
                DirectoryChannel(
                    room, "icu", "#icu:x", "ICU", "topic", False, {"post": ["user:ann"]}, "org", 1, 1
                )
            ]
        )
        await d.replace_channel_members({room: {UserID("@ann:x"): "post", UserID("@bob:x"): "respond"}})

        assert await d.is_admin("@ann:x") and not await d.is_admin("@bob:x")
        assert not await d.is_admin("@old:x"), "a deactivated admin is not an admin"
        assert await d.admin_user_ids() == {"@ann:x"}
        assert await d.active_user_ids() == {"@ann:x", "@bob:x"}
        found = await d.schedule_for("@ann:x")
        assert found is not None and found[0] == "night"
        assert found[1].start == time(19) and found[1].crosses_midnight
        assert await d.schedule_for("@bob:x") is None
        channel = await d.channel_by_room(room)
        assert channel is not None and channel.name == "icu" and channel.rights == {"post": ["user:ann"]}
        assert await d.channel_by_room("!nope:x") is None
        assert await d.respond_only_members(room) == {"@bob:x"}
        assert (await d.setting("organization"))["name"] == "C"

        # updates keep created_ts; a channel name moving to a new room replaces the row
        await d.upsert_users([DirectoryUser(**{**user("bob").__dict__, "role": "admin", "created_ts": 99})])
        bob = await d.user("@bob:x")
        assert bob is not None and bob.role == "admin" and bob.created_ts == 1
        moved = RoomID("!icu2:x")
        await d.upsert_channels([DirectoryChannel(moved, "icu", "#icu:x", "ICU", "", False, {}, "org", 2, 2)])
        assert (await d.channel_by_name("icu")).room_id == moved  # type: ignore[union-attr]
        await d.replace_channel_members({room: {}})
        snap = await d.snapshot()
        assert set(snap.users) == {"@ann:x", "@bob:x", "@old:x"} and list(snap.channels) == ["icu"]
        assert snap.members.get(room) is None and snap.schedules["night"]["end"] == "07:00"
    finally:
        await engine.dispose()
