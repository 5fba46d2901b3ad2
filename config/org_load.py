"""Loading org.yaml: shape checks (pydantic) then cross-references, all with positions.

Every problem becomes a ConfigIssue `file:line:column: dotted.key: message`, and the
whole file is refused if there is any: nothing is applied from an invalid file.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

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
        raise ConfigError([doc.issue((), "expected a mapping with organization, users, channels...")])
    org = validate_document(OrgFile, doc)
    issues = check_references(org, doc, reserved_usernames, reserved_channel_names)
    if issues:
        raise ConfigError(issues)
    shifts, problems = expand_rota(org, doc)
    if problems:
        raise ConfigError(problems)
    org._rota_shifts = tuple(shifts)
    return org


def _line(doc: LoadedYaml, loc: tuple[str | int, ...]) -> str:
    pos = doc.position(loc)
    return f" (first at line {pos[0]})" if pos else ""


def _choices(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) if names else "none defined"


def check_references(
    org: OrgFile,
    doc: LoadedYaml,
    reserved_usernames: Collection[str] = (),
    reserved_channel_names: Collection[str] = (),
) -> list[ConfigIssue]:
    """Cross-section checks: duplicates, undefined groups/schedules/users, reserved names."""
    issues: list[ConfigIssue] = []
    first_user: dict[str, int] = {}
    for i, user in enumerate(org.users):
        issues += _name_issues(
            doc,
            ("users", i, "username"),
            "username",
            user.username,
            first_user,
            reserved_usernames,
            "the Carebridge bot",
        )
        for j, group in enumerate(user.groups):
            if group not in org.groups:
                issues.append(
                    doc.issue(
                        ("users", i, "groups", j),
                        f"undefined group {group!r}; expected one of: {_choices(org.groups)}",
                    )
                )
        if user.schedule is not None and user.schedule not in org.schedules:
            issues.append(
                doc.issue(
                    ("users", i, "schedule"),
                    f"undefined schedule {user.schedule!r}; expected one of: {_choices(org.schedules)}",
                )
            )

    first_channel: dict[str, int] = {}
    for i, channel in enumerate(org.channels):
        issues += _name_issues(
            doc,
            ("channels", i, "name"),
            "channel name",
            channel.name,
            first_channel,
            reserved_channel_names,
            "the admins' room",
        )
        for field in ("members", "post", "respond"):
            for j, ref in enumerate(getattr(channel, field)):
                problem = _ref_problem(ref, org, first_user)
                if problem:
                    issues.append(doc.issue(("channels", i, field, j), problem))

    for j, ref in enumerate(org.policy.channel_creators):
        problem = _ref_problem(ref, org, first_user)
        if problem:
            issues.append(doc.issue(("policy", "channel_creators", j), problem))
    issues += check_roles(org, doc)
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


def _ref_problem(ref: str, org: OrgFile, usernames: Collection[str]) -> str | None:
    kind, _, name = ref.partition(":")
    if kind == "group" and name not in org.groups:
        return f"undefined group {name!r} in {ref!r}; expected one of: {_choices(org.groups)}"
    if kind == "user" and name not in usernames:
        return f"undefined user {name!r} in {ref!r}; no user with that username in users"
    return None
