"""org.yaml: the organisation file administrators write (users, groups, schedules, channels).

The models are frozen and refuse unknown keys. They check each value on its own (an email
is an email, a time is "HH:MM"); references between sections (a user's group, a channel's
members) are checked by `config.org_load`, which reports every problem with its
file:line:column and dotted key. `Schedule` and `Policy` are meant to grow: later features
add keys there, each with a default so existing files stay valid.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_serializer,
    field_validator,
)

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._=-]{0,63}$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
REF_PATTERN = r"^(everyone|role:(admin|staff)|group:[a-z0-9][a-z0-9._-]*|user:[a-z0-9][a-z0-9._=-]*)$"
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Role = Literal["admin", "staff"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _matches(pattern: str, expected: str) -> Any:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not valid: expected {expected}")
        return value

    return AfterValidator(check)


Username = Annotated[
    str, _matches(USERNAME_PATTERN, "a Matrix localpart: lower-case letters, digits and . _ = - (max 64)")
]
Name = Annotated[str, _matches(NAME_PATTERN, "lower-case letters, digits and . _ - (max 64)")]
Ref = Annotated[str, _matches(REF_PATTERN, "everyone, role:admin, role:staff, group:NAME or user:USERNAME")]
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def _parse_time(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 19:00 as the base-60 number 1140.
        raise ValueError('expected a time "HH:MM" in quotes (unquoted, YAML reads 19:00 as a number)')
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise ValueError('expected a 24-hour time "HH:MM", e.g. "07:00" or "19:30"')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


TimeOfDay = Annotated[time, BeforeValidator(_parse_time)]


def _none_as_empty(value: Any) -> Any:
    return {} if value is None else value


def _unique(values: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


class OrgModel(BaseModel):
    """Base for every section: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


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

    days: Annotated[list[Day], Field(min_length=1), AfterValidator(_unique)]
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
    groups: Annotated[list[Name], AfterValidator(_unique)] = []
    schedule: Name | None = None


class Channel(OrgModel):
    """A room for a team. Members of `post` may start messages, members of `respond` may
    only reply; every other member reads only. `post` and `respond` imply membership."""

    name: Name
    display_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    topic: Annotated[str, Field(max_length=1000)] = ""
    members: Annotated[list[Ref], AfterValidator(_unique)] = []
    post: Annotated[list[Ref], AfterValidator(_unique)] = []
    respond: Annotated[list[Ref], AfterValidator(_unique)] = []


class Policy(OrgModel):
    """Organisation-wide rules the Synapse module enforces (more keys come with features)."""

    channel_creators: Annotated[list[Ref], AfterValidator(_unique)] = ["role:admin"]


class OrgFile(OrgModel):
    """The whole org.yaml."""

    organization: Organization
    groups: Annotated[dict[Name, Group], BeforeValidator(_none_as_empty)] = {}
    schedules: Annotated[dict[Name, Schedule], BeforeValidator(_none_as_empty)] = {}
    users: list[User] = []
    channels: list[Channel] = []
    policy: Policy = Policy()

    @field_validator("groups", mode="before")
    @classmethod
    def _groups_may_be_empty(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value
