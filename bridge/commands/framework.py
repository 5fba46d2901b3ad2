"""Commands as data: a registry of `!name` handlers, argument helpers and replies."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from bridge.core.report_table import ReportTable, table_html, to_plain

_COMMAND = re.compile(r"^!([a-z][a-z0-9_-]{0,31})(?:\s+(.*))?$", re.DOTALL)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_USER = re.compile(r"^@[^:\s]+:\S+$")
_LOCALPART = re.compile(r"^@?[a-z0-9._=/-]+$")


class CommandError(Exception):
    """A problem with what the administrator typed; the message is shown to them."""


@dataclass(frozen=True)
class Attachment:
    """A file to upload and post with the reply."""

    filename: str
    mimetype: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """One message from the bot: plain text, optional HTML, optional file."""

    plain: str
    html: str | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True)
class Invocation:
    """A command as typed: who, where, which event, and its arguments."""

    name: str
    args: tuple[str, ...]
    sender: str
    room_id: str
    event_id: str
    server_name: str


CommandHandler = Callable[[Invocation], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """A `!name` the bot answers. Only administrators may run commands, except `staff`
    ones (e.g. `!who ROLE`), which every active member of the organisation may run,
    wherever the bot is a member."""

    name: str
    usage: str
    summary: str
    handler: CommandHandler
    staff: bool = False


@dataclass
class CommandRegistry:
    """Commands by name, in the order they were added (that is the !help order)."""

    commands: dict[str, Command] = field(default_factory=dict)

    def add(self, command: Command) -> None:
        """Register a command; a name may be registered once."""
        if command.name in self.commands:
            raise ValueError(f"command !{command.name} is already registered")
        self.commands[command.name] = command

    def get(self, name: str) -> Command | None:
        """The command called `name`, if any."""
        return self.commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        """Commands in registration order."""
        return iter(self.commands.values())


def parse_command(body: object) -> tuple[str, tuple[str, ...]] | None:
    """ "!logins 2024-05-15 @jdoe:x" -> ("logins", ("2024-05-15", "@jdoe:x")); else None."""
    if not isinstance(body, str):
        return None
    match = _COMMAND.match(body.strip())
    if match is None:
        return None
    rest = match.group(2) or ""
    return match.group(1), tuple(rest.split())


def parse_date(text: str, today: date) -> date:
    """YYYY-MM-DD, "today" or "yesterday"; raises CommandError otherwise."""
    lowered = text.lower()
    if lowered == "today":
        return today
    if lowered == "yesterday":
        return today - timedelta(days=1)
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CommandError(f"{text!r} is not a date: use YYYY-MM-DD, today or yesterday")


def parse_user(text: str, server_name: str) -> str:
    """@user:server, or a bare username on this server; raises CommandError otherwise."""
    if _USER.match(text):
        return text
    if _LOCALPART.match(text):
        return f"@{text.lstrip('@')}:{server_name}"
    raise CommandError(f"{text!r} is not a user: use @username:{server_name} or username")


def is_date_like(text: str) -> bool:
    """Could this argument be meant as a date?"""
    return bool(_DATE.match(text)) or text.lower() in ("today", "yesterday")


def table_reply(table: ReportTable, limit: int, empty: str = "(none)") -> Reply:
    """A table as a chat message, cut at `limit` rows with a pointer to the full report."""
    shown = table
    if len(table.rows) > limit:
        more = len(table.rows) - limit
        note = f"... and {more} more row(s): use !report or `carebridge report` for everything. {table.note}"
        shown = ReportTable(table.title, table.columns, table.rows[:limit], note.strip())
    return Reply(to_plain(shown, empty), table_html(shown, empty))
