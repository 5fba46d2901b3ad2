"""Planning: desired organisation vs. what is there now -> the list of steps. Pure.

Nothing is erased: users who leave the file are deactivated, channels that leave it are
closed. Only what the org file manages is touched: accounts added with `carebridge user
add`, or made by other means, are left alone unless the file lists them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mautrix.types import UserID

from bridge.db.directory import DirectorySnapshot
from policy.channel_power import (
    channel_power_levels,
    channel_state_content,
    closed_power_levels,
    power_levels_match,
)
from provisioning.org.actions import (
    Action,
    CloseChannel,
    CreateChannel,
    CreateUser,
    DeactivateUser,
    JoinMember,
    ReactivateUser,
    RecordChannel,
    RecordOrg,
    RemoveMember,
    ResumeUser,
    SetRights,
    UpdateChannel,
    UpdateUser,
    WritePolicyFile,
)
from provisioning.org.current import CurrentState, RoomSnapshot
from provisioning.org.desired import DesiredChannel, DesiredOrg, DesiredUser
from provisioning.org.policy_file import policy_document, render_policy


@dataclass(frozen=True)
class Plan:
    """The steps that make the homeserver and the directory match the org file."""

    desired: DesiredOrg
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def changed(self) -> bool:
        """False when there is nothing to do."""
        return bool(self.actions)

    def summary(self) -> dict[str, int]:
        """How many steps of each kind."""
        return dict(Counter(a.kind for a in self.actions))

    def to_json(self) -> dict[str, Any]:
        """The whole plan for machines (`--format json`)."""
        return {
            "changes": len(self.actions),
            "summary": self.summary(),
            "actions": [a.to_json() for a in self.actions],
            "notes": list(self.notes),
        }


def _user_actions(desired: DesiredOrg, current: CurrentState) -> tuple[list[Action], set[UserID]]:
    snap = current.directory
    actions: list[Action] = []
    leaving: set[UserID] = set()
    for user in desired.users.values():
        account = current.synapse_users.get(user.user_id)
        row = snap.users.get(user.user_id)
        if account is None:
            actions.append(CreateUser(user))
            continue
        if account.deactivated:
            actions.append(ReactivateUser(user))
            continue
        if user.user_id in current.pending_passwords:
            actions.append(ResumeUser(user))  # created by an apply that stopped halfway
            continue
        synapse_fields: list[str] = []
        if account.displayname != user.display_name:
            synapse_fields.append("display_name")
        if row is None or row.email != user.email:
            synapse_fields.append("email")
        if account.admin:
            synapse_fields.append("server_admin")
        directory_fields = _directory_fields(user, row)
        if synapse_fields or directory_fields:
            actions.append(UpdateUser(user, tuple(synapse_fields), tuple(directory_fields)))
    for row in snap.users.values():
        if row.user_id in desired.users or row.managed_by != "org":
            continue
        account = current.synapse_users.get(row.user_id)
        live = account is not None and not account.deactivated
        if live or row.active:
            actions.append(DeactivateUser(row.user_id, in_synapse=live))
            leaving.add(row.user_id)
    leaving.update(u for u, a in current.synapse_users.items() if a.deactivated)
    return actions, leaving


def _directory_fields(user: DesiredUser, row: Any) -> list[str]:
    if row is None:
        return ["directory entry"]
    fields = [
        name
        for name, want, have in (
            ("display_name", user.display_name, row.display_name),
            ("email", user.email, row.email),
            ("role", user.role, row.role),
            ("groups", user.groups, row.groups),
            ("schedule", user.schedule, row.schedule),
        )
        if want != have
    ]
    if not row.active:
        fields.append("active")
    if row.managed_by != "org":
        fields.append("managed_by")
    return fields


def _channel_actions(
    channel: DesiredChannel,
    room: RoomSnapshot | None,
    desired: DesiredOrg,
    snap: DirectorySnapshot,
    leaving: set[UserID],
) -> list[Action]:
    admins = desired.admins & set(channel.access)
    power = channel_power_levels(desired.bot_user_id, channel.access, admins, closed=False)
    state = channel_state_content(channel.name, channel.access, closed=False)
    if room is None:
        joins: list[Action] = [JoinMember(channel.name, u, None, a) for u, a in channel.access.items()]
        return [CreateChannel(channel, power, state), *joins]
    row = snap.channels.get(channel.name)
    actions: list[Action] = []
    changes = [
        label
        for label, ok in (
            ("name", room.name == channel.display_name),
            ("topic", (room.topic or "") == channel.topic),
            ("history_visibility", room.history_visibility == "shared"),
            ("join_rule", room.join_rule == "invite"),
            ("reopen", row is None or not row.closed),
        )
        if not ok
    ]
    if changes:
        actions.append(UpdateChannel(channel, room.room_id, tuple(changes)))
    if not power_levels_match(room.power_levels, power) or room.channel_state != state:
        before = snap.members.get(room.room_id, {}) if row is not None and row.room_id == room.room_id else {}
        diffs = tuple(
            (u, before.get(u), channel.access.get(u))
            for u in sorted(set(before) | set(channel.access))
            if before.get(u) != channel.access.get(u)
        )
        actions.append(SetRights(channel, room.room_id, power, state, diffs))
    for user_id, access in channel.access.items():
        if room.members.get(user_id) != "join":
            actions.append(JoinMember(channel.name, user_id, room.room_id, access))
    for user_id, membership in sorted(room.members.items()):
        if (
            membership in ("join", "invite")
            and user_id not in channel.access
            and user_id != desired.bot_user_id
            and user_id not in leaving
        ):
            actions.append(RemoveMember(channel.name, user_id, room.room_id))
    if not actions and _record_differs(channel, room, snap):
        actions.append(RecordChannel(channel, room.room_id))
    return actions


def _record_differs(channel: DesiredChannel, room: RoomSnapshot, snap: DirectorySnapshot) -> bool:
    row = snap.channels.get(channel.name)
    if row is None or row.room_id != room.room_id:
        return True
    return (
        row.display_name != channel.display_name
        or row.topic != channel.topic
        or dict(row.rights) != dict(channel.rights)
        or row.closed
        or row.managed_by != "org"
        or snap.members.get(room.room_id, {}) != dict(channel.access)
    )


def _close_actions(desired: DesiredOrg, current: CurrentState) -> list[Action]:
    actions: list[Action] = []
    for name, row in sorted(current.directory.channels.items()):
        if name in desired.channels or row.managed_by != "org" or row.closed:
            continue
        room = current.rooms.get(name)
        members = current.directory.members.get(row.room_id, {})
        state = channel_state_content(name, members, closed=True)
        power = closed_power_levels(room.power_levels) if room and room.power_levels else None
        actions.append(CloseChannel(name, row.room_id, power, state))
    return actions


def _org_parts(desired: DesiredOrg, snap: DirectorySnapshot) -> tuple[str, ...]:
    parts = [key for key, value in desired.settings.items() if snap.settings.get(key) != value]
    if snap.schedules != desired.schedules:
        parts.append("schedules")
    return tuple(parts)


def make_plan(desired: DesiredOrg, current: CurrentState) -> Plan:
    """Compare and list the steps, in the order they will be applied."""
    user_actions, leaving = _user_actions(desired, current)
    channel_actions: list[Action] = []
    for channel in desired.channels.values():
        room = current.rooms.get(channel.name)
        channel_actions.extend(_channel_actions(channel, room, desired, current.directory, leaving))
    actions: list[Action] = [*user_actions, *channel_actions, *_close_actions(desired, current)]
    parts = _org_parts(desired, current.directory)
    if parts:
        actions.append(RecordOrg(parts))
    expected = render_policy(policy_document(current.directory, desired.bot_user_id))
    if actions or current.policy_file_text != expected:
        actions.append(WritePolicyFile())
    order = {
        k: i
        for i, k in enumerate(
            [
                "user.create",
                "user.reactivate",
                "user.resume",
                "user.update",
                "channel.create",
                "channel.update",
                "channel.rights",
                "member.join",
                "member.remove",
                "channel.close",
                "user.deactivate",
                "channel.record",
                "org.record",
                "policy.write",
            ]
        )
    }
    actions.sort(key=lambda a: order[a.kind])
    unmanaged = sorted(
        u
        for u, account in current.synapse_users.items()
        if u not in desired.users
        and u not in current.directory.users
        and u != desired.bot_user_id
        and not account.deactivated
        and u.endswith(f":{desired.server_name}")
    )
    notes = (
        (f"{len(unmanaged)} account(s) on the homeserver are not in the org file and are left as they are",)
        if unmanaged
        else ()
    )
    return Plan(desired, tuple(actions), notes)
