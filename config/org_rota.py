"""Checking `roles:` against the rest of the org file, and turning `rota:` (with any
imported iCalendar files) into concrete stretches of time: who holds which role when.

Every problem is a ConfigIssue with file:line:column, in the org file or in the imported
.ics file (the line of the event's BEGIN:VEVENT), and the whole org file is refused if
there is any. iCalendar (RFC 5545) is read with the `icalendar` package; an event names
its role in `X-CAREBRIDGE-ROLE` (or CATEGORIES, or a SUMMARY equal to the role's name or
display name) and its person in `X-CAREBRIDGE-USER` (a username) or an ATTENDEE whose
mailto: is a user's email. RRULE repeats are expanded (with EXDATE); one without UNTIL or
COUNT is expanded for RRULE_HORIZON after its start.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from config.errors import ConfigIssue
from config.org import OrgFile
from config.org_roles import RotaEntry
from config.yamlfile import LoadedYaml
from policy.roles import backup_loop
from policy.shifts import spec_from_definition

RRULE_HORIZON = timedelta(days=400)
MAX_STRETCHES = 200_000  # a rota larger than this is a mistake (e.g. a minutely RRULE)


@dataclass(frozen=True)
class RotaShift:
    """One stretch of the rota: `username` holds `role` from `start` to `end` (UTC)."""

    role: str
    username: str
    start: datetime
    end: datetime
    ref: str  # where it was written: "org.yaml:41" or "er.ics:12"


def role_members(org: OrgFile, role: str) -> set[str]:
    """The usernames a role's `members:` select (groups and users)."""
    refs = org.roles[role].members
    groups = {r.removeprefix("group:") for r in refs if r.startswith("group:")}
    users = {r.removeprefix("user:") for r in refs if r.startswith("user:")}
    return {u.username for u in org.users if u.username in users or groups & set(u.groups)}


def check_roles(org: OrgFile, doc: LoadedYaml) -> list[ConfigIssue]:
    """Roles' members, schedules and backups name things that exist; no backup loops;
    escalation targets exist."""
    issues: list[ConfigIssue] = []
    usernames = {u.username for u in org.users}
    for name, role in org.roles.items():
        for j, ref in enumerate(role.members):
            kind, _, target = ref.partition(":")
            if kind == "group" and target not in org.groups:
                issues.append(doc.issue(("roles", name, "members", j), f"undefined group {target!r}"))
            if kind == "user" and target not in usernames:
                issues.append(doc.issue(("roles", name, "members", j), f"undefined user {target!r}"))
        if role.schedule is not None and role.schedule not in org.schedules:
            issues.append(doc.issue(("roles", name, "schedule"), f"undefined schedule {role.schedule!r}"))
        if role.backup is not None:
            problem = _target_problem(role.backup, org, usernames)
            if problem is None and role.backup == f"role:{name}":
                problem = "a role cannot be its own backup"
            if problem:
                issues.append(doc.issue(("roles", name, "backup"), problem))
    loop = backup_loop({n: r.backup for n, r in org.roles.items()})
    if loop and not issues:
        issues.append(doc.issue(("roles", loop[0], "backup"), "backup loop: " + " -> ".join(loop)))
    if org.policy.urgent.escalate_to is not None:
        problem = _target_problem(org.policy.urgent.escalate_to, org, usernames)
        if problem:
            issues.append(doc.issue(("policy", "urgent", "escalate_to"), problem))
    for i, channel in enumerate(org.channels):
        if channel.escalate_to is not None:
            problem = _target_problem(channel.escalate_to, org, usernames)
            if problem:
                issues.append(doc.issue(("channels", i, "escalate_to"), problem))
    return issues


def _target_problem(ref: str, org: OrgFile, usernames: Collection[str]) -> str | None:
    kind, _, name = ref.partition(":")
    if kind == "role" and name not in org.roles:
        return f"undefined role {name!r}; expected one of: {', '.join(sorted(org.roles)) or 'none defined'}"
    if kind == "user" and name not in usernames:
        return f"undefined user {name!r}"
    return None


def expand_rota(org: OrgFile, doc: LoadedYaml) -> tuple[list[RotaShift], list[ConfigIssue]]:
    """Every stretch of the rota (org file entries and imported files), and the problems."""
    tz = ZoneInfo(org.organization.timezone)
    members = {name: role_members(org, name) for name in org.roles}
    shifts: list[RotaShift] = []
    issues: list[ConfigIssue] = []
    for i, entry in enumerate(org.rota):
        if entry.file is not None:
            path = (doc.path.parent / entry.file).resolve()
            got, bad = read_ics(path, org, members, tz)
            shifts += got
            issues += bad
            if not path.is_file():
                issues.append(doc.issue(("rota", i, "file"), f"iCalendar file not found: {entry.file}"))
            continue
        problem = _entry_problem(entry, org, members)
        if problem is not None:
            issues.append(doc.issue(("rota", i, problem[0]), problem[1]))
            continue
        pos = doc.position(("rota", i))
        ref = f"{doc.path.name}:{pos[0] if pos else '?'}"
        shifts += _entry_stretches(entry, org, tz, ref)
    if len(shifts) > MAX_STRETCHES:
        issues.append(doc.issue(("rota",), f"the rota has {len(shifts)} stretches; at most {MAX_STRETCHES}"))
    return shifts, issues


def _entry_problem(entry: RotaEntry, org: OrgFile, members: dict[str, set[str]]) -> tuple[str, str] | None:
    assert entry.role is not None and entry.user is not None
    if entry.role not in org.roles:
        known = ", ".join(sorted(org.roles)) or "none"
        return "role", f"undefined role {entry.role!r}; expected one of: {known}"
    if entry.user not in {u.username for u in org.users}:
        return "user", f"undefined user {entry.user!r}"
    if entry.user not in members[entry.role]:
        role = entry.role
        return "user", f"{entry.user!r} is not a member of role {role!r} (see roles.{role}.members)"
    if entry.from_ is not None:
        shift = entry.shift or org.roles[entry.role].schedule
        if shift is None:
            return "shift", f"dated entry needs `shift:` (role {entry.role!r} has no schedule)"
        if shift not in org.schedules:
            return "shift", f"undefined schedule {shift!r}"
    return None


def _entry_stretches(entry: RotaEntry, org: OrgFile, tz: ZoneInfo, ref: str) -> list[RotaShift]:
    assert entry.role is not None and entry.user is not None
    if entry.start is not None and entry.end is not None:
        start, end = entry.start.replace(tzinfo=tz), entry.end.replace(tzinfo=tz)
        return [RotaShift(entry.role, entry.user, start.astimezone(UTC), end.astimezone(UTC), ref)]
    assert entry.from_ is not None
    name = entry.shift or org.roles[entry.role].schedule
    assert name is not None
    spec = spec_from_definition(name, org.schedules[name].model_dump(mode="json"), org.organization.timezone)
    last = entry.until or entry.from_
    return [
        RotaShift(entry.role, entry.user, inst.start, inst.end, ref)
        for inst in spec.instances_between(entry.from_, last)
    ]


def _vevent_lines(text: str) -> list[int]:
    """The line number of each BEGIN:VEVENT, in file order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().upper() == "BEGIN:VEVENT"]


def read_ics(
    path: Path, org: OrgFile, members: dict[str, set[str]], tz: tzinfo
) -> tuple[list[RotaShift], list[ConfigIssue]]:
    """Stretches from an iCalendar file; problems name the file and the event's line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []  # reported against the org file's `file:` key
    except (OSError, UnicodeDecodeError) as exc:
        return [], [ConfigIssue(path, "", f"cannot read iCalendar file: {type(exc).__name__}", 1, 1)]
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        return [], [ConfigIssue(path, "", f"not a valid iCalendar file: {str(exc)[:200]}", 1, 1)]
    lines = _vevent_lines(text)
    by_email = {str(u.email).lower(): u.username for u in org.users}
    by_title = {n: n for n in org.roles} | {r.display_name.lower(): n for n, r in org.roles.items()}
    shifts: list[RotaShift] = []
    issues: list[ConfigIssue] = []
    for n, event in enumerate(calendar.walk("VEVENT")):
        line = lines[n] if n < len(lines) else 1

        def issue(key: str, message: str, line: int = line) -> ConfigIssue:
            return ConfigIssue(path, key, message, line, 1)

        role = _event_role(event, by_title)
        if role is None:
            issues.append(issue("X-CAREBRIDGE-ROLE", "no role: expected X-CAREBRIDGE-ROLE or CATEGORIES"))
            continue
        if role not in org.roles:
            issues.append(issue("X-CAREBRIDGE-ROLE", f"undefined role {role!r}"))
            continue
        user = _event_user(event, by_email)
        if user is None:
            issues.append(issue("ATTENDEE", "no person: expected X-CAREBRIDGE-USER or a user's ATTENDEE"))
            continue
        if user not in members[role]:
            issues.append(issue("ATTENDEE", f"{user!r} is not a member of role {role!r}"))
            continue
        try:
            stretches = list(_occurrences(event, tz))
        except (ValueError, TypeError, KeyError) as exc:
            issues.append(issue("DTSTART", f"unusable times: {str(exc)[:200]}"))
            continue
        ref = f"{path.name}:{line}"
        shifts += [RotaShift(role, user, s, e, ref) for s, e in stretches]
    return shifts, issues


def _event_role(event: Any, by_title: dict[str, str]) -> str | None:
    explicit = event.get("X-CAREBRIDGE-ROLE")
    if explicit is not None:
        return str(explicit).strip()
    categories = event.get("CATEGORIES")
    for group in categories if isinstance(categories, list) else [categories] if categories else []:
        for cat in getattr(group, "cats", []):
            if str(cat).strip().lower() in by_title:
                return by_title[str(cat).strip().lower()]
    summary = str(event.get("SUMMARY") or "").strip().lower()
    return by_title.get(summary)


def _event_user(event: Any, by_email: dict[str, str]) -> str | None:
    explicit = event.get("X-CAREBRIDGE-USER")
    if explicit is not None:
        return str(explicit).strip()
    attendees = event.get("ATTENDEE")
    for attendee in attendees if isinstance(attendees, list) else [attendees] if attendees else []:
        email = str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").lower()
        if email in by_email:
            return by_email[email]
    return None


def _aware(value: date | datetime, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    return datetime.combine(value, time(0), tz)


def _occurrences(event: Any, tz: tzinfo) -> Iterator[tuple[datetime, datetime]]:
    start = _aware(event.decoded("DTSTART"), tz)
    if event.get("DTEND") is not None:
        end = _aware(event.decoded("DTEND"), tz)
    elif event.get("DURATION") is not None:
        end = start + event.decoded("DURATION")
    else:
        raise ValueError("expected DTEND or DURATION")
    if end <= start:
        raise ValueError("DTEND is not after DTSTART")
    length = end - start
    rule = event.get("RRULE")
    if rule is None:
        yield start.astimezone(UTC), end.astimezone(UTC)
        return
    text = rule.to_ical().decode()
    bounded = "UNTIL=" in text.upper() or "COUNT=" in text.upper()
    horizon = start + RRULE_HORIZON
    excluded = _exdates(event, tz)
    for count, at in enumerate(rrulestr(text, dtstart=start)):
        if count >= MAX_STRETCHES or (not bounded and at > horizon):
            break
        if at.astimezone(UTC) in excluded:
            continue
        yield at.astimezone(UTC), (at + length).astimezone(UTC)


def _exdates(event: Any, tz: tzinfo) -> set[datetime]:
    raw = event.get("EXDATE")
    found: set[datetime] = set()
    for group in raw if isinstance(raw, list) else [raw] if raw is not None else []:
        for item in getattr(group, "dts", []):
            found.add(_aware(item.dt, tz).astimezone(UTC))
    return found
