"""The administrators' room holds exactly the administrators, through real Synapse, the
bridge and the `carebridge` CLI: provisioning joins them, alerts reach them there, the
module keeps everyone else out, and losing the role (or the account) takes them out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from nio import AsyncClient, JoinError, RoomInviteError, SyncResponse

from bridge.commands.matrix import MautrixBot
from bridge.compliance.reports import Reports
from bridge.compliance.scheduler import AdminApiTerminator, ComplianceScheduler
from bridge.core.clock import ManualClock
from bridge.db.engine import create_engine
from bridge.org.roster import Person, Roster, StaticRosterSource
from config.settings import ComplianceSettings
from policy.shifts import spec_from_definition
from tests.compliance_helpers import admin_room_id, bot_intent, wait_for
from tests.harness.admin_org import AdminOrg, admin_org_fixture, org_text
from tests.harness.provision import carebridge

pytestmark = pytest.mark.slow
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminOrg]:
    yield from admin_org_fixture(tmp_path_factory, "admins-room")


async def joined_rooms(client: AsyncClient) -> set[str]:
    synced = await client.sync(timeout=0, full_state=True)
    assert isinstance(synced, SyncResponse), synced
    return set(synced.rooms.join)


async def room_bodies(client: AsyncClient, room_id: str) -> list[str]:
    synced = await client.sync(timeout=0, full_state=True)
    assert isinstance(synced, SyncResponse), synced
    room = synced.rooms.join.get(room_id)
    events = room.timeline.events if room else []
    return [str(e.source["content"].get("body", "")) for e in events if e.source["type"] == "m.room.message"]


async def membership(org: AdminOrg, room_id: str, user_id: str) -> str | None:
    state = await org.stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_id}/state")
    return next(
        (
            e["content"]["membership"]
            for e in state["state"]
            if e["type"] == "m.room.member" and e["state_key"] == user_id
        ),
        None,
    )


async def post_missing_alert(org: AdminOrg, room: str, nurse_id: str, now: datetime) -> str:
    """Run the real compliance scheduler (manual clock) until it posts a missing-staff
    alert for the nurse's shift into the administrators' room; returns the shift name."""
    stack = org.stack
    start = now - timedelta(minutes=5)
    name = "alert-shift"
    spec = spec_from_definition(
        name,
        {"days": EVERY_DAY, "start": f"{start:%H:%M}", "end": f"{start + timedelta(hours=8):%H:%M}"},
        "UTC",
    )
    directory = StaticRosterSource(
        Roster("UTC", {nurse_id: Person(nurse_id, "A Nurse", "staff", name)}, {name: spec})
    )
    instance = spec.instance_on(spec.local_date(start))
    assert instance is not None
    clock = ManualClock(instance.deadline)
    engine = create_engine(stack.s.database_url)
    try:
        async with aiohttp.ClientSession() as http:
            intent = bot_intent(stack, http)
            scheduler = ComplianceScheduler(
                engine, directory, Reports(engine, directory, clock), MautrixBot(intent),
                AdminApiTerminator(intent), ComplianceSettings(missing_alerts=True, daily_summary_at=None),
                clock, lambda: room,
            )  # fmt: skip
            assert (await scheduler.run_once()).alerts == [f"missing:{name}:{instance.day.isoformat()}"]
    finally:
        await engine.dispose()
    return name


async def test_provisioned_admin_is_in_the_admins_room_and_gets_the_next_alert(org: AdminOrg) -> None:
    """`provision apply` joins the role-admin person to #carebridge-admins (their /sync
    shows it joined) and the next missing-staff alert arrives there for them to read."""
    stack = org.stack
    room = await admin_room_id(stack)
    assert f"joined {org.uid('boss')}" in org.first_apply
    boss = await stack.login(org.uid("boss"), org.password("boss"))
    try:
        assert room in await joined_rooms(boss)
        # The nurse's shift started five minutes ago and they have not signed in: missing.
        name = await post_missing_alert(org, room, org.uid("nurse"), datetime.now(UTC))
        bodies = await wait_for(
            lambda: room_bodies(boss, room),
            lambda b: any(x.startswith(f"Missing from {name}") for x in b),
            what="alert in the admins' room",
        )
        alert = next(x for x in bodies if x.startswith(f"Missing from {name}"))
        assert org.uid("nurse") in alert
        # A second apply changes nothing and keeps them there.
        again = await org.apply()
        assert "Administrators' room: up to date." in again
    finally:
        await boss.close()


async def test_nobody_else_can_join_or_be_invited(org: AdminOrg) -> None:
    """A non-administrator's join is refused by the module (403 with the reason), and an
    administrator cannot invite them in either."""
    stack = org.stack
    room = await admin_room_id(stack)
    nurse = await stack.login(org.uid("nurse"), org.password("nurse"))
    boss = await stack.login(org.uid("boss"), org.password("boss"))
    try:
        invited = await boss.room_invite(room, org.uid("nurse"))
        assert isinstance(invited, RoomInviteError), invited
        assert invited.status_code == "M_FORBIDDEN"
        assert "only for Carebridge administrators" in invited.message
        joined = await nurse.join(room)
        assert isinstance(joined, JoinError), joined
        assert joined.status_code == "M_FORBIDDEN"
        assert "only for Carebridge administrators" in joined.message
        assert room not in await joined_rooms(nurse)
    finally:
        await nurse.close()
        await boss.close()


async def test_user_add_admin_joins_and_losing_the_role_or_account_removes(org: AdminOrg) -> None:
    """`user add --role admin` joins the new administrator; an apply that takes `boss`'s
    admin role away removes them; deactivating the CLI administrator takes them out."""
    stack = org.stack
    room = await admin_room_id(stack)
    code, out, err = await carebridge(
        stack, "user", "add", "deputy", "--display-name", "Deputy", "--email", "deputy@clinic.example",
        "--role", "admin",
    )  # fmt: skip
    assert code == 0, out + err
    assert "administrators' room" in out
    deputy = await stack.login(org.uid("deputy"), org.password("deputy"))
    try:
        assert room in await joined_rooms(deputy)
    finally:
        await deputy.close()

    org.org_path.write_text(org_text(admin_role="staff"))
    out = await org.apply()
    assert f"removed {org.uid('boss')}" in out
    assert await membership(org, room, org.uid("boss")) == "leave"
    boss = await stack.login(org.uid("boss"), org.password("boss"))
    try:
        assert room not in await joined_rooms(boss)
        refused = await boss.join(room)
        assert isinstance(refused, JoinError), refused
    finally:
        await boss.close()

    code, out, err = await carebridge(stack, "user", "deactivate", "deputy", "--yes")
    assert code == 0, out + err
    assert await membership(org, room, org.uid("deputy")) == "leave"
    org.org_path.write_text(org_text())
    out = await org.apply()
    assert f"joined {org.uid('boss')}" in out
    assert await membership(org, room, org.uid("boss")) == "join"
