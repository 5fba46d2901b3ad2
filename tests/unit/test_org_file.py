"""org.yaml model: the documented example, defaults, shifts, member references."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.org import OrgFile, Schedule
from config.org_load import load_org
from provisioning.org.desired import channel_access, desired_from_org

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "org.example.yaml"


def org(**extra: object) -> OrgFile:
    base: dict[str, object] = {"organization": {"name": "Clinic"}}
    base.update(extra)
    return OrgFile.model_validate(base)


def test_example_file_is_valid_and_has_a_night_shift() -> None:
    example = load_org(
        EXAMPLE, reserved_usernames={"carebridge"}, reserved_channel_names={"carebridge-admins"}
    )
    assert len(example.groups) == 3 and len(example.users) == 6 and len(example.channels) == 3
    night = example.schedules["night-shift"]
    assert night.start == time(19, 0) and night.end == time(7, 0) and night.crosses_midnight
    assert not example.schedules["day-shift"].crosses_midnight
    assert {u.role for u in example.users} == {"admin", "staff"}


def test_defaults() -> None:
    parsed = org(users=[{"username": "a", "display_name": "A", "email": "a@x.example"}], groups={"g": None})
    user = parsed.users[0]
    assert user.role == "staff" and user.groups == [] and user.schedule is None
    assert parsed.policy.channel_creators == ["role:admin"]
    assert parsed.groups["g"].display_name is None
    assert parsed.organization.timezone == "UTC"


def test_schedule_round_trips_as_hh_mm() -> None:
    shift = Schedule.model_validate({"days": ["mon"], "start": "19:00", "end": "07:00"})
    dumped = shift.model_dump(mode="json")
    assert dumped["start"] == "19:00" and dumped["end"] == "07:00" and dumped["grace_minutes"] == 15
    assert Schedule.model_validate(dumped) == shift


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"days": ["mon"], "start": "07:00", "end": "07:00"}, "end equals start"),
        ({"days": ["mon", "mon"], "start": "07:00", "end": "08:00"}, "listed twice"),
        ({"days": [], "start": "07:00", "end": "08:00"}, "at least 1"),
        ({"days": ["mon"], "start": "24:00", "end": "08:00"}, "HH:MM"),
        ({"days": ["mon"], "start": 420, "end": "08:00"}, "in quotes"),
        ({"days": ["mon"], "start": "07:00", "end": "08:00", "grace_minutes": -1}, "greater than or equal"),
    ],
)
def test_bad_schedules(tmp_path: Path, schedule: dict[str, object], message: str) -> None:
    import yaml

    path = tmp_path / "org.yaml"
    path.write_text(yaml.safe_dump({"organization": {"name": "C"}, "schedules": {"s": schedule}}))
    with pytest.raises(ConfigError, match=message):
        load_org(path)


def test_channel_access_post_beats_respond_beats_read() -> None:
    parsed = org(
        groups={"nurses": {}, "docs": {}},
        users=[
            {"username": "n1", "display_name": "N", "email": "n1@x.example", "groups": ["nurses"]},
            {"username": "d1", "display_name": "D", "email": "d1@x.example", "groups": ["docs", "nurses"]},
            {"username": "a1", "display_name": "A", "email": "a1@x.example", "role": "admin"},
            {"username": "s1", "display_name": "S", "email": "s1@x.example"},
        ],
        channels=[{"name": "c", "members": ["everyone"], "post": ["user:n1"], "respond": ["group:nurses"]}],
    )
    desired = desired_from_org(parsed, "x.example", "@carebridge:x.example")
    assert dict(desired.channels["c"].access) == {
        "@a1:x.example": "read",
        "@d1:x.example": "respond",
        "@n1:x.example": "post",
        "@s1:x.example": "read",
    }
    people = list(desired.users.values())
    # post/respond imply membership even when `members` is empty
    assert channel_access([], ["role:admin"], ["group:docs"], people) == {
        "@a1:x.example": "post",
        "@d1:x.example": "respond",
    }
    assert desired.admins == {"@a1:x.example"}


def test_duplicate_and_reserved_names_are_reported_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: {name: Clinic}\n"
        "users:\n"
        "  - {username: ann, display_name: Ann, email: ann@x.example}\n"
        "  - {username: ann, display_name: Ann Two, email: ann2@x.example}\n"
        "  - {username: carebridge, display_name: Bot, email: bot@x.example, groups: [nope]}\n"
        "  - {username: cat, display_name: Cat, email: Ann2@X.example}\n"
        "channels:\n"
        "  - {name: ward}\n"
        "  - {name: ward}\n"
        "  - {name: carebridge-admins}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_org(path, reserved_usernames={"carebridge"}, reserved_channel_names={"carebridge-admins"})
    messages = [issue.message for issue in refused.value.issues]
    assert messages == [
        "duplicate username 'ann' (first at line 3)",
        "username 'carebridge' is reserved for the Carebridge bot",
        "undefined group 'nope'; expected one of: none defined",
        "duplicate email 'ann2@x.example' (first at line 4)",
        "duplicate channel name 'ward' (first at line 8)",
        "channel name 'carebridge-admins' is reserved for the admins' room",
    ]


def test_every_problem_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    """Shape errors do not hide cross-reference errors, nor duplicate keys the rest:
    one run names every mistake with its line, column and dotted key."""
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: {name: Clinic, timezone: Europe/Nowhere}\n"  # 1
        "groups: {nurses: {}}\n"  # 2
        "schedules:\n"  # 3
        "  day: {days: [mon], start: '08:00', end: 25:00}\n"  # 4
        "users:\n"  # 5
        "  - {username: Ann, display_name: Ann, email: not-an-email, groups: [nurses, doctors]}\n"  # 6
        "  - username: bob\n"  # 7
        "    display_name: Bob\n"  # 8
        "    display_name: Bobby\n"  # 9
        "    email: bob@x.example\n"  # 10
        "    schedule: nights\n"  # 11
        "  - {username: bob, display_name: B2, email: b2@x.example, colour: red}\n"  # 12
        "channels:\n"  # 13
        "  - {name: ward, members: [group:ghosts, user:carol]}\n"  # 14
        "  - {name: ward}\n",  # 15
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_org(path)
    found = [(i.line, i.column, i.key, i.message.split(";")[0].split(":")[0]) for i in refused.value.issues]
    assert found == [
        (1, 30, "organization.timezone", "unknown time zone 'Europe/Nowhere'"),
        (4, 38, "schedules.day.end", 'expected a time "HH'),
        (6, 6, "users.0.username", "'Ann' is not valid"),
        (6, 40, "users.0.email", "value is not a valid email address"),
        (6, 78, "users.0.groups.1", "undefined group 'doctors'"),
        (9, 5, "users.1.display_name", "duplicate key"),
        (11, 5, "users.1.schedule", "undefined schedule 'nights'"),
        (12, 6, "users.2.username", "duplicate username 'bob' (first at line 7)"),
        (12, 60, "users.2.colour", "unknown key (check the spelling"),
        (14, 28, "channels.0.members.0", "undefined group 'ghosts' in 'group"),
        (14, 42, "channels.0.members.1", "undefined user 'carol' in 'user"),
        (15, 6, "channels.1.name", "duplicate channel name 'ward' (first at line 14)"),
    ]
    text = str(refused.value)
    assert text.splitlines()[0] == (
        f"{path}:1:30: organization.timezone: unknown time zone 'Europe/Nowhere'; "
        "expected an IANA name such as America/Chicago"
    )


def test_references_to_a_malformed_section_are_not_judged(tmp_path: Path) -> None:
    """`groups:` written as a list is one mistake, not one per user naming a group."""
    path = tmp_path / "org.yaml"
    path.write_text(
        "organization: {name: Clinic}\n"
        "groups: [nurses]\n"
        "users:\n"
        "  - {username: ann, display_name: Ann, email: ann@x.example, groups: [nurses]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as refused:
        load_org(path)
    assert [i.key for i in refused.value.issues] == ["groups"]
