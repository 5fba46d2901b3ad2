"""The bridge's staff-experience features, wired into the running bridge.

Consumers (post-commit, durable cursors): `channels` (client-created channels), `dms`
(DM registry and m.direct) and `calls`
(call log, person-to-person rule); and the missed-call watcher, which is planned from
the call log so it survives restarts.
"""

from __future__ import annotations

from datetime import tzinfo

from mautrix.appservice import IntentAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.dispatcher import Dispatcher
from bridge.compliance.commands.framework import CommandRegistry
from bridge.compliance.roster import RosterSource
from bridge.db.directory import Directory
from bridge.staff.calls.consumer import CallLog
from bridge.staff.calls.missed import MissedCallWatcher
from bridge.staff.calls.reporting import register_calls_command
from bridge.staff.calls.store import CallStore
from bridge.staff.channels import ClientChannels
from bridge.staff.dms import DmRegistry
from config.settings import Settings


class StaffFeatures:
    """Channels, DMs and calls as staff experience them (issue 6)."""

    def __init__(self, settings: Settings, engine: AsyncEngine, intent: IntentAPI) -> None:
        self.calls = CallStore(engine)
        self.rows_in_chat = settings.compliance.report_rows_in_chat
        self.dms = DmRegistry(engine, intent)
        self.channels = ClientChannels(Directory(engine), intent)
        self.missed = MissedCallWatcher(self.calls, intent, settings.calls.missed_call_notice)
        self.call_log = CallLog(
            self.calls, intent, settings.calls.one_to_one_notice, on_change=self.missed.poke
        )

    def install(self, dispatcher: Dispatcher) -> None:
        """Register the consumers (before the dispatcher starts)."""
        dispatcher.add("channels", self.channels.handle)
        dispatcher.add("dms", self.dms.handle)
        dispatcher.add("calls", self.call_log.handle)

    def register_commands(self, registry: CommandRegistry, directory: RosterSource) -> None:
        """Add `!calls` to the compliance bot; notices then use the organisation's time zone."""
        register_calls_command(registry, self.calls, directory, self.rows_in_chat)

        async def org_tz() -> tzinfo:
            return (await directory.roster()).tz

        self.missed.tz = org_tz

    async def start(self) -> None:
        """Start the missed-call watcher."""
        await self.missed.start()

    async def stop(self) -> None:
        """Stop the missed-call watcher."""
        await self.missed.stop()
