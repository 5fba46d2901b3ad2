"""Who works here, on which shift, and who is an administrator: what compliance asks the
organisation directory (provisioning's tables), behind a small interface.

Reports, the scheduler and the bot depend on `RosterSource` only, so they can be tested
with a `StaticRosterSource` and do not care how provisioning stores the organisation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Protocol
from zoneinfo import ZoneInfo

from policy.shifts import ActiveSpan, ShiftSpec


def _instant(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True)
class Person:
    """One account as compliance needs it."""

    user_id: str
    display_name: str = ""
    role: str = "staff"
    schedule: str | None = None
    active: bool = True
    # The account's active stretch in epoch ms: from creation (or reactivation) until
    # deactivation. None: unknown (expected throughout while active).
    active_from_ms: int | None = None
    active_until_ms: int | None = None
    # Since when they are on `schedule` (None: unknown, as long as the account).
    schedule_since_ms: int | None = None

    @cached_property  # a month's report asks for it once per person and day
    def span(self) -> ActiveSpan:
        """When they can be expected at work on their schedule: from the later of their
        account's start and their schedule's, until deactivation (never, for a
        deactivated account whose end is unknown)."""
        starts = [ms for ms in (self.active_from_ms, self.schedule_since_ms) if ms is not None]
        start = _instant(max(starts)) if starts else None
        if self.active:
            return ActiveSpan(start, None)
        return ActiveSpan(start, _instant(self.active_until_ms or 0))

    @property
    def is_admin(self) -> bool:
        """Carebridge administrator (runs the compliance bot commands)."""
        return self.active and self.role == "admin"


@dataclass(frozen=True)
class Roster:
    """The organisation at one moment: time zone, people, shifts."""

    timezone: str = "UTC"
    people: Mapping[str, Person] = field(default_factory=dict)
    schedules: Mapping[str, ShiftSpec] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        """The organisation's time zone (reports and shifts are in it)."""
        return ZoneInfo(self.timezone)

    def spec_for(self, user_id: str, include_inactive: bool = False) -> ShiftSpec | None:
        """The shift a person works, if any (only active people unless asked)."""
        person = self.people.get(user_id)
        if person is None or (not person.active and not include_inactive) or person.schedule is None:
            return None
        return self.schedules.get(person.schedule)

    def scheduled(self, include_inactive: bool = False) -> list[tuple[Person, ShiftSpec]]:
        """Every active person with a shift, sorted by user id; with `include_inactive`,
        deactivated people too (reports of days before their deactivation list them)."""
        out = []
        for user_id in sorted(self.people):
            spec = self.spec_for(user_id, include_inactive)
            if spec is not None:
                out.append((self.people[user_id], spec))
        return out

    def name(self, user_id: str) -> str:
        """Display name, or "" when unknown."""
        person = self.people.get(user_id)
        return person.display_name if person else ""


class RosterSource(Protocol):
    """What compliance reads from the organisation directory."""

    async def roster(self) -> Roster:
        """The whole organisation (read once per report or scheduler tick)."""
        ...

    async def is_admin(self, user_id: str) -> bool:
        """Is `user_id` an active Carebridge administrator?"""
        ...


class StaticRosterSource:
    """A RosterSource over a fixed Roster (tests, and tools that already hold one)."""

    def __init__(self, roster: Roster) -> None:
        self._roster = roster

    async def roster(self) -> Roster:
        """The fixed roster."""
        return self._roster

    async def is_admin(self, user_id: str) -> bool:
        """From the roster's roles."""
        person = self._roster.people.get(user_id)
        return person is not None and person.is_admin
