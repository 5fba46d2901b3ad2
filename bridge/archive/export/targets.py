"""What an administrator typed after `carebridge export --room/--user`, resolved to ids.

A room can be given as its id (`!abc:server`), its alias (`#icu:server`, or `#icu`) or a
channel name (`icu`); a person as `@drlee:server` or `drlee`. Each is looked up in the
Carebridge directory and the archive (and an alias the directory does not know, such as
the administrators' room's, through the homeserver when it is reachable). Anything that
does not resolve to a room or person the archive knows is refused with a message saying
what was tried, before any file or audit record is written: an export that silently
finds nothing would look like proof that nothing was said.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.tables import archive_events, directory_channels, directory_users

AliasLookup = Callable[[str], Awaitable[str | None]]


class ExportTargetError(Exception):
    """The room or person given cannot be resolved; the message says why."""


async def _archived(engine: AsyncEngine, column: str, value: str) -> bool:
    t = archive_events
    async with engine.connect() as conn:
        row = (await conn.execute(select(t.c.seq).where(t.c[column] == value).limit(1))).first()
    return row is not None


async def resolve_room(
    engine: AsyncEngine, given: str, server_name: str, lookup_alias: AliasLookup | None = None
) -> str:
    """The room id for `given` (id, alias or channel name), or ExportTargetError."""
    text = given.strip()
    if not text:
        raise ExportTargetError("--room is empty; give a room id, an alias (#name) or a channel name")
    if text.startswith("!"):
        if await _archived(engine, "room_id", text):
            return text
        raise ExportTargetError(f"the archive holds nothing from room {text}; check the room id")
    if text.startswith("#"):
        localpart, _, server = text[1:].partition(":")
        if server and server != server_name:
            raise ExportTargetError(f"{text} is not an address on this server ({server_name})")
        alias = f"#{localpart}:{server_name}"
    else:
        localpart, alias = text, f"#{text}:{server_name}"
    c = directory_channels
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(c.c.room_id).where((c.c.alias == alias) | (c.c.name == localpart)))
        ).first()
    room_id = str(row.room_id) if row is not None else None
    if room_id is None and lookup_alias is not None:
        room_id = await lookup_alias(alias)
    if room_id is None:
        raise ExportTargetError(
            f"no channel or room {alias} (looked for the channel name {localpart!r} and the alias); "
            "`carebridge provision plan` lists the channels, or give the room id (!…)"
        )
    if not await _archived(engine, "room_id", room_id):
        raise ExportTargetError(f"{alias} is room {room_id}, but the archive holds nothing from it")
    return room_id


async def resolve_user(engine: AsyncEngine, given: str, server_name: str) -> str:
    """The user id for `given` (`@name:server` or `name`), or ExportTargetError."""
    text = given.strip()
    if not text:
        raise ExportTargetError("--user is empty; give a username or a user id (@name:server)")
    if text.startswith("@"):
        localpart, _, server = text[1:].partition(":")
        if server and server != server_name:
            raise ExportTargetError(f"{text} is not an account on this server ({server_name})")
    else:
        localpart = text
    user_id = f"@{localpart}:{server_name}"
    u = directory_users
    async with engine.connect() as conn:
        known = (await conn.execute(select(u.c.user_id).where(u.c.user_id == user_id))).first()
    if known is None and not await _archived(engine, "sender", user_id):
        raise ExportTargetError(
            f"no account {user_id} in the directory or the archive; `carebridge user list --all` "
            "lists every account"
        )
    return user_id
