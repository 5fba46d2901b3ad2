"""The bot's commands as a feature: one registry of every feature's `!commands` (with
`!help` first), answered by the command consumer as the bot."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.writer import ArchivedEvent
from bridge.commands.consumer import COMMAND_EVENT_TYPES, CommandConsumer
from bridge.commands.framework import Command, CommandRegistry, Invocation, Reply
from bridge.commands.matrix import MautrixBot
from bridge.feature import Consumer, FeatureContext, Stage
from bridge.org.roster import RosterSource
from config.settings import Settings

INTRO = "Carebridge compliance bot. Dates are YYYY-MM-DD, today or yesterday."
# The consumer's durable cursor keeps the name it had when commands were part of compliance.
CONSUMER_NAME = "compliance.commands"


def help_command(registry: CommandRegistry) -> Command:
    """`!help`: every command the registry holds, in registration order."""

    async def help_(_inv: Invocation) -> list[Reply]:
        lines = [f"{c.usage} - {c.summary}" for c in registry]
        items = "".join(
            f"<li><code>{html.escape(c.usage)}</code> - {html.escape(c.summary)}</li>" for c in registry
        )
        return [Reply(INTRO + "\n" + "\n".join(lines), f"<p>{INTRO}</p><ul>{items}</ul>")]

    return Command("help", "!help", "this list", help_)


class CommandsFeature:
    """Answers `!commands` in the administrators' room and in direct chats with the bot."""

    stage = Stage.BOUND

    def __init__(
        self, settings: Settings, engine: AsyncEngine, roster: RosterSource, commands: Iterable[Command]
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.roster = roster
        self.registry = CommandRegistry()
        self.registry.add(help_command(self.registry))
        for command in commands:
            self.registry.add(command)
        self.admin_room_id: str | None = None
        self._consumer: CommandConsumer | None = None

    def _room(self) -> str | None:
        return self.admin_room_id

    def consumers(self) -> Sequence[Consumer]:
        """The command consumer."""
        return (Consumer(CONSUMER_NAME, self._handle, COMMAND_EVENT_TYPES),)

    def commands(self) -> Sequence[Command]:
        """None of its own beyond `!help` (already in the registry)."""
        return ()

    async def _handle(self, archived: ArchivedEvent) -> None:
        if self._consumer is not None:
            await self._consumer.handle(archived)

    async def start(self, ctx: FeatureContext) -> None:
        """Answer as the bot from now on."""
        self.admin_room_id = ctx.admin_room_id
        self._consumer = CommandConsumer(
            self.engine,
            self.registry,
            self.roster,
            MautrixBot(ctx.intent),
            self.settings.bot_user_id,
            self.settings.server_name,
            self._room,
        )

    async def stop(self) -> None:
        """Nothing runs in the background (the dispatcher stops the consumer)."""
