"""The typed steps of a provisioning plan. Each says what it changes in words an
administrator reads (user ids, channel names, field names; never names, emails or
passwords)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mautrix.types import RoomID, UserID

from provisioning.org.desired import DesiredChannel, DesiredUser


@dataclass(frozen=True)
class Action:
    """Base: `kind` names the step, `target` what it acts on, `details()` the rest."""

    kind: ClassVar[str] = ""

    @property
    def writes_synapse(self) -> bool:
        """Whether applying this step writes to the homeserver."""
        return True

    @property
    def target(self) -> str:
        raise NotImplementedError

    def details(self) -> str:
        return ""

    def to_json(self) -> dict[str, Any]:
        """Machine-readable form (the `--format json` output)."""
        return {"kind": self.kind, "target": self.target, "details": self.details()}


def _fields(names: Sequence[str]) -> str:
    return ", ".join(names)


@dataclass(frozen=True)
class CreateUser(Action):
    """A new account with an initial password that is mailed (or written to a file)."""

    user: DesiredUser
    kind: ClassVar[str] = "user.create"

    @property
    def target(self) -> str:
        return self.user.user_id

    def details(self) -> str:
        parts = [f"role {self.user.role}"]
        if self.user.groups:
            parts.append("groups " + ", ".join(self.user.groups))
        if self.user.schedule:
            parts.append(f"schedule {self.user.schedule}")
        return "; ".join(parts) + "; initial password sent"


@dataclass(frozen=True)
class ReactivateUser(Action):
    """A deactivated account listed again: reactivated with a new initial password."""

    user: DesiredUser
    kind: ClassVar[str] = "user.reactivate"

    @property
    def target(self) -> str:
        return self.user.user_id

    def details(self) -> str:
        return "new initial password sent"


@dataclass(frozen=True)
class ResumeUser(Action):
    """An account an interrupted apply created (or reactivated) before it could record it
    and deliver its password: recorded now, and the password written down before the
    account was created is delivered. Nothing is written to the homeserver."""

    user: DesiredUser
    kind: ClassVar[str] = "user.resume"

    @property
    def writes_synapse(self) -> bool:
        return False

    @property
    def target(self) -> str:
        return self.user.user_id

    def details(self) -> str:
        return "finishing an interrupted apply: recorded, initial password sent"


@dataclass(frozen=True)
class UpdateUser(Action):
    """Profile or directory changes for an existing account."""

    user: DesiredUser
    synapse_fields: tuple[str, ...]
    directory_fields: tuple[str, ...]
    kind: ClassVar[str] = "user.update"

    @property
    def writes_synapse(self) -> bool:
        return bool(self.synapse_fields)

    @property
    def target(self) -> str:
        return self.user.user_id

    def details(self) -> str:
        changed = list(dict.fromkeys([*self.synapse_fields, *self.directory_fields]))
        text = _fields(changed) + " changed"
        return text if self.synapse_fields else text + " (Carebridge directory only)"


@dataclass(frozen=True)
class DeactivateUser(Action):
    """Removed from the file: deactivated, never erased (sessions end, messages stay)."""

    user_id: UserID
    in_synapse: bool
    kind: ClassVar[str] = "user.deactivate"

    @property
    def writes_synapse(self) -> bool:
        return self.in_synapse

    @property
    def target(self) -> str:
        return self.user_id

    def details(self) -> str:
        base = "sessions revoked, history kept (not erased)"
        return base if self.in_synapse else "already deactivated on the homeserver; directory updated"


@dataclass(frozen=True)
class CreateChannel(Action):
    """A new channel room: alias, name, topic, shared history, invite-only, rights."""

    channel: DesiredChannel
    power_levels: dict[str, Any]
    channel_state: dict[str, Any]
    kind: ClassVar[str] = "channel.create"

    @property
    def target(self) -> str:
        return self.channel.alias

    def details(self) -> str:
        counts = {
            a: sum(1 for x in self.channel.access.values() if x == a) for a in ("post", "respond", "read")
        }
        return f"{counts['post']} post, {counts['respond']} respond, {counts['read']} read-only"


@dataclass(frozen=True)
class UpdateChannel(Action):
    """Room settings that drifted from the file (name, topic, history, join rule, reopen)."""

    channel: DesiredChannel
    room_id: RoomID
    changes: tuple[str, ...]
    kind: ClassVar[str] = "channel.update"

    @property
    def target(self) -> str:
        return self.channel.alias

    def details(self) -> str:
        return _fields(self.changes)


@dataclass(frozen=True)
class SetRights(Action):
    """New power levels and `org.carebridge.channel` state for a channel room."""

    channel: DesiredChannel
    room_id: RoomID
    power_levels: dict[str, Any]
    channel_state: dict[str, Any]
    changes: tuple[tuple[UserID, str | None, str | None], ...]
    kind: ClassVar[str] = "channel.rights"

    @property
    def target(self) -> str:
        return self.channel.alias

    def details(self) -> str:
        shown = [f"{u} {old or 'none'}->{new or 'none'}" for u, old, new in self.changes[:5]]
        more = len(self.changes) - len(shown)
        text = "; ".join(shown) if shown else "power levels / channel state refreshed"
        return text + (f"; and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class JoinMember(Action):
    """Join a member to a channel room (Synapse invites, then joins them)."""

    channel_name: str
    user_id: UserID
    room_id: RoomID | None
    access: str
    kind: ClassVar[str] = "member.join"

    @property
    def target(self) -> str:
        return f"{self.channel_name} <- {self.user_id}"

    def details(self) -> str:
        return self.access


@dataclass(frozen=True)
class RemoveMember(Action):
    """Take someone who is no longer listed out of a channel room (history stays)."""

    channel_name: str
    user_id: UserID
    room_id: RoomID
    kind: ClassVar[str] = "member.remove"

    @property
    def target(self) -> str:
        return f"{self.channel_name} -> {self.user_id}"

    def details(self) -> str:
        return "removed from the channel; messages stay"


@dataclass(frozen=True)
class CloseChannel(Action):
    """Removed from the file: the room becomes read-only and is marked closed, never purged."""

    channel_name: str
    room_id: RoomID
    power_levels: dict[str, Any] | None
    channel_state: dict[str, Any]
    kind: ClassVar[str] = "channel.close"

    @property
    def writes_synapse(self) -> bool:
        return self.power_levels is not None

    @property
    def target(self) -> str:
        return self.channel_name

    def details(self) -> str:
        return "read-only for everyone, history kept"


@dataclass(frozen=True)
class RecordChannel(Action):
    """The homeserver already matches; the Carebridge directory entry is brought up to date."""

    channel: DesiredChannel
    room_id: RoomID
    kind: ClassVar[str] = "channel.record"

    @property
    def writes_synapse(self) -> bool:
        return False

    @property
    def target(self) -> str:
        return self.channel.alias

    def details(self) -> str:
        return "Carebridge directory only"


@dataclass(frozen=True)
class RecordOrg(Action):
    """Organisation settings, groups, policy or schedules changed (directory only)."""

    parts: tuple[str, ...]
    kind: ClassVar[str] = "org.record"

    @property
    def writes_synapse(self) -> bool:
        return False

    @property
    def target(self) -> str:
        return "organisation"

    def details(self) -> str:
        return _fields(self.parts) + " (Carebridge directory only)"


@dataclass(frozen=True)
class WritePolicyFile(Action):
    """Rewrite policy.json for the Synapse module from the directory."""

    kind: ClassVar[str] = "policy.write"

    @property
    def writes_synapse(self) -> bool:
        return False

    @property
    def target(self) -> str:
        return "policy.json"

    def details(self) -> str:
        return "admins, active users, channel creators and channel rights for the module"
