"""When a step fails, apply records what succeeded, still delivers the passwords it set,
skips later phases, and reports the failure. (A fake homeserver client: this is about
the applier's own bookkeeping; the real thing is in test_provisioning.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mautrix.errors import MForbidden
from mautrix.types import RoomID

from bridge.db.directory import Directory, DirectorySnapshot, DirectoryUser
from bridge.db.engine import create_engine, migrate
from config.org import OrgFile
from config.settings import Settings
from provisioning.org.actions import DeactivateUser
from provisioning.org.apply import Applier, ApplyError
from provisioning.org.current import CurrentState
from provisioning.org.desired import desired_from_org
from provisioning.org.plan import make_plan


class FakeSynapse:
    """Records calls; refuses to create one account."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.writes = 0
        self.created: list[str] = []
        self.joined: list[tuple[str, str]] = []
        self.deactivated: list[str] = []

    async def create_user(self, user_id: str, password: str, displayname: str, email: str | None) -> None:
        self.writes += 1
        if user_id == self.refuse:
            raise MForbidden(403, "nope")
        self.created.append(user_id)

    async def create_room(self, alias: str, *args: Any) -> RoomID:
        self.writes += 1
        return RoomID(f"!{alias}:x.example")

    async def force_join(self, room_id: str, user_id: str) -> None:
        self.writes += 1
        self.joined.append((room_id, user_id))

    async def deactivate_user(self, user_id: str) -> None:
        self.deactivated.append(user_id)


async def test_failed_account_is_reported_and_the_rest_recorded(tmp_path: Path) -> None:
    org = OrgFile.model_validate(
        {
            "organization": {"name": "C"},
            "users": [
                {"username": "ann", "display_name": "Ann", "email": "ann@x.example"},
                {"username": "bad", "display_name": "Bad", "email": "bad@x.example"},
            ],
            "channels": [{"name": "all", "members": ["everyone"]}],
        }
    )
    desired = desired_from_org(org, "x.example", "@carebridge:x.example")
    leaver = DirectoryUser("@old:x.example", "old", "Old", "o@x.example", "staff", (), None, True, "org")
    plan = make_plan(desired, CurrentState({}, DirectorySnapshot(users={leaver.user_id: leaver})))
    assert any(isinstance(a, DeactivateUser) for a in plan.actions)

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'cb.db'}")
    await migrate(engine)
    directory = Directory(engine)
    await directory.upsert_users([leaver])
    settings = Settings.model_validate({"server_name": "x.example"}).model_copy(update={"data_dir": tmp_path})
    fake = FakeSynapse(refuse="@bad:x.example")
    try:
        with pytest.raises(ApplyError) as info:
            await Applier(plan, fake, directory, settings, concurrency=2).run()
        result = info.value.result
        failed = {(kind, target, error) for kind, target, error in result.failures}
        assert ("user.create", "@bad:x.example", "M_FORBIDDEN") in failed
        assert ("member.join", "all <- @bad:x.example", "M_NOT_FOUND") in failed
        assert fake.created == ["@ann:x.example"] and fake.joined == [("!all:x.example", "@ann:x.example")]
        assert fake.deactivated == [], "later phases are skipped after a failure"
        assert [u for u, _ in result.delivery.files] == ["@ann:x.example"], (
            "the password that was set is delivered"
        )
        snap = await directory.snapshot()
        assert snap.users["@ann:x.example"].active and "@bad:x.example" not in snap.users
        assert snap.users["@old:x.example"].active
        assert snap.channels["all"].room_id == "!all:x.example"
        assert (tmp_path / "policy.json").exists()
    finally:
        await engine.dispose()
