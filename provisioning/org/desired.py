"""What the org file asks for, resolved to Matrix ids: users, channels with per-member
access, schedules and organisation settings. Pure (no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mautrix.types import RoomAlias, UserID

from bridge.roles.store import RotaRow
from config.org import OrgFile
from policy.channel_power import Access
from provisioning.org.desired_roles import role_settings, rota_rows


class Selectable(Protocol):
    """Anything a member reference can select (an org-file user or a directory row)."""

    @property
    def username(self) -> str: ...
    @property
    def user_id(self) -> UserID: ...
    @property
    def role(self) -> str: ...
    @property
    def groups(self) -> tuple[str, ...]: ...


def user_id_for(username: str, server_name: str) -> UserID:
    """The Matrix id of a username on this server."""
    return UserID(f"@{username}:{server_name}")


def alias_for(channel_name: str, server_name: str) -> RoomAlias:
    """The room alias of a channel."""
    return RoomAlias(f"#{channel_name}:{server_name}")


def resolve_refs(refs: Iterable[str], people: Iterable[Selectable]) -> set[UserID]:
    """The user ids selected by references: everyone | role:R | group:G | user:U."""
    people = list(people)
    selected: set[UserID] = set()
    for ref in refs:
        kind, _, name = ref.partition(":")
        for person in people:
            if (
                ref == "everyone"
                or (kind == "role" and person.role == name)
                or (kind == "group" and name in person.groups)
                or (kind == "user" and person.username == name)
            ):
                selected.add(person.user_id)
    return selected


def channel_access(
    members: Iterable[str], post: Iterable[str], respond: Iterable[str], people: Iterable[Selectable]
) -> dict[UserID, Access]:
    """Each member's access: post beats respond beats read; post/respond imply membership."""
    people = list(people)
    posters = resolve_refs(post, people)
    responders = resolve_refs(respond, people) - posters
    readers = resolve_refs(members, people) - posters - responders
    access: dict[UserID, Access] = {}
    for user_id in sorted(posters | responders | readers):
        access[user_id] = "post" if user_id in posters else "respond" if user_id in responders else "read"
    return access


@dataclass(frozen=True)
class DesiredUser:
    """An account the org file asks for."""

    user_id: UserID
    username: str
    display_name: str
    email: str
    role: str
    groups: tuple[str, ...]
    schedule: str | None


@dataclass(frozen=True)
class DesiredChannel:
    """A channel the org file asks for, members resolved to user ids."""

    name: str
    alias: RoomAlias
    display_name: str
    topic: str
    access: Mapping[UserID, Access]
    rights: Mapping[str, list[str]]


@dataclass(frozen=True)
class DesiredOrg:
    """The whole org file, resolved."""

    server_name: str
    bot_user_id: UserID
    users: dict[UserID, DesiredUser] = field(default_factory=dict)
    channels: dict[str, DesiredChannel] = field(default_factory=dict)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    rota: tuple[RotaRow, ...] = ()

    @property
    def admins(self) -> set[UserID]:
        """Users with role admin."""
        return {u.user_id for u in self.users.values() if u.role == "admin"}


def desired_from_org(
    org: OrgFile, server_name: str, bot_user_id: str, others: Iterable[Selectable] = ()
) -> DesiredOrg:
    """Resolve a validated org file against the server name.

    `others` are active people the file does not list (added with `carebridge user add`):
    channel rules (group:G, role:R, everyone) select them too, so an apply keeps them in
    the channels `user add --group` joined them to."""
    users = {
        user_id_for(u.username, server_name): DesiredUser(
            user_id=user_id_for(u.username, server_name),
            username=u.username,
            display_name=u.display_name,
            email=str(u.email),
            role=u.role,
            groups=tuple(u.groups),
            schedule=u.schedule,
        )
        for u in org.users
    }
    people: list[Selectable] = [*users.values(), *(p for p in others if p.user_id not in users)]
    channels = {
        c.name: DesiredChannel(
            name=c.name,
            alias=alias_for(c.name, server_name),
            display_name=c.display_name or c.name,
            topic=c.topic,
            access=channel_access(c.members, c.post, c.respond, people),
            rights={"members": list(c.members), "post": list(c.post), "respond": list(c.respond)},
        )
        for c in org.channels
    }
    return DesiredOrg(
        server_name=server_name,
        bot_user_id=UserID(bot_user_id),
        users=users,
        channels=channels,
        schedules={name: s.model_dump(mode="json") for name, s in org.schedules.items()},
        settings={
            "organization": org.organization.model_dump(mode="json"),
            "groups": {name: g.model_dump(mode="json") for name, g in org.groups.items()},
            "policy": org.policy.model_dump(mode="json"),
            **role_settings(org, server_name, people),
        },
        rota=rota_rows(org, server_name),
    )
