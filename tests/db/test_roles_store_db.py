"""The role tables on SQLite and PostgreSQL (migrations 0019, 0022): the rota index kept until the
rota is replaced, hand assignments and releases, applied holders, role rooms, away status,
and urgent messages' timers."""

from __future__ import annotations

from bridge.db.directory import Directory
from bridge.db.engine import create_engine, migrate
from bridge.roles.store import RoleStore, RotaRow
from bridge.roles.urgent_store import UrgentRow, UrgentStore
from policy.roles import HoldReason, who_holds

H = 3_600_000
ROLE = {
    "display_name": "ER charge nurse",
    "members": ["@a:x", "@b:x"],
    "backup": "role:sup",
    "escalation_minutes": 3,
}


async def test_roles_rota_assignments_rooms_and_away(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        await Directory(engine).save_settings(
            {"roles": {"er": ROLE, "sup": {"display_name": "Sup", "members": []}}}, 0
        )
        store = RoleStore(engine)
        await store.replace_rota(
            [RotaRow("er", "@a:x", 0, 12 * H, "org.yaml:9"), RotaRow("er", "@b:x", 12 * H, 24 * H, "r.ics:4")]
        )
        facts = await store.facts(H)
        assert facts["er"].spec.escalation_ms == 3 * 60_000 and facts["er"].spec.backup == "role:sup"
        assert who_holds(facts["er"], H).holders == ("@a:x",)
        assert (await store.facts(H))["er"].rota is facts["er"].rota  # kept until the rota changes
        await store.replace_rota([RotaRow("er", "@b:x", 0, 24 * H, "org.yaml:9")])
        assert who_holds((await store.facts(H))["er"], H).holders == ("@b:x",)

        await store.assign("er", "@a:x", 2 * H, 4 * H, "assigned", "cli")
        assigned = who_holds((await store.facts(3 * H))["er"], 3 * H)
        assert (assigned.holders, assigned.reason) == (("@a:x",), HoldReason.ASSIGNED)
        assert await store.release("er", "@a:x", 3 * H, "cli", None)
        assert who_holds((await store.facts(3 * H))["er"], 3 * H).holders == ("@b:x",)
        assert await store.release("er", "@b:x", 5 * H, "@b:x", 24 * H)  # gives up the rota stretch
        assert who_holds((await store.facts(6 * H))["er"], 6 * H).reason is HoldReason.EMPTY
        assert not await store.release("er", "@a:x", 6 * H, "cli", None)

        await store.set_holders("er", {"@a:x": "rota"}, 10)
        await store.set_holders("er", {"@b:x": "assigned"}, 20)
        assert await store.holders() == {"er": {"@b:x": (20, "assigned")}}

        await store.add_room("!r:x", "role:er", "@c:x", 5)
        assert (await store.room("!r:x")).role == "er"  # type: ignore[union-attr]
        assert (await store.room_for("role:er", "@c:x")).room_id == "!r:x"  # type: ignore[union-attr]
        assert [r.room_id for r in await store.rooms_of("role:er")] == ["!r:x"]

        await store.set_away("@a:x", 0, 10 * H, "@b:x")
        assert (await store.away(H))["@a:x"].forward_to == "@b:x"
        assert await store.away(11 * H) == {}
        assert await store.clear_away("@a:x") and not await store.clear_away("@a:x")
    finally:
        await engine.dispose()


async def test_rooms_of_a_removed_role_close_and_reopen_and_its_assignments_end(db_url: str) -> None:
    """Migration 0022: role_rooms.closed_ts. Rooms out of step with the defined roles are
    found (open rooms of a removed role; closed rooms of a role defined again); a person's
    room is never among them; assignments still running end, and stay as history."""
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        store = RoleStore(engine)
        await store.add_room("!er:x", "role:er", "@c:x", 5)
        await store.add_room("!gone:x", "role:gone", "@c:x", 5)
        await store.add_room("!person:x", "@a:x", "@c:x", 5)
        close, reopen = await store.rooms_to_follow({"er"})
        assert ([r.room_id for r in close], reopen) == (["!gone:x"], [])
        await store.set_closed("!gone:x", 7)
        assert (await store.room("!gone:x")).closed_ts == 7  # type: ignore[union-attr]
        assert await store.rooms_to_follow({"er"}) == ([], [])
        close, reopen = await store.rooms_to_follow({"er", "gone"})
        assert (close, [(r.room_id, r.closed_ts) for r in reopen]) == ([], [("!gone:x", 7)])
        await store.set_closed("!gone:x", None)
        assert await store.rooms_to_follow({"er", "gone"}) == ([], [])

        await store.assign("gone", "@a:x", 0, 10 * H, "assigned", "cli")
        await store.assign("gone", "@b:x", 0, H, "self", "@b:x")
        assert await store.end_assignments("gone", 2 * H) == 1  # the one still running
        await Directory(engine).save_settings({"roles": {"gone": ROLE}}, 0)
        assert who_holds((await store.facts(2 * H))["gone"], 2 * H).reason is HoldReason.EMPTY
    finally:
        await engine.dispose()


async def test_urgent_timers_persist(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await migrate(engine)
        urgent = UrgentStore(engine)
        row = UrgentRow("$e", "!r:x", "@s:x", "role", "er", ("@a:x",), 1000, 120_000, 300_000, None)
        assert await urgent.add(row) and not await urgent.add(row)
        await urgent.mark_alert("$e", 121_000, 1)
        [stored] = await urgent.open_rows()
        assert (stored.alerts, stored.last_alert_ts, stored.recipients) == (1, 121_000, ("@a:x",))
        assert await urgent.mark_escalated("$e", 301_000, ["@b:x"], "!s:x")
        assert not await urgent.mark_read("$e", "@a:x", 302_000)  # closed already
        assert await urgent.open_rows() == []
        [day] = await urgent.between(0, 10_000)
        assert day.escalated_to == ("@b:x",) and day.escalation_room_id == "!s:x"
    finally:
        await engine.dispose()
