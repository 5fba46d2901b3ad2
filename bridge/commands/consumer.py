"""Answering bot commands: a Dispatcher consumer over archived events.

A command is an m.room.message whose body starts with `!name`, typed in the
administrators' room or in a direct chat between one person and the bot (the bot accepts
direct-chat invitations). Administrators get an answer; anyone else gets a polite refusal,
and the attempt is recorded in `bot_commands` and announced in the administrators' room
(so it is archived too). Each command is answered once: the dispatcher may hand us an
event again after a crash, so `bot_commands` remembers what was answered, and replies use
transaction ids derived from the event id. 45 CFR 164.312(b) audit controls;
164.312(a)(1) access control.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchivedEvent
from bridge.commands.framework import (
    Command,
    CommandError,
    CommandRegistry,
    Invocation,
    Reply,
    parse_command,
)
from bridge.commands.matrix import BotClient, txn_id_for
from bridge.core.clock import now_ms
from bridge.db.tables import bot_commands
from bridge.org.roster import RosterSource
from policy.event_types import REFUSED_COMMAND_KEY

log = logging.getLogger(__name__)

REFUSAL = (
    "Sorry, the Carebridge compliance commands are for administrators only. "
    "If you need a report, please ask your administrator."
)


# The event types the command consumer handles (the dispatcher hides the rest).
COMMAND_EVENT_TYPES = frozenset({"m.room.member", "m.room.message"})


class CommandConsumer:
    """Turns archived `!commands` into answers."""

    def __init__(
        self,
        engine: AsyncEngine,
        registry: CommandRegistry,
        directory: RosterSource,
        bot: BotClient,
        bot_user_id: str,
        server_name: str,
        admin_room: Callable[[], str | None],
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.directory = directory
        self.bot = bot
        self.bot_user_id = bot_user_id
        self.server_name = server_name
        self.admin_room = admin_room

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher entry point."""
        event = archived.event
        if event.get("sender") == self.bot_user_id:
            return
        if event.get("type") == "m.room.member":
            await self._maybe_accept_invite(event)
        elif event.get("type") == "m.room.message":
            await self._maybe_command(event)

    async def _maybe_accept_invite(self, event: dict[str, Any]) -> None:
        content = event.get("content") or {}
        if (
            event.get("state_key") == self.bot_user_id
            and content.get("membership") == "invite"
            and content.get("is_direct") is True
            and str(event.get("sender", "")).endswith(f":{self.server_name}")
        ):
            await self.bot.join(str(event["room_id"]))
            log.info("joined direct chat %s (invited by %s)", event["room_id"], event["sender"])

    async def _where_answered(self, room_id: str, sender: str, staff: bool = False) -> bool:
        """The admins' room and a direct chat with the bot; a staff command also in any
        room the bot and the sender are both in (a role room, a channel)."""
        if room_id == self.admin_room():
            return True
        try:
            members = await self.bot.joined_members(room_id)
        except Exception:  # noqa: BLE001 - not a room the bot is in: not for us
            return False
        if staff:
            return {self.bot_user_id, sender} <= members
        return members == {self.bot_user_id, sender}

    async def _maybe_command(self, event: dict[str, Any]) -> None:
        content = event.get("content") or {}
        if content.get("msgtype") not in ("m.text", "m.notice", None):
            return
        parsed = parse_command(content.get("body"))
        if parsed is None:
            return
        room_id, sender, event_id = str(event["room_id"]), str(event["sender"]), str(event["event_id"])
        name, args = parsed
        command = self.registry.get(name)
        staff = command is not None and command.staff
        if not await self._where_answered(room_id, sender, staff):
            return
        allowed = await self.directory.is_admin(sender) or (staff and await self._is_member(sender))
        if not await self._claim(event_id, room_id, sender, name, allowed):
            return  # answered before (at-least-once delivery)
        log.info("command !%s from %s in %s (allowed=%s)", name, sender, room_id, allowed)
        if allowed:
            replies = await self._run(
                self.registry.get(name), Invocation(name, args, sender, room_id, event_id, self.server_name)
            )
        else:
            replies = [Reply(REFUSAL)]
        for index, reply in enumerate(replies):
            await self._send(room_id, event_id, index, reply)
        if not allowed and room_id != self.admin_room():
            await self._announce_refusal(name, sender, room_id, event_id)
        async with self.engine.begin() as conn:
            await conn.execute(
                update(bot_commands).where(bot_commands.c.event_id == event_id).values(answered_ts=now_ms())
            )

    async def _is_member(self, user_id: str) -> bool:
        """An active member of the organisation (staff commands are theirs too)."""
        person = (await self.directory.roster()).people.get(user_id)
        return person is not None and person.active

    async def _claim(self, event_id: str, room_id: str, sender: str, name: str, allowed: bool) -> bool:
        """Record the command; False if it was already answered."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(bot_commands.c.answered_ts).where(bot_commands.c.event_id == event_id)
                )
            ).first()
            if row is None:
                await conn.execute(
                    insert(bot_commands).values(
                        event_id=event_id,
                        room_id=room_id,
                        sender=sender,
                        command=name[:32],
                        allowed=allowed,
                        received_ts=now_ms(),
                    )
                )
                return True
            # Seen but not answered: the bridge stopped mid-answer. Answer again; the
            # transaction ids make Synapse drop replies it already has.
            return row[0] is None

    async def _run(self, command: Command | None, invocation: Invocation) -> list[Reply]:
        if command is None:
            return [Reply(f"Unknown command !{invocation.name}. Type !help for the list.")]
        try:
            return await command.handler(invocation)
        except CommandError as exc:
            return [Reply(f"{exc}\nUsage: {command.usage}")]
        except Exception:
            log.exception("command !%s failed (event %s)", invocation.name, invocation.event_id)
            return [Reply(f"Sorry, !{invocation.name} failed; the error is in the bridge log.")]

    async def _send(self, room_id: str, event_id: str, index: int, reply: Reply) -> None:
        relates = {"m.in_reply_to": {"event_id": event_id}}
        if reply.plain:
            content: dict[str, Any] = {"msgtype": "m.notice", "body": reply.plain, "m.relates_to": relates}
            if reply.html is not None:
                content["format"] = "org.matrix.custom.html"
                content["formatted_body"] = reply.html
            await self.bot.send(room_id, content, txn_id_for(event_id, index * 2))
        if reply.attachment is not None:
            a = reply.attachment
            mxc = await self.bot.upload(a.data, a.mimetype, a.filename)
            content = {
                "msgtype": "m.file",
                "body": a.filename,
                "filename": a.filename,
                "url": mxc,
                "info": {"mimetype": a.mimetype, "size": len(a.data)},
                "m.relates_to": relates,
            }
            await self.bot.send(room_id, content, txn_id_for(event_id, index * 2 + 1))

    async def _announce_refusal(self, name: str, sender: str, room_id: str, event_id: str) -> None:
        admin_room = self.admin_room()
        if admin_room is None:
            return
        text = f"Refused !{name} from {sender} (not an administrator) in {room_id}."
        await self.bot.send(
            admin_room,
            {"msgtype": "m.notice", "body": text, REFUSED_COMMAND_KEY: {"event_id": event_id}},
            txn_id_for(event_id, 1000),
        )
