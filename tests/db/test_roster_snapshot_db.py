"""The compliance roster is kept between reports and re-read exactly when provisioning
has written the directory since (any write: people, shifts, settings, channels)."""

from __future__ import annotations

from mautrix.types import RoomID, UserID

from bridge.db.directory import Directory, DirectoryChannel, DirectoryUser
from bridge.db.engine import create_engine, migrate
from bridge.org.source import OrgRosterSource

SHIFT = {"days": ["mon"], "start": "07:00", "end": "19:00"}


def person(name: str, display: str, schedule: str | None = "day") -> DirectoryUser:
    return DirectoryUser(
        UserID(f"@{name}:x"), name, display, f"{name}@x.example", "staff", (), schedule, True, "org", 1, 1
    )


async def test_roster_snapshot_is_reused_until_provisioning_writes(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        tables = Directory(engine)
        await tables.replace_schedules({"day": SHIFT}, 1)
        await tables.save_settings({"organization": {"name": "C", "timezone": "Europe/Paris"}}, 1)
        await tables.upsert_users([person("ann", "Ann"), person("bob", "Bob")])
        compliance = OrgRosterSource(engine)

        first = await compliance.roster()
        assert first.timezone == "Europe/Paris" and first.name("@ann:x") == "Ann"
        assert await compliance.roster() is first, "nothing written: the snapshot is reused"

        # A second reader (another process's view) sees the same revision too.
        other = OrgRosterSource(engine)
        assert (await other.roster()).people == first.people

        await tables.upsert_users([person("ann", "Ann Smith", schedule=None)])
        renamed = await compliance.roster()
        assert renamed is not first and renamed.name("@ann:x") == "Ann Smith"
        assert renamed.spec_for("@ann:x") is None and renamed.spec_for("@bob:x") is not None

        await tables.replace_schedules({}, 2)
        assert (await compliance.roster()).spec_for("@bob:x") is None, "a shift change is seen"

        await tables.save_settings({"organization": {"name": "C", "timezone": "UTC"}}, 3)
        assert (await compliance.roster()).timezone == "UTC", "a settings change is seen"

        before = await compliance.roster()
        room = RoomID("!icu:x")
        await tables.upsert_channels(
            [DirectoryChannel(room, "icu", "#icu:x", "ICU", "", False, {}, "org", 1, 1)]
        )
        assert await compliance.roster() is not before, "any directory write invalidates"
    finally:
        await engine.dispose()
