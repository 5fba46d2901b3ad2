"""org.yaml: the organisation file administrators write (users, groups, schedules, channels).

The models are frozen and refuse unknown keys. They check each value on its own (an email
is an email, a time is "HH:MM"); references between sections (a user's group, a channel's
members) are checked by `config.org_load`, which reports every problem with its
file:line:column and dotted key. `Schedule` and `Policy` are meant to grow: later features
add keys there, each with a default so existing files stay valid.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BeforeValidator,
    EmailStr,
    Field,
    PrivateAttr,
    field_serializer,
    field_validator,
)

from config.org_base import (
    Day,
    Name,
    OrgModel,
    Ref,
    Role,
    TimeOfDay,
    Username,
    none_as_empty,
    unique,
)
from config.org_roles import BackupRef, RotaEntry, roles_section
from config.org_roles import Role as OrgRole


class Organization(OrgModel):
    """Who this deployment is for, and the time zone shifts are measured in."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones():
            raise ValueError(f"unknown time zone {value!r}; expected an IANA name such as America/Chicago")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Group(OrgModel):
    """A team (nurses, physicians...); users list the groups they belong to."""

    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    description: Annotated[str, Field(max_length=1000)] | None = None


class Schedule(OrgModel):
    """A recurring shift. `end` before `start` means the shift ends the next day
    (a 19:00-07:00 night shift). Compliance options are added here with defaults."""

    days: Annotated[list[Day], Field(min_length=1), AfterValidator(unique)]
    start: TimeOfDay
    end: TimeOfDay
    grace_minutes: Annotated[int, Field(ge=0, le=240)] = 15
    # Login/logout compliance (policy/shifts.py). A sign-in this early still counts for
    # the shift; end_of_shift_logout ends sessions at end + grace; login_hours_only refuses
    # sign-in outside early-login .. end. Both enforcement switches default off.
    early_login_minutes: Annotated[int, Field(ge=0, le=720)] = 60
    end_of_shift_logout: bool = False
    login_hours_only: bool = False

    @field_validator("end")
    @classmethod
    def _not_empty(cls, value: time, info: Any) -> time:
        start = info.data.get("start")
        if start is not None and start == value:
            raise ValueError("end equals start: a shift must last at least one minute")
        return value

    @field_serializer("start", "end")
    def _hhmm(self, value: time) -> str:
        return value.strftime("%H:%M")

    @property
    def crosses_midnight(self) -> bool:
        """True for a shift that ends the next day (e.g. 19:00-07:00)."""
        return self.end < self.start


class User(OrgModel):
    """One person's account. The username becomes @username:<server_name>."""

    username: Username
    display_name: Annotated[str, Field(min_length=1, max_length=256)]
    email: EmailStr
    role: Role = "staff"
    groups: Annotated[list[Name], AfterValidator(unique)] = []
    schedule: Name | None = None


class Channel(OrgModel):
    """A room for a team. Members of `post` may start messages, members of `respond` may
    only reply; every other member reads only. `post` and `respond` imply membership."""

    name: Name
    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    topic: Annotated[str, Field(max_length=1000)] = ""
    members: Annotated[list[Ref], AfterValidator(unique)] = []
    post: Annotated[list[Ref], AfterValidator(unique)] = []
    respond: Annotated[list[Ref], AfterValidator(unique)] = []
    # Urgent messages in this channel that nobody mentioned reads in time go here
    # (default: the organisation's `policy.urgent`).
    escalation_minutes: Annotated[int, Field(ge=1, le=1440)] | None = None
    escalate_to: BackupRef | None = None


class UrgentPolicy(OrgModel):
    """Urgent messages: how often an unread one alerts again, when it escalates, and
    where a direct message's unread urgent message goes (role:NAME or user:USERNAME;
    none: the administrators' room)."""

    repeat_seconds: Annotated[int, Field(ge=10, le=3600)] = 120
    escalation_minutes: Annotated[int, Field(ge=1, le=1440)] = 5
    escalate_to: BackupRef | None = None


class Policy(OrgModel):
    """Organisation-wide rules the Synapse module enforces (more keys come with features)."""

    channel_creators: Annotated[list[Ref], AfterValidator(unique)] = ["role:admin"]
    urgent: UrgentPolicy = UrgentPolicy()


class OrgFile(OrgModel):
    """The whole org.yaml."""

    organization: Organization
    groups: Annotated[dict[Name, Group], BeforeValidator(none_as_empty)] = {}
    schedules: Annotated[dict[Name, Schedule], BeforeValidator(none_as_empty)] = {}
    users: list[User] = []
    channels: list[Channel] = []
    roles: Annotated[dict[Name, OrgRole], BeforeValidator(roles_section)] = {}
    rota: list[RotaEntry] = []
    policy: Policy = Policy()
    # The rota expanded to stretches of time (org file entries and imported iCalendar
    # files), set by config.org_load.load_org once every check has passed.
    _rota_shifts: tuple[Any, ...] = PrivateAttr(default=())

    @property
    def rota_shifts(self) -> tuple[Any, ...]:
        """config.org_rota.RotaShift stretches, for provisioning (empty before loading)."""
        return self._rota_shifts

    @field_validator("groups", mode="before")
    @classmethod
    def _groups_may_be_empty(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value
