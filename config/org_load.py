"""Loading org.yaml: shape checks (pydantic) and cross-references, all with positions.

Every problem becomes a ConfigIssue `file:line:column: dotted.key: message`, and the whole
file is refused if there is any: nothing is applied from an invalid file. All problems are
reported at once, in file order: the cross-references (a user's group or schedule, a
channel's members, duplicate and reserved names) are checked on the document as written,
so a mistyped e-mail address does not hide an undefined group two lines below it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from config.errors import ConfigError, ConfigIssue
from config.org import OrgFile
from config.org_rota import check_roles, expand_rota
from config.validation import validate_document
from config.yamlfile import LoadedYaml, load_yaml


def load_org(
    path: Path,
    reserved_usernames: Collection[str] = (),
    reserved_channel_names: Collection[str] = (),
) -> OrgFile:
    """Load and fully validate an org file; raises ConfigError listing every problem.

    `reserved_usernames` (the bot) and `reserved_channel_names` (the administrators'
    room alias) cannot be used by the file.
    """
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [*doc.problems, doc.issue((), "expected a mapping with organization, users, channels...")]
        )
    issues: list[ConfigIssue] = []
    org: OrgFile | None = None
    try:
        org = validate_document(OrgFile, doc)
    except ConfigError as shape:
        issues += shape.issues
    issues += check_references(doc, reserved_usernames, reserved_channel_names)
    shifts: list[Any] = []
    if org is not None:
        # Roles and the rota need the file's shape to be right; their problems join the rest.
        issues += check_roles(org, doc)
        shifts, problems = expand_rota(org, doc)
        issues += problems
    if issues or org is None:
        raise ConfigError(sorted(issues, key=lambda issue: _file_order(issue, path)))
    org._rota_shifts = tuple(shifts)
    return org


def _file_order(issue: ConfigIssue, org_file: Path) -> tuple[bool, str, int, int]:
    """The org file first, in line order; then each imported file (a rota's .ics) in turn."""
    return (issue.file != org_file, str(issue.file), issue.line or 0, issue.column or 0)


def _line(doc: LoadedYaml, loc: tuple[str | int, ...]) -> str:
    pos = doc.position(loc)
    return f" (first at line {pos[0]})" if pos else ""


def _choices(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) if names else "none defined"


def _names(section: Any) -> set[str] | None:
    """The names a `groups:`/`schedules:` section defines; None when the section is not a
    mapping (its shape is reported on its own; references to it are not judged)."""
    if section is None:
        return set()
    return {str(k) for k in section} if isinstance(section, Mapping) else None


def _items(section: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, entry) of the mappings in a `users:`/`channels:` list (other shapes are
    reported by the shape check)."""
    if not isinstance(section, list):
        return []
    return [(i, item) for i, item in enumerate(section) if isinstance(item, Mapping)]


def _strings(value: Any) -> list[tuple[int, str]]:
    return [(j, v) for j, v in enumerate(value) if isinstance(v, str)] if isinstance(value, list) else []


def check_references(
    doc: LoadedYaml,
    reserved_usernames: Collection[str] = (),
    reserved_channel_names: Collection[str] = (),
) -> list[ConfigIssue]:
    """Cross-section checks on the document as written: duplicates, undefined
    groups/schedules/users, reserved names."""
    data: Mapping[str, Any] = doc.data if isinstance(doc.data, Mapping) else {}
    groups, schedules = _names(data.get("groups")), _names(data.get("schedules"))
    issues: list[ConfigIssue] = []
    first_user: dict[str, int] = {}
    first_email: dict[str, int] = {}
    for i, user in _items(data.get("users")):
        # The e-mail address is a sign-in name (bound as the account's email 3PID, compared
        # without regard to case), so two people may not share one.
        email = user.get("email")
        if isinstance(email, str):
            issues += _name_issues(doc, ("users", i, "email"), "email", email.casefold(), first_email, (), "")
        username = user.get("username")
        if isinstance(username, str):
            issues += _name_issues(
                doc,
                ("users", i, "username"),
                "username",
                username,
                first_user,
                reserved_usernames,
                "the Carebridge bot",
            )
        for j, group in _strings(user.get("groups")):
            if groups is not None and group not in groups:
                issues.append(
                    doc.issue(
                        ("users", i, "groups", j),
                        f"undefined group {group!r}; expected one of: {_choices(groups)}",
                    )
                )
        schedule = user.get("schedule")
        if isinstance(schedule, str) and schedules is not None and schedule not in schedules:
            issues.append(
                doc.issue(
                    ("users", i, "schedule"),
                    f"undefined schedule {schedule!r}; expected one of: {_choices(schedules)}",
                )
            )

    first_channel: dict[str, int] = {}
    for i, channel in _items(data.get("channels")):
        name = channel.get("name")
        if isinstance(name, str):
            issues += _name_issues(
                doc,
                ("channels", i, "name"),
                "channel name",
                name,
                first_channel,
                reserved_channel_names,
                "the admins' room",
            )
        for field in ("members", "post", "respond"):
            for j, ref in _strings(channel.get(field)):
                problem = _ref_problem(ref, groups, first_user)
                if problem:
                    issues.append(doc.issue(("channels", i, field, j), problem))

    policy = data.get("policy")
    creators = policy.get("channel_creators") if isinstance(policy, Mapping) else None
    for j, ref in _strings(creators):
        problem = _ref_problem(ref, groups, first_user)
        if problem:
            issues.append(doc.issue(("policy", "channel_creators", j), problem))
    return issues


def _name_issues(
    doc: LoadedYaml,
    loc: tuple[str, int, str],
    what: str,
    name: str,
    first: dict[str, int],
    reserved: Collection[str],
    reserved_for: str,
) -> list[ConfigIssue]:
    """A name used twice in its section (`first` records each name's first index) or reserved."""
    section, index, key = loc
    found = []
    if name in first:
        found.append(doc.issue(loc, f"duplicate {what} {name!r}{_line(doc, (section, first[name], key))}"))
    else:
        first[name] = index
    if name in reserved:
        found.append(doc.issue(loc, f"{what} {name!r} is reserved for {reserved_for}"))
    return found


def _ref_problem(ref: str, groups: set[str] | None, usernames: Collection[str]) -> str | None:
    kind, _, name = ref.partition(":")
    if kind == "group" and groups is not None and name not in groups:
        return f"undefined group {name!r} in {ref!r}; expected one of: {_choices(groups)}"
    if kind == "user" and name not in usernames:
        return f"undefined user {name!r} in {ref!r}; no user with that username in users"
    return None
