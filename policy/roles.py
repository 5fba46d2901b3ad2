"""Roles on shift: who holds "the ER charge nurse" at an instant, and where a message to
a role goes when nobody does (pure, no I/O).

Facts in (each role's definition, its rota as time intervals, assignments made by hand or
taken by a person, who is away), a decision out (`Holding`, `Route`) with a reason code.
The bridge, the bot, the CLI and the bench share this one definition, and every test of
it runs on plain integers (epoch milliseconds): no clock is read here.

A role's rota is indexed once (`CoverIndex`): intervals sorted by start, so "who covers
it at t" is two binary searches and a scan of the few intervals that can still be open
(those that started less than the longest interval ago). 45 CFR 164.308(a)(3)(ii)(A)
authorization/supervision (the right person reaches the PHI meant for the role);
164.312(b) audit controls (every holding has a source that hand-over records name).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class CoverSource(StrEnum):
    """Where a stretch of holding a role comes from."""

    ROTA = "rota"  # the org file's rota or an imported iCalendar file
    ASSIGNED = "assigned"  # an administrator: `carebridge role assign`
    SELF = "self"  # the person took it ("I am the charge nurse this shift")


class HoldReason(StrEnum):
    """Why a role is held the way it is."""

    ROTA = "rota"
    ASSIGNED = "assigned"
    SELF = "self"
    EMPTY = "empty"  # nobody covers the role now
    ALL_AWAY = "all_away"  # its holders are all away (do not disturb) without forward-to
    FORWARDED = "forwarded"  # its holders are away and forward to someone


class RouteReason(StrEnum):
    """How a message to a role found its readers."""

    HOLDER = "holder"  # the role's holder(s)
    FORWARDED = "forwarded"  # an away holder's forward-to
    BACKUP = "backup"  # a backup role's holder or a named backup person
    ADMINS = "admins"  # nobody anywhere along the backup chain: the administrators' room


@dataclass(frozen=True, order=True)
class Cover:
    """One stretch of time [start_ms, end_ms) during which `user_id` holds a role."""

    start_ms: int
    end_ms: int
    user_id: str
    source: CoverSource = CoverSource.ROTA
    ref: str = ""  # where it was written: "org.yaml:41", "er.ics:UID", an assignment id

    def covers(self, at_ms: int) -> bool:
        """Is `at_ms` inside this stretch?"""
        return self.start_ms <= at_ms < self.end_ms


class CoverIndex:
    """Intervals of one role (rota, or hand assignments), indexed for point queries."""

    __slots__ = ("_covers", "_longest", "_starts")

    def __init__(self, covers: Iterable[Cover] = ()) -> None:
        ordered = sorted(c for c in covers if c.end_ms > c.start_ms)
        self._covers: tuple[Cover, ...] = tuple(ordered)
        self._starts: list[int] = [c.start_ms for c in ordered]
        self._longest = max((c.end_ms - c.start_ms for c in ordered), default=0)

    def __len__(self) -> int:
        return len(self._covers)

    def __iter__(self) -> Iterator[Cover]:
        return iter(self._covers)

    def at(self, at_ms: int) -> list[Cover]:
        """The intervals covering `at_ms` (only those that can still be open are looked at)."""
        hi = bisect_right(self._starts, at_ms)
        lo = bisect_left(self._starts, at_ms - self._longest + 1) if self._longest else hi
        return [c for c in self._covers[lo:hi] if c.end_ms > at_ms]

    def next_start(self, after_ms: int) -> int | None:
        """The first start strictly after `after_ms`, if any."""
        i = bisect_right(self._starts, after_ms)
        return self._starts[i] if i < len(self._starts) else None


@dataclass(frozen=True)
class RoleSpec:
    """A role as the org file defines it, references resolved to user ids.

    `backup` is "role:NAME" or a user id ("@x:server"); `members` who may hold it (the rota
    and assignments are checked against it when written); `escalation_ms` how long an
    urgent message to the role may stay unread before it goes to the backup.
    """

    name: str
    display_name: str
    members: frozenset[str] = frozenset()
    backup: str | None = None
    escalation_ms: int = 5 * 60_000
    self_assign: bool = False


@dataclass(frozen=True)
class Away:
    """A person who set "do not disturb" (away), with an optional forward-to user id."""

    user_id: str
    forward_to: str | None = None
    until_ms: int | None = None

    def active(self, at_ms: int) -> bool:
        """Still away at `at_ms`?"""
        return self.until_ms is None or at_ms < self.until_ms


@dataclass(frozen=True)
class RoleFacts:
    """Everything "who holds X" needs about one role."""

    spec: RoleSpec
    rota: CoverIndex = field(default_factory=CoverIndex)
    manual: CoverIndex = field(default_factory=CoverIndex)  # assigned by hand or self-taken
    released: CoverIndex = field(default_factory=CoverIndex)  # rota stretches given up early


@dataclass(frozen=True)
class Holding:
    """Who holds a role at an instant, why, and until when this answer holds."""

    role: str
    holders: tuple[str, ...]  # who the role's messages reach now (away people left out)
    reason: HoldReason
    covers: tuple[Cover, ...] = ()  # the stretches in force (away holders included)
    until_ms: int | None = None  # the next instant the answer may change
    away: tuple[str, ...] = ()  # holders skipped because they are away

    @property
    def empty(self) -> bool:
        """Nobody reachable holds the role."""
        return not self.holders

    @property
    def assigned_to(self) -> tuple[str, ...]:
        """Everyone whose stretch is in force, away or not (what the room membership follows)."""
        return tuple(sorted({c.user_id for c in self.covers}))


def who_holds(facts: RoleFacts, at_ms: int, away: Mapping[str, Away] | None = None) -> Holding:
    """The holders of a role at `at_ms`.

    Hand assignments and self-assignments in force override the rota; a rota stretch
    that its holder released early does not count. Holders who are away are left out;
    if every holder is away, their forward-to people receive the role's messages
    (FORWARDED), or nobody does (ALL_AWAY) and the backup takes over (see `route`).
    """
    manual = facts.manual.at(at_ms)
    if manual:
        covers = manual
        reason = HoldReason.SELF if all(c.source is CoverSource.SELF for c in manual) else HoldReason.ASSIGNED
    else:
        released = {c.user_id for c in facts.released.at(at_ms)}
        covers = [c for c in facts.rota.at(at_ms) if c.user_id not in released]
        reason = HoldReason.ROTA
    until = _until(facts, covers, at_ms)
    if not covers:
        return Holding(facts.spec.name, (), HoldReason.EMPTY, (), until)
    users = sorted({c.user_id for c in covers})
    away = away or {}
    gone = [u for u in users if u in away and away[u].active(at_ms)]
    here = [u for u in users if u not in gone]
    covers_t = tuple(sorted(covers))
    if here:
        return Holding(facts.spec.name, tuple(here), reason, covers_t, until, tuple(gone))
    forwards = sorted({f for u in gone if (f := away[u].forward_to) is not None and f not in gone})
    if forwards:
        return Holding(facts.spec.name, tuple(forwards), HoldReason.FORWARDED, covers_t, until, tuple(gone))
    return Holding(facts.spec.name, (), HoldReason.ALL_AWAY, covers_t, until, tuple(gone))


def _until(facts: RoleFacts, covers: Sequence[Cover], at_ms: int) -> int | None:
    """The next instant something about this role changes: a stretch in force ends, or
    any stretch (rota, manual, release) begins."""
    candidates = [c.end_ms for c in covers]
    candidates += [c.end_ms for c in facts.manual.at(at_ms)] + [c.end_ms for c in facts.released.at(at_ms)]
    for index in (facts.rota, facts.manual, facts.released):
        start = index.next_start(at_ms)
        if start is not None:
            candidates.append(start)
    return min(candidates) if candidates else None


@dataclass(frozen=True)
class Route:
    """Where a message addressed to a role goes now."""

    role: str
    readers: tuple[str, ...]  # user ids; empty with ADMINS: the administrators' room
    reason: RouteReason
    via: tuple[str, ...] = ()  # the roles tried, in order (the asked role first)
    holding: Holding | None = None  # the asked role's own holding

    @property
    def to_admins(self) -> bool:
        """Nobody along the chain: the administrators' room receives it."""
        return self.reason is RouteReason.ADMINS


def route(
    role: str,
    roles: Mapping[str, RoleFacts],
    at_ms: int,
    away: Mapping[str, Away] | None = None,
) -> Route:
    """Who reads a message to `role` at `at_ms`: its holders; if empty (or all away
    without forward-to), its backup: a backup role's holders (following that role's own
    backup in turn) or a named backup person (or their forward-to when away); at the end
    of the chain, or on a loop, the administrators' room. A role is never silent.
    """
    away = away or {}
    via: list[str] = []
    first: Holding | None = None
    name: str | None = role
    while name is not None and name in roles and name not in via:
        via.append(name)
        facts = roles[name]
        holding = who_holds(facts, at_ms, away)
        first = first or holding
        if holding.holders:
            if len(via) > 1:
                reason = RouteReason.BACKUP
            elif holding.reason is HoldReason.FORWARDED:
                reason = RouteReason.FORWARDED
            else:
                reason = RouteReason.HOLDER
            return Route(role, holding.holders, reason, tuple(via), first)
        backup = facts.spec.backup
        if backup is None:
            break
        if backup.startswith("role:"):
            name = backup.removeprefix("role:")
            continue
        person = away.get(backup)
        if person is not None and person.active(at_ms):
            if person.forward_to is not None:
                return Route(role, (person.forward_to,), RouteReason.BACKUP, tuple(via), first)
            break
        return Route(role, (backup,), RouteReason.BACKUP, tuple(via), first)
    return Route(role, (), RouteReason.ADMINS, tuple(via), first)


def escalation_target(
    role: str, roles: Mapping[str, RoleFacts], at_ms: int, away: Mapping[str, Away]
) -> Route:
    """Where an urgent message to `role` goes when nobody read it in time: the route of
    its backup (never the role itself again), or the administrators' room."""
    facts = roles.get(role)
    backup = facts.spec.backup if facts is not None else None
    if backup is None:
        return Route(role, (), RouteReason.ADMINS, (role,))
    if backup.startswith("role:"):
        target = route(backup.removeprefix("role:"), roles, at_ms, away)
        readers = tuple(r for r in target.readers)
        reason = RouteReason.ADMINS if not readers else RouteReason.BACKUP
        return Route(role, readers, reason, (role, *target.via), target.holding)
    person = away.get(backup)
    if person is not None and person.active(at_ms):
        if person.forward_to is None:
            return Route(role, (), RouteReason.ADMINS, (role,))
        return Route(role, (person.forward_to,), RouteReason.BACKUP, (role,))
    return Route(role, (backup,), RouteReason.BACKUP, (role,))


def may_take(spec: RoleSpec, user_id: str) -> bool:
    """May this person take the role themselves? Only when the role allows it and they
    are one of its members. 45 CFR 164.308(a)(4) information access management."""
    return spec.self_assign and user_id in spec.members


def backup_loop(roles: Mapping[str, str | None]) -> list[str] | None:
    """A cycle in role -> backup role references, as the list of role names, or None.
    (`roles` maps each role to its backup reference: "role:NAME", a user, or None.)"""
    for start in roles:
        seen: list[str] = []
        name: str | None = start
        while name is not None and name in roles:
            if name in seen:
                return [*seen[seen.index(name) :], name]
            seen.append(name)
            ref = roles[name]
            name = ref.removeprefix("role:") if ref is not None and ref.startswith("role:") else None
    return None
