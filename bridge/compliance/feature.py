"""Login/logout compliance inside the bridge (a Feature, bridge/feature.py): the sessions
and accounts ledgers (consumers), the compliance commands and the scheduler."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain_key import chain_key_for
from bridge.commands.compliance import compliance_commands
from bridge.commands.compliance_report import compliance_report_commands
from bridge.commands.framework import Command
from bridge.commands.matrix import MautrixBot
from bridge.commands.verify import ArchiveCheck
from bridge.compliance.accounts import AccountLedger
from bridge.compliance.reports import Reports
from bridge.compliance.scheduler import AdminApiTerminator, ComplianceScheduler
from bridge.compliance.sessions import SessionLedger
from bridge.core.clock import Clock, SystemClock
from bridge.db.directory import Directory
from bridge.feature import Consumer, FeatureContext, Stage
from bridge.org.roster import RosterSource
from config.settings import Settings
from policy.event_types import ACCOUNT_EVENT_TYPE, SESSION_EVENT_TYPE


class ComplianceFeature:
    """Everything compliance runs in the bridge process."""

    stage = Stage.BOUND

    def __init__(
        self,
        settings: Settings,
        engine: AsyncEngine,
        roster: RosterSource,
        as_token: str,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.roster = roster
        self.as_token = as_token
        self.clock: Clock = clock or SystemClock()
        self.admin_room_id: str | None = None
        self.reports = Reports(engine, roster, self.clock)
        self.ledger = SessionLedger(engine, settings.bot_user_id, self._room)
        self.accounts = AccountLedger(Directory(engine), settings.bot_user_id, self._room)
        self.scheduler: ComplianceScheduler | None = None

    def _room(self) -> str | None:
        return self.admin_room_id

    def consumers(self) -> Sequence[Consumer]:
        """The sessions and accounts ledgers."""
        return (
            Consumer("compliance.sessions", self.ledger.handle, [SESSION_EVENT_TYPE]),
            Consumer("compliance.accounts", self.accounts.handle, [ACCOUNT_EVENT_TYPE]),
        )

    def commands(self) -> Sequence[Command]:
        """!online !logins !missing !sessions !report !verify !compliance."""
        s = self.settings
        archive_check = ArchiveCheck(
            self.engine,
            s.synapse.url,
            self.as_token,
            s.bot_user_id,
            s.path(s.archive.media_dir),
            s.path(s.archive.heads_log),
            lambda: chain_key_for(s.path(s.archive.key_file), s.archive.key_env),
        )
        return [
            *compliance_commands(self.reports, archive_check, self._room, s.compliance.report_rows_in_chat),
            *compliance_report_commands(s, self.engine, self.as_token),
        ]

    async def start(self, ctx: FeatureContext) -> None:
        """Bind to the bot and the admins' room; start the scheduler if enabled."""
        self.admin_room_id = ctx.admin_room_id
        self.scheduler = ComplianceScheduler(
            self.engine,
            self.roster,
            self.reports,
            MautrixBot(ctx.intent),
            AdminApiTerminator(ctx.intent),
            self.settings.compliance,
            self.clock,
            self._room,
        )
        if self.settings.compliance.scheduler_enabled:
            self.scheduler.start()

    async def stop(self) -> None:
        """Stop the scheduler."""
        if self.scheduler is not None:
            await self.scheduler.stop()
