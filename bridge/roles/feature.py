"""Roles on shift and urgent messages, wired into the running bridge (a Feature,
bridge/feature.py).

The consumer `roles` (post-commit, durable cursor) routes messages to roles and starts
urgent timers; one background loop runs the hand-overs (bridge/roles/handover.py) and the
urgent timers (bridge/roles/urgent_timers.py) on the injected clock. The loop sleeps
until the next hand-over or alert falls due (at most `roles.max_wait_seconds`; every
`roles.receipt_poll_seconds` while urgent messages are unread), and a pass can be run
at any time with `run_once()` (tests on a manual clock do exactly that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.keyring import Sealer
from bridge.archive.writer import ArchivedEvent
from bridge.commands.framework import Command
from bridge.core.clock import Clock, SystemClock
from bridge.core.tasks import cancel_and_wait
from bridge.db.directory import Directory
from bridge.feature import Consumer, FeatureContext, Stage
from bridge.roles.commands import role_commands
from bridge.roles.desk import Desk
from bridge.roles.handover import HandOverPass, HandOvers
from bridge.roles.messages import ROLE_EVENT_TYPES, RoleMessages
from bridge.roles.service import RoleService
from bridge.roles.store import RoleStore
from bridge.roles.urgent_store import UrgentStore
from bridge.roles.urgent_timers import UrgentPass, UrgentTimers
from config.settings import RolesSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RolesPass:
    """One pass of the loop: hand-overs, then urgent timers."""

    handovers: HandOverPass
    urgent: UrgentPass


class RolesFeature:
    """Roles, hand-overs, urgent messages and away status."""

    stage = Stage.BOUND

    def __init__(
        self, settings: RolesSettings, engine: AsyncEngine, keyring: Sealer, clock: Clock | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.keyring = keyring
        self.clock: Clock = clock or SystemClock()
        self.store = RoleStore(engine)
        self.urgent = UrgentStore(engine)
        self.desk: Desk | None = None
        self.handovers: HandOvers | None = None
        self.timers: UrgentTimers | None = None
        self.messages: RoleMessages | None = None
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def consumers(self) -> Sequence[Consumer]:
        """`roles`: messages to roles, urgent messages, replies that count as read."""
        return (Consumer("roles", self._handle, ROLE_EVENT_TYPES),)

    def commands(self) -> Sequence[Command]:
        """`!who`, `!roles`, `!role`, `!take`, `!release`, `!away`, `!back` (staff may use them)."""
        return role_commands(self.service)

    def service(self) -> RoleService:
        """The staff-facing actions (raises RoleError while the bridge is starting)."""
        return RoleService(self.desk, self.run_once)

    async def _handle(self, archived: ArchivedEvent) -> None:
        if self.messages is None:
            raise RuntimeError("RolesFeature used before start()")
        await self.messages.handle(archived)

    async def start(self, ctx: FeatureContext) -> None:
        """Bind to the bot and the admins' room; start the loop."""
        admin_room = ctx.admin_room_id
        self.desk = Desk(
            ctx.intent, self.store, self.urgent, Directory(self.engine), lambda: admin_room, self.clock
        )
        self.handovers = HandOvers(self.desk)
        self.timers = UrgentTimers(self.desk, self.keyring)
        self.timers._poke = self._wake.set
        self.messages = RoleMessages(self.desk, self.timers)
        if self.settings.timers_enabled:
            self._task = asyncio.create_task(self._loop(), name="carebridge-roles")

    async def stop(self) -> None:
        """Stop the loop after its current pass."""
        await cancel_and_wait(self._task)
        self._task = None

    def poke(self) -> None:
        """Run a pass soon (an assignment or away status changed)."""
        self._wake.set()

    async def run_once(self) -> RolesPass:
        """Hand-overs then urgent timers at the clock's instant (one pass at a time)."""
        if self.handovers is None or self.timers is None:
            raise RuntimeError("RolesFeature used before start()")
        async with self._lock:
            return RolesPass(await self.handovers.run_once(), await self.timers.run_once())

    async def _loop(self) -> None:
        while True:
            delay = self.settings.max_wait_seconds
            try:
                done = await self.run_once()
                now_s = self.clock.now().timestamp()
                dues = [d for d in (done.handovers.next_due_ms, done.urgent.next_due_ms) if d is not None]
                if dues:
                    delay = min(delay, max(0.2, min(dues) / 1000 - now_s))
                if await self.urgent.open_rows():
                    delay = min(delay, self.settings.receipt_poll_seconds)
            except Exception:
                log.exception("roles pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
