"""The bridge's staff-experience features, wired into the running bridge (a Feature,
bridge.core.feature).

Consumers (post-commit, durable cursors): `channels` (client-created channels), `dms`
(DM registry and m.direct) and `calls`
(call log, person-to-person rule); and the missed-call watcher, which is planned from
the call log so it survives restarts. They act as the bot, so they are built when the
bridge starts the bundle (before the dispatcher runs); the dispatcher is told their
names when the bridge is built.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.dispatcher import Dispatcher, EventHandler
from bridge.archive.writer import ArchivedEvent
from bridge.compliance.commands.framework import CommandRegistry
from bridge.compliance.roster import RosterSource
from bridge.core.feature import FeatureContext
from bridge.db.directory import Directory
from bridge.db.initial_passwords import InitialPasswords
from bridge.staff.calls.consumer import CallLog
from bridge.staff.calls.missed import MissedCallWatcher
from bridge.staff.calls.model import CALL_EVENTS
from bridge.staff.calls.reporting import register_calls_command
from bridge.staff.calls.store import CallStore
from bridge.staff.channels import CHANNEL_EVENT_TYPES, ClientChannels
from bridge.staff.dms import DM_EVENT_TYPES, DmRegistry
from bridge.staff.initial_password_command import register_initial_password_command
from config.settings import Settings


@dataclass(frozen=True)
class StaffConsumers:
    """The parts that act as the bot, built by StaffFeatures.start."""

    dms: DmRegistry
    channels: ClientChannels
    missed: MissedCallWatcher
    call_log: CallLog


class StaffFeatures:
    """Channels, DMs and calls as staff experience them."""

    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self.calls = CallStore(engine)
        self.rows_in_chat = settings.compliance.report_rows_in_chat
        self._tz: Callable[[], Awaitable[tzinfo]] | None = None
        self._consumers: StaffConsumers | None = None

    @property
    def consumers(self) -> StaffConsumers:
        """The started consumers (the dispatcher runs only after start)."""
        if self._consumers is None:
            raise RuntimeError("StaffFeatures used before start()")
        return self._consumers

    def register(self, dispatcher: Dispatcher) -> None:
        """Register the consumers (before the dispatcher starts)."""
        dispatcher.add("channels", self._forward(lambda c: c.channels.handle), CHANNEL_EVENT_TYPES)
        dispatcher.add("dms", self._forward(lambda c: c.dms.handle), DM_EVENT_TYPES)
        dispatcher.add("calls", self._forward(lambda c: c.call_log.handle), CALL_EVENTS)

    def _forward(self, pick: Callable[[StaffConsumers], EventHandler]) -> EventHandler:
        async def handle(archived: ArchivedEvent) -> None:
            await pick(self.consumers)(archived)

        return handle

    def register_commands(self, registry: CommandRegistry, directory: RosterSource) -> None:
        """Add `!calls` and `!passwords` to the compliance bot; notices then use the
        organisation's time zone."""
        register_calls_command(registry, self.calls, directory, self.rows_in_chat)
        register_initial_password_command(
            registry, Directory(self.engine), InitialPasswords(self.engine), self.rows_in_chat
        )

        async def org_tz() -> tzinfo:
            return (await directory.roster()).tz

        self._tz = org_tz

    async def start(self, ctx: FeatureContext) -> None:
        """Build the consumers as the bot and start the missed-call watcher."""
        intent, notices = ctx.intent, self.settings.calls
        missed = MissedCallWatcher(self.calls, intent, notices.missed_call_notice, tz=self._tz)
        self._consumers = StaffConsumers(
            dms=DmRegistry(self.engine, intent),
            channels=ClientChannels(Directory(self.engine), intent),
            missed=missed,
            call_log=CallLog(self.calls, intent, notices.one_to_one_notice, on_change=missed.poke),
        )
        await missed.start()

    async def stop(self) -> None:
        """Stop the missed-call watcher."""
        if self._consumers is not None:
            await self._consumers.missed.stop()
