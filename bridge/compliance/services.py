"""Login/logout compliance inside the bridge: the sessions ledger, the bot commands and
the scheduler, wired to the dispatcher and started/stopped with the bridge (a Feature,
bridge.core.feature).

Other features add bot commands through `commands` (a CommandRegistry) before start.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain_key import chain_key_for
from bridge.archive.dispatcher import Dispatcher
from bridge.archive.writer import ArchivedEvent
from bridge.compliance.accounts import AccountLedger
from bridge.compliance.commands.compliance import register_compliance_commands
from bridge.compliance.commands.compliance_report import register_compliance_report
from bridge.compliance.commands.consumer import COMMAND_EVENT_TYPES, CommandConsumer
from bridge.compliance.commands.framework import CommandRegistry
from bridge.compliance.commands.matrix import MautrixBot
from bridge.compliance.commands.verify import ArchiveCheck
from bridge.compliance.reports import Reports
from bridge.compliance.roster import RosterSource
from bridge.compliance.scheduler import AdminApiTerminator, ComplianceScheduler
from bridge.compliance.sessions import SessionLedger
from bridge.core.clock import Clock, SystemClock
from bridge.core.feature import FeatureContext
from bridge.db.directory import Directory
from config.settings import Settings
from policy.account_record import ACCOUNT_EVENT_TYPE
from policy.session_record import SESSION_EVENT_TYPE


class ComplianceServices:
    """Everything compliance runs in the bridge process."""

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        directory: RosterSource,
        as_token: str,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.directory = directory
        self.clock: Clock = clock or SystemClock()
        self.admin_room_id: str | None = None
        self.commands = CommandRegistry()
        self.reports = Reports(engine, directory, self.clock)
        archive_check = ArchiveCheck(
            engine,
            settings.synapse.url,
            as_token,
            settings.bot_user_id,
            settings.path(settings.archive.media_dir),
            settings.path(settings.archive.heads_log),
            lambda: chain_key_for(settings.path(settings.archive.key_file), settings.archive.key_env),
        )
        register_compliance_commands(
            self.commands, self.reports, archive_check, self._room, settings.compliance.report_rows_in_chat
        )
        register_compliance_report(self.commands, settings, engine, as_token)
        self.ledger = SessionLedger(engine, settings.bot_user_id, self._room)
        self.accounts = AccountLedger(Directory(engine), settings.bot_user_id, self._room)
        self.consumer: CommandConsumer | None = None
        self.scheduler: ComplianceScheduler | None = None

    def _room(self) -> str | None:
        return self.admin_room_id

    def register(self, dispatcher: Dispatcher) -> None:
        """Add the ledger and the command consumer to the dispatcher (before it starts)."""
        dispatcher.add("compliance.sessions", self.ledger.handle, [SESSION_EVENT_TYPE])
        dispatcher.add("compliance.accounts", self.accounts.handle, [ACCOUNT_EVENT_TYPE])
        dispatcher.add("compliance.commands", self._commands, COMMAND_EVENT_TYPES)

    async def _commands(self, archived: ArchivedEvent) -> None:
        if self.consumer is not None:
            await self.consumer.handle(archived)

    async def start(self, ctx: FeatureContext) -> None:
        """Bind to the bot and the admins' room (call before the dispatcher starts)."""
        self.admin_room_id = ctx.admin_room_id
        bot = MautrixBot(ctx.intent)
        self.consumer = CommandConsumer(
            self.engine,
            self.commands,
            self.directory,
            bot,
            self.settings.bot_user_id,
            self.settings.server_name,
            self._room,
        )
        self.scheduler = ComplianceScheduler(
            self.engine,
            self.directory,
            self.reports,
            bot,
            AdminApiTerminator(ctx.intent),
            self.settings.compliance,
            self.clock,
            self._room,
        )
        if self.settings.compliance.scheduler_enabled:
            self.scheduler.start()

    async def stop(self) -> None:
        """Stop the scheduler (the dispatcher stops the consumers)."""
        if self.scheduler is not None:
            await self.scheduler.stop()
