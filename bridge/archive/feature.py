"""The archive's background services in the bridge (a Feature, bridge/feature.py): media
copies (a consumer), reconciliation with Synapse at start, the chain-head scheduler, and
the comparison with Synapse (at start and at least hourly: bridge/archive/synapse_watch.py).
It runs in the background stage: started once the dispatcher runs, stopped before it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.heads import HeadScheduler, HeadsLog
from bridge.archive.keyring import Sealer
from bridge.archive.media import MEDIA_EVENT_TYPES, MediaArchiver
from bridge.archive.reconcile import Reconciler
from bridge.archive.synapse_check import compare_with_synapse
from bridge.archive.synapse_watch import SynapseWatch, http_poster
from bridge.archive.writer import ArchiveWriter
from bridge.commands.framework import Command
from bridge.core.clock import SystemClock
from bridge.core.synapse_http import SynapseHTTP
from bridge.feature import Consumer, FeatureContext, Stage
from config.settings import Settings

log = logging.getLogger(__name__)

MEDIA_CONSUMER = "archive-media"


class ArchiveFeature:
    """Media worker, start-up reconciliation, the chain-head scheduler and the scheduled
    comparison with Synapse."""

    stage = Stage.BACKGROUND

    def __init__(
        self,
        settings: Settings,
        as_token: str,
        engine: AsyncEngine,
        keyring: Sealer,
        writer: ArchiveWriter,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.writer = writer
        self.keyring = keyring
        self.http = SynapseHTTP(settings.synapse.url, as_token)
        self.media = MediaArchiver(
            engine,
            keyring,
            writer,
            self.http,
            settings.path(settings.archive.media_dir),
            settings.bot_user_id,
        )
        self.heads: HeadScheduler | None = None
        self.synapse_watch: SynapseWatch | None = None
        self._startup: asyncio.Task[None] | None = None
        self._notify: Callable[[], None] = lambda: None

    def consumers(self) -> Sequence[Consumer]:
        """The media copier."""
        return (Consumer(MEDIA_CONSUMER, self.media.enqueue, MEDIA_EVENT_TYPES),)

    def commands(self) -> Sequence[Command]:
        """None (`!verify` is a compliance command)."""
        return ()

    async def _after_start(self, admin_room_id: str) -> None:
        if self.settings.archive.reconcile_on_start:
            try:
                stats = await Reconciler(self.engine, self.writer, self.http).run()
                if stats.appended:
                    self._notify()
            except Exception as exc:  # noqa: BLE001 - Synapse's own retries still deliver
                log.warning("reconciliation failed (%s); continuing", type(exc).__name__)
        archive = self.settings.archive
        self.heads = HeadScheduler(
            self.engine,
            self.http,
            admin_room_id,
            archive.head_interval_minutes * 60,
            self.settings.bot_user_id,
            HeadsLog(self.settings.path(archive.heads_log), archive.heads_syslog),
            chain_key=self.keyring.chain_key,
        )
        self.heads.start()
        self.synapse_watch = SynapseWatch(
            self.engine,
            lambda: compare_with_synapse(self.engine, self.http),
            http_poster(self.http, admin_room_id),
            timedelta(minutes=archive.synapse_check_interval_minutes),
            SystemClock(),
        )
        self.synapse_watch.start()

    async def start(self, ctx: FeatureContext) -> None:
        """Start the media worker, then reconcile and publish heads (to the admins' room)
        in the background."""
        self._notify = ctx.archive_appended
        self.media.on_appended = ctx.archive_appended
        self.media.start()
        self._startup = asyncio.create_task(
            self._after_start(ctx.admin_room_id), name="carebridge-archive-start"
        )

    async def stop(self) -> None:
        """Stop every background task and close the HTTP client."""
        if self._startup is not None:
            self._startup.cancel()
            try:
                await self._startup
            except asyncio.CancelledError:
                pass
        if self.synapse_watch is not None:
            await self.synapse_watch.stop()
        if self.heads is not None:
            await self.heads.stop()
        await self.media.stop()
        await self.http.close()
