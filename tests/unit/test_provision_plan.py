"""Planning is pure: desired org + current state -> steps. No Synapse needed here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mautrix.types import RoomID, UserID

from bridge.db.directory import DirectoryChannel, DirectorySnapshot, DirectoryUser
from config.org import OrgFile
from policy.channel_power import channel_power_levels, channel_state_content
from provisioning.org.actions import (
    CloseChannel,
    CreateChannel,
    CreateUser,
    DeactivateUser,
    JoinMember,
    ReactivateUser,
    RecordOrg,
    RemoveMember,
    SetRights,
    UpdateChannel,
    UpdateUser,
    WritePolicyFile,
)
from provisioning.org.admin_api import SynapseUser
from provisioning.org.current import CurrentState, RoomSnapshot
from provisioning.org.desired import DesiredOrg, desired_from_org
from provisioning.org.plan import make_plan
from provisioning.org.policy_file import policy_document, render_policy

SERVER = "x.example"
BOT = UserID(f"@carebridge:{SERVER}")


def org_doc() -> dict[str, Any]:
    return {
        "organization": {"name": "Clinic"},
        "groups": {"nurses": {}, "docs": {}},
        "schedules": {"day": {"days": ["mon"], "start": "07:00", "end": "19:00"}},
        "users": [
            {
                "username": "ann",
                "display_name": "Ann",
                "email": "ann@x.example",
                "role": "admin",
                "groups": ["nurses"],
            },
            {"username": "bob", "display_name": "Bob", "email": "bob@x.example", "groups": ["nurses"]},
            {
                "username": "cat",
                "display_name": "Cat",
                "email": "cat@x.example",
                "groups": ["docs"],
                "schedule": "day",
            },
        ],
        "channels": [
            {"name": "icu", "members": ["group:nurses"], "post": ["user:ann"], "respond": ["group:docs"]},
            {"name": "all", "members": ["everyone"], "post": ["role:admin"]},
        ],
    }


def desired(doc: dict[str, Any] | None = None) -> DesiredOrg:
    return desired_from_org(OrgFile.model_validate(doc or org_doc()), SERVER, BOT)


def converged(want: DesiredOrg) -> CurrentState:
    """The state right after a successful apply of `want`."""
    users = {
        u.user_id: DirectoryUser(
            u.user_id, u.username, u.display_name, u.email, u.role, u.groups, u.schedule, True, "org"
        )
        for u in want.users.values()
    }
    accounts = {u: SynapseUser(u, want.users[u].display_name, False, False) for u in want.users}
    accounts[BOT] = SynapseUser(BOT, "bot", True, False)
    channels, members, rooms = {}, {}, {}
    for i, ch in enumerate(want.channels.values()):
        room = RoomID(f"!r{i}:{SERVER}")
        channels[ch.name] = DirectoryChannel(
            room, ch.name, ch.alias, ch.display_name, ch.topic, False, ch.rights, "org"
        )
        members[room] = dict(ch.access)
        power = channel_power_levels(BOT, ch.access, want.admins & set(ch.access))
        rooms[ch.name] = RoomSnapshot(
            room_id=room,
            members={**{u: "join" for u in ch.access}, BOT: "join"},
            power_levels={**power, "extra_key": 1},
            name=ch.display_name,
            topic=ch.topic,
            history_visibility="shared",
            join_rule="invite",
            channel_state=channel_state_content(ch.name, ch.access),
        )
    snap = DirectorySnapshot(users, channels, members, dict(want.schedules), dict(want.settings))
    return CurrentState(accounts, snap, rooms, render_policy(policy_document(snap, BOT)))


def kinds(plan: Any) -> list[str]:
    return [a.kind for a in plan.actions]


def test_empty_server_creates_everything_in_order() -> None:
    want = desired()
    plan = make_plan(want, CurrentState({}, DirectorySnapshot()))
    assert [type(a) for a in plan.actions[:3]] == [CreateUser] * 3
    assert sum(isinstance(a, CreateChannel) for a in plan.actions) == 2
    joins = [a for a in plan.actions if isinstance(a, JoinMember)]
    assert len(joins) == 3 + 3 and all(j.room_id is None for j in joins)
    assert isinstance(plan.actions[-2], RecordOrg) and isinstance(plan.actions[-1], WritePolicyFile)
    assert "Ann" not in str(plan.to_json()) and "ann@x.example" not in str(plan.to_json())


def test_converged_state_plans_nothing() -> None:
    want = desired()
    plan = make_plan(want, converged(want))
    assert not plan.changed, kinds(plan)


def test_missing_or_stale_policy_file_is_rewritten_alone() -> None:
    want = desired()
    plan = make_plan(want, replace(converged(want), policy_file_text=None))
    assert kinds(plan) == ["policy.write"]


def test_profile_role_and_server_admin_changes() -> None:
    want = desired()
    now = converged(want)
    doc = org_doc()
    doc["users"][1] |= {"display_name": "Robert", "role": "admin"}
    accounts = dict(now.synapse_users)
    accounts[UserID(f"@cat:{SERVER}")] = replace(accounts[UserID(f"@cat:{SERVER}")], admin=True)
    plan = make_plan(desired(doc), replace(now, synapse_users=accounts))
    updates = {a.user.username: a for a in plan.actions if isinstance(a, UpdateUser)}
    assert updates["bob"].synapse_fields == ("display_name",)
    assert set(updates["bob"].directory_fields) == {"display_name", "role"}
    assert updates["cat"].synapse_fields == ("server_admin",) and updates["cat"].directory_fields == ()
    # bob became an admin and posts in "all": rights change there
    rights = [a for a in plan.actions if isinstance(a, SetRights)]
    assert [r.channel.name for r in rights] == ["all"]
    assert rights[0].changes == ((f"@bob:{SERVER}", "read", "post"),)


def test_removed_user_is_deactivated_but_cli_and_unknown_accounts_are_left_alone() -> None:
    want = desired()
    now = converged(want)
    cli = DirectoryUser(UserID(f"@temp:{SERVER}"), "temp", "T", "t@x.example", "staff", (), None, True, "cli")
    snap = replace(now.directory, users={**now.directory.users, cli.user_id: cli})
    accounts = {**now.synapse_users, cli.user_id: SynapseUser(cli.user_id, "T", False, False)}
    accounts[UserID(f"@other:{SERVER}")] = SynapseUser(UserID(f"@other:{SERVER}"), "O", False, False)
    doc = org_doc()
    doc["users"] = [u for u in doc["users"] if u["username"] != "cat"]
    doc["channels"][0]["respond"] = []
    plan = make_plan(desired(doc), replace(now, directory=snap, synapse_users=accounts))
    deactivations = [a for a in plan.actions if isinstance(a, DeactivateUser)]
    assert [d.user_id for d in deactivations] == [f"@cat:{SERVER}"] and deactivations[0].in_synapse
    # cat is leaving: no kick from the rooms (deactivation takes them out)
    assert not any(isinstance(a, RemoveMember) for a in plan.actions)
    assert plan.notes and "1 account" in plan.notes[0]


def test_deactivated_account_listed_again_is_reactivated() -> None:
    want = desired()
    now = converged(want)
    ann = UserID(f"@ann:{SERVER}")
    accounts = {**now.synapse_users, ann: replace(now.synapse_users[ann], deactivated=True)}
    rooms = {
        n: replace(r, members={**r.members, ann: "leave"}) if ann in r.members else r
        for n, r in now.rooms.items()
    }
    plan = make_plan(want, replace(now, synapse_users=accounts, rooms=rooms))
    assert isinstance(plan.actions[0], ReactivateUser)
    assert sorted(a.channel_name for a in plan.actions if isinstance(a, JoinMember)) == ["all", "icu"]


def test_removed_channel_is_closed_and_drift_is_repaired() -> None:
    want = desired()
    now = converged(want)
    intruder = UserID(f"@zed:{SERVER}")
    icu = now.rooms["icu"]
    rooms = {
        **now.rooms,
        "icu": replace(icu, topic="changed by hand", members={**icu.members, intruder: "join"}),
    }
    doc = org_doc()
    doc["channels"] = [c for c in doc["channels"] if c["name"] != "all"]
    plan = make_plan(desired(doc), replace(now, rooms=rooms))
    closes = [a for a in plan.actions if isinstance(a, CloseChannel)]
    assert len(closes) == 1 and closes[0].channel_name == "all"
    assert closes[0].power_levels is not None and closes[0].power_levels["events_default"] == 100
    assert closes[0].channel_state["closed"] is True
    update = next(a for a in plan.actions if isinstance(a, UpdateChannel))
    assert update.changes == ("topic",)
    assert [(a.channel_name, a.user_id) for a in plan.actions if isinstance(a, RemoveMember)] == [
        ("icu", intruder)
    ]


def test_closed_channel_listed_again_is_reopened() -> None:
    want = desired()
    now = converged(want)
    row = now.directory.channels["icu"]
    snap = replace(now.directory, channels={**now.directory.channels, "icu": replace(row, closed=True)})
    closed_power = {**now.rooms["icu"].power_levels, "events_default": 100}  # type: ignore[dict-item]
    rooms = {**now.rooms, "icu": replace(now.rooms["icu"], power_levels=closed_power)}
    plan = make_plan(want, replace(now, directory=snap, rooms=rooms))
    assert {"channel.update", "channel.rights"} <= set(kinds(plan))
    assert next(a for a in plan.actions if isinstance(a, UpdateChannel)).changes == ("reopen",)


def test_schedule_change_is_directory_only() -> None:
    want = desired()
    doc = org_doc()
    doc["schedules"]["day"]["grace_minutes"] = 30
    plan = make_plan(desired(doc), converged(want))
    assert kinds(plan) == ["org.record", "policy.write"]
    assert not plan.actions[0].writes_synapse
