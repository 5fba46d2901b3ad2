"""Building blocks shared by the org file's sections (config/org.py, config/org_roles.py):
the frozen base model, name and reference patterns, and small validators."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._=-]{0,63}$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
REF_PATTERN = r"^(everyone|role:(admin|staff)|group:[a-z0-9][a-z0-9._-]*|user:[a-z0-9][a-z0-9._=-]*)$"
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Role = Literal["admin", "staff"]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def matches(pattern: str, expected: str) -> Any:
    """A validator: the whole value must match `pattern`; the error names `expected`."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"{value!r} is not valid: expected {expected}")
        return value

    return AfterValidator(check)


Username = Annotated[
    str, matches(USERNAME_PATTERN, "a Matrix localpart: lower-case letters, digits and . _ = - (max 64)")
]
Name = Annotated[str, matches(NAME_PATTERN, "lower-case letters, digits and . _ - (max 64)")]
Ref = Annotated[str, matches(REF_PATTERN, "everyone, role:admin, role:staff, group:NAME or user:USERNAME")]
_TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def parse_time(value: Any) -> Any:
    """ "HH:MM" (quoted) -> time."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 19:00 as the base-60 number 1140.
        raise ValueError('expected a time "HH:MM" in quotes (unquoted, YAML reads 19:00 as a number)')
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise ValueError('expected a 24-hour time "HH:MM", e.g. "07:00" or "19:30"')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


TimeOfDay = Annotated[time, BeforeValidator(parse_time)]


def none_as_empty(value: Any) -> Any:
    """An empty section (None in YAML) reads as {}."""
    return {} if value is None else value


def unique(values: list[Any]) -> list[Any]:
    """Refuse a value listed twice."""
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


class OrgModel(BaseModel):
    """Base for every section: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")
