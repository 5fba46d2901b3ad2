"""The bridge's staff-experience features, wired into the running bridge (a Feature,
bridge/feature.py).

Consumers (post-commit, durable cursors): `channels` (client-created channels), `dms`
(DM registry and m.direct) and `calls`
(call log, person-to-person rule); and the missed-call watcher, which is planned from
the call log so it survives restarts. They act as the bot, so they are built when the
bridge starts the feature (before the dispatcher runs); the dispatcher is told their
names when the bridge is built. Commands: `!calls` and `!passwords`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.dispatcher import EventHandler
from bridge.archive.writer import ArchivedEvent
from bridge.commands.calls import calls_commands
from bridge.commands.framework import Command
from bridge.commands.passwords import initial_password_commands
from bridge.db.directory import Directory
from bridge.db.initial_passwords import InitialPasswords
from bridge.feature import Consumer, FeatureContext, Stage
from bridge.org.roster import RosterSource
from bridge.staff.calls.consumer import CallLog
from bridge.staff.calls.missed import MissedCallWatcher
from bridge.staff.calls.model import CALL_EVENTS
from bridge.staff.calls.store import CallStore
from bridge.staff.channels import CHANNEL_EVENT_TYPES, ClientChannels
from bridge.staff.dms import DM_EVENT_TYPES, DmRegistry
from config.settings import Settings


@dataclass(frozen=True)
class StaffConsumers:
    """The parts that act as the bot, built by StaffFeature.start."""

    dms: DmRegistry
    channels: ClientChannels
    missed: MissedCallWatcher
    call_log: CallLog


class StaffFeature:
    """Channels, DMs and calls as staff experience them."""

    stage = Stage.BOUND

    def __init__(self, settings: Settings, engine: AsyncEngine, roster: RosterSource) -> None:
        self.settings = settings
        self.engine = engine
        self.roster = roster
        self.calls = CallStore(engine)
        self.rows_in_chat = settings.compliance.report_rows_in_chat
        self._consumers: StaffConsumers | None = None

    @property
    def bound(self) -> StaffConsumers:
        """The started consumers (the dispatcher runs only after start)."""
        if self._consumers is None:
            raise RuntimeError("StaffFeature used before start()")
        return self._consumers

    def consumers(self) -> Sequence[Consumer]:
        """Client-created channels, the DM registry and the call log."""
        return (
            Consumer("channels", self._forward(lambda c: c.channels.handle), CHANNEL_EVENT_TYPES),
            Consumer("dms", self._forward(lambda c: c.dms.handle), DM_EVENT_TYPES),
            Consumer("calls", self._forward(lambda c: c.call_log.handle), CALL_EVENTS),
        )

    def _forward(self, pick: Callable[[StaffConsumers], EventHandler]) -> EventHandler:
        async def handle(archived: ArchivedEvent) -> None:
            await pick(self.bound)(archived)

        return handle

    def commands(self) -> Sequence[Command]:
        """`!calls` and `!passwords`."""
        marks = InitialPasswords(self.engine)
        return [
            *calls_commands(self.calls, self.roster, self.rows_in_chat),
            *initial_password_commands(Directory(self.engine), marks, self.rows_in_chat),
        ]

    async def _org_tz(self) -> tzinfo:
        return (await self.roster.roster()).tz

    async def start(self, ctx: FeatureContext) -> None:
        """Build the consumers as the bot and start the missed-call watcher."""
        intent, notices = ctx.intent, self.settings.calls
        missed = MissedCallWatcher(self.calls, intent, notices.missed_call_notice, tz=self._org_tz)
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
