"""Who holds a role at an instant, and where a message to a role goes (policy/roles.py):
plain integers for time, no clock."""

from __future__ import annotations

from policy.roles import (
    Away,
    Cover,
    CoverIndex,
    CoverSource,
    HoldReason,
    RoleFacts,
    RoleSpec,
    RouteReason,
    backup_loop,
    escalation_target,
    may_take,
    route,
    who_holds,
)

H = 3_600_000  # one hour in ms
DAY = 24 * H


def facts(name: str, covers: list[Cover] = (), backup: str | None = None, **more: object) -> RoleFacts:  # type: ignore[assignment]
    spec = RoleSpec(name, name.replace("-", " "), frozenset({"@a:x", "@b:x", "@c:x"}), backup)
    return RoleFacts(spec, CoverIndex(covers), **more)  # type: ignore[arg-type]


def test_rota_holder_changes_exactly_at_the_shift_boundary() -> None:
    role = facts("charge", [Cover(7 * H, 19 * H, "@a:x"), Cover(19 * H, 31 * H, "@b:x")])
    assert who_holds(role, 7 * H - 1).reason is HoldReason.EMPTY
    day = who_holds(role, 7 * H)
    assert day.holders == ("@a:x",) and day.reason is HoldReason.ROTA and day.until_ms == 19 * H
    assert who_holds(role, 19 * H - 1).holders == ("@a:x",)
    night = who_holds(role, 19 * H)
    assert night.holders == ("@b:x",) and night.until_ms == 31 * H
    assert who_holds(role, 31 * H).empty


def test_overlapping_stretches_give_two_holders_and_long_ones_are_found() -> None:
    covers = [Cover(0, 100 * H, "@c:x"), Cover(10 * H, 11 * H, "@a:x")] + [
        Cover(20 * H + i, 20 * H + i + 1, "@b:x") for i in range(50)
    ]
    role = facts("oncall", covers)
    assert who_holds(role, 10 * H + 5).holders == ("@a:x", "@c:x")
    assert who_holds(role, 90 * H).holders == ("@c:x",)  # started 90 h before, still open


def test_hand_assignment_overrides_the_rota_and_release_gives_the_stretch_up() -> None:
    rota = CoverIndex([Cover(0, 12 * H, "@a:x")])
    manual = CoverIndex([Cover(2 * H, 4 * H, "@b:x", CoverSource.ASSIGNED)])
    released = CoverIndex([Cover(6 * H, 12 * H, "@a:x")])
    role = RoleFacts(RoleSpec("r", "R"), rota, manual, released)
    assert who_holds(role, 1 * H).holders == ("@a:x",)
    assigned = who_holds(role, 3 * H)
    assert assigned.holders == ("@b:x",) and assigned.reason is HoldReason.ASSIGNED
    assert assigned.until_ms == 4 * H
    assert who_holds(role, 5 * H).holders == ("@a:x",)
    assert who_holds(role, 7 * H).reason is HoldReason.EMPTY  # released early
    taken = RoleFacts(RoleSpec("r", "R"), rota, CoverIndex([Cover(0, H, "@c:x", CoverSource.SELF)]))
    assert who_holds(taken, 0).reason is HoldReason.SELF


def test_away_holder_forwards_or_leaves_the_role_to_its_backup() -> None:
    roles = {
        "er": facts("er", [Cover(0, DAY, "@a:x")], backup="role:super"),
        "super": facts("super", [Cover(0, DAY, "@c:x")]),
    }
    plain = route("er", roles, H)
    assert plain.readers == ("@a:x",) and plain.reason is RouteReason.HOLDER
    forwarded = route("er", roles, H, {"@a:x": Away("@a:x", forward_to="@b:x")})
    assert forwarded.readers == ("@b:x",) and forwarded.reason is RouteReason.FORWARDED
    away = route("er", roles, H, {"@a:x": Away("@a:x")})
    assert away.readers == ("@c:x",) and away.reason is RouteReason.BACKUP
    assert away.via == ("er", "super") and away.holding is not None
    assert away.holding.reason is HoldReason.ALL_AWAY and away.holding.away == ("@a:x",)
    expired = route("er", roles, H, {"@a:x": Away("@a:x", until_ms=H)})
    assert expired.readers == ("@a:x",)


def test_empty_role_goes_along_the_backup_chain_and_ends_in_the_admins_room() -> None:
    roles = {
        "a": facts("a", backup="role:b"),
        "b": facts("b", backup="@boss:x"),
        "c": facts("c"),
        "d": facts("d", backup="role:e"),
        "e": facts("e", backup="role:d"),  # a loop (the org file refuses it; policy copes)
    }
    to_person = route("a", roles, 0)
    assert to_person.readers == ("@boss:x",) and to_person.via == ("a", "b")
    assert route("c", roles, 0).to_admins
    assert route("d", roles, 0).to_admins
    assert route("missing", roles, 0).to_admins
    assert route("a", roles, 0, {"@boss:x": Away("@boss:x")}).to_admins
    assert route("a", roles, 0, {"@boss:x": Away("@boss:x", "@c:x")}).readers == ("@c:x",)


def test_escalation_goes_to_the_backup_never_back_to_the_role() -> None:
    roles = {
        "er": facts("er", [Cover(0, DAY, "@a:x")], backup="role:super"),
        "super": facts("super", [Cover(0, DAY, "@c:x")]),
        "solo": facts("solo", [Cover(0, DAY, "@b:x")]),
        "named": facts("named", [Cover(0, DAY, "@b:x")], backup="@c:x"),
    }
    up = escalation_target("er", roles, H, {})
    assert up.readers == ("@c:x",) and up.reason is RouteReason.BACKUP
    assert escalation_target("solo", roles, H, {}).to_admins
    assert escalation_target("named", roles, H, {}).readers == ("@c:x",)
    assert escalation_target("named", roles, H, {"@c:x": Away("@c:x")}).to_admins


def test_self_assignment_needs_the_role_to_allow_it_and_membership() -> None:
    open_role = RoleSpec("r", "R", frozenset({"@a:x"}), self_assign=True)
    assert may_take(open_role, "@a:x")
    assert not may_take(open_role, "@z:x")
    assert not may_take(RoleSpec("r", "R", frozenset({"@a:x"})), "@a:x")


def test_backup_loops_are_found() -> None:
    assert backup_loop({"a": "role:b", "b": "role:a"}) == ["a", "b", "a"]
    assert backup_loop({"a": "role:b", "b": "@x:y", "c": None}) is None
