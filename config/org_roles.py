"""org.yaml `roles:` and `rota:`: who can be reached as "the ER charge nurse", and who
covers which role when.

Shape checks only (each value on its own); references to users, groups, schedules and
other roles, and the contents of imported iCalendar files, are checked by
`config.org_rota` with file:line:column positions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from config.org_base import Name, OrgModel, Ref, matches, unique

ROLE_REF_PATTERN = r"^(role:[a-z0-9][a-z0-9._-]*|user:[a-z0-9][a-z0-9._=-]*)$"
MEMBER_REF_PATTERN = r"^(group:[a-z0-9][a-z0-9._-]*|user:[a-z0-9][a-z0-9._=-]*)$"
BackupRef = Annotated[str, matches(ROLE_REF_PATTERN, "role:NAME or user:USERNAME")]
MemberRef = Annotated[str, matches(MEMBER_REF_PATTERN, "group:NAME or user:USERNAME")]
_LOCAL_DT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$")


def _parse_local_datetime(value: Any) -> Any:
    """ "2026-12-01 07:00" (organisation time zone) -> naive datetime."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ValueError('expected a local "YYYY-MM-DD HH:MM" (organisation time zone), no offset')
        return value
    if not isinstance(value, str) or not _LOCAL_DT.fullmatch(value):
        raise ValueError('expected "YYYY-MM-DD HH:MM" in quotes (the organisation time zone)')
    return datetime.fromisoformat(value.replace(" ", "T"))


LocalDateTime = Annotated[datetime, BeforeValidator(_parse_local_datetime)]


class Role(OrgModel):
    """A role staff message instead of a person ("the on-call cardiologist").

    `members` may hold it (the rota and assignments name only them); `backup` receives its
    messages while nobody holds it and its unread urgent messages after
    `escalation_minutes`; `schedule` is the shift dated rota entries cover by default;
    `self_assign` lets a member take the role from their client.
    """

    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    members: Annotated[list[MemberRef], Field(min_length=1), AfterValidator(unique)]
    schedule: Name | None = None
    backup: BackupRef | None = None
    escalation_minutes: Annotated[int, Field(ge=1, le=1440)] = 5
    self_assign: bool = False


class RotaEntry(OrgModel):
    """One line of the rota: either `user` covers `role` on dates (`from`..`until`, the
    role's or the given `shift`), or between `start` and `end`; or `file:` imports an
    iCalendar (RFC 5545) file whose events name the role and the person."""

    role: Name | None = None
    user: Annotated[str, matches(r"^[a-z0-9][a-z0-9._=-]{0,63}$", "a username")] | None = None
    shift: Name | None = None
    from_: Annotated[date | None, Field(alias="from")] = None
    until: date | None = None
    start: LocalDateTime | None = None
    end: LocalDateTime | None = None
    file: Annotated[str, Field(min_length=1, max_length=1024)] | None = None

    @field_validator("from_", "until", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError('expected a date "YYYY-MM-DD"') from None
        return value

    @model_validator(mode="after")
    def _one_form(self) -> RotaEntry:
        if self.file is not None:
            keys = ("role", "user", "shift", "from_", "until", "start", "end")
            extra = [k for k in keys if getattr(self, k) is not None]
            if extra:
                raise ValueError("a `file:` entry takes no other keys (the file names roles and people)")
            return self
        if self.role is None or self.user is None:
            raise ValueError("expected `role:` and `user:` (or `file:` to import an iCalendar file)")
        dated = self.from_ is not None
        timed = self.start is not None or self.end is not None
        if dated == timed:
            raise ValueError(
                "expected either `from:` (dates, with optional `until:` and `shift:`) or `start:` and `end:`"
            )
        if timed:
            if self.start is None or self.end is None:
                raise ValueError("`start:` and `end:` go together")
            if self.end <= self.start:
                raise ValueError("`end:` must be after `start:`")
            if self.shift is not None:
                raise ValueError("`shift:` goes with dates (`from:`), not with `start:`/`end:`")
        if dated and self.until is not None and self.from_ is not None and self.until < self.from_:
            raise ValueError("`until:` is before `from:`")
        return self


def roles_section(value: Any) -> Any:
    """`roles:` may be empty."""
    return {} if value is None else value


__all__ = ["Ref", "Role", "RotaEntry", "roles_section"]
