"""The running bridge: database, archive writer, consumers, the appservice listener and the
three feature bundles (archive, compliance, staff; bridge.feature.Feature)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from aiohttp import web
from mautrix.appservice import ASStateStore
from mautrix.client.state_store import MemoryStateStore
from mautrix.types import RoomID
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.appservice import AIOHTTP_PARAMS, CarebridgeAppService
from bridge.archive.chain_key import ensure_chain_key
from bridge.archive.commit_log import CommitLog
from bridge.archive.dispatcher import Dispatcher
from bridge.archive.feature import ArchiveFeature
from bridge.archive.keyring import LiveKeyring
from bridge.archive.metrics import MeteredArchiveWriter, refresh_archive_gauges
from bridge.archive.writer import ArchiveWriter, IngestResult
from bridge.bootstrap import ensure_admin_room, wait_for_bot_admin
from bridge.commands.feature import CommandsFeature
from bridge.compliance.feature import ComplianceFeature
from bridge.core.clock import Clock
from bridge.core.metrics import instrument_engine, metrics_handler
from bridge.core.registration import Registration, load_registration
from bridge.core.synapse_http import SynapseHTTP
from bridge.db.engine import create_engine, migrate
from bridge.feature import Feature, FeatureContext, Stage
from bridge.health.readiness import Readiness
from bridge.org.source import org_directory
from bridge.role_api import add_roles_api
from bridge.roles.feature import RolesFeature
from bridge.staff.account_api import AccountApiSettings
from bridge.staff.feature import StaffFeature
from bridge.webclient import WebClientSettings, create_web_app
from config.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_WEBCLIENT_DIST = Path(__file__).resolve().parent.parent / "webclient" / "dist"


class _MemoryASStateStore(MemoryStateStore, ASStateStore):
    """mautrix state cache kept in memory (the archive is the durable record)."""

    def __init__(self) -> None:
        MemoryStateStore.__init__(self)
        ASStateStore.__init__(self)


@dataclass
class Bridge:
    """Everything the bridge process runs, started and stopped in order."""

    settings: Settings
    registration: Registration
    keyring: LiveKeyring
    engine: AsyncEngine
    appservice: CarebridgeAppService
    writer: ArchiveWriter
    dispatcher: Dispatcher
    # Every feature, in start order within its stage (bridge/feature.py).
    features: tuple[Feature, ...]
    readiness_http: SynapseHTTP
    admin_room_id: RoomID | None = None
    readiness: Readiness | None = None
    ready: bool = False
    _extra_runners: list[web.AppRunner] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> Bridge:
        """Build (not start) a bridge from validated settings; `clock` drives hand-overs and
        urgent timers (tests pass a manual one)."""
        registration = load_registration(settings.path(settings.bridge.registration))
        keyring = LiveKeyring(settings.path(settings.archive.key_file), settings.archive.key_env)
        engine = create_engine(settings.database_url)
        instrument_engine(engine)
        appservice = CarebridgeAppService(
            server=settings.synapse.url,
            domain=settings.server_name,
            as_token=registration.as_token,
            hs_token=registration.hs_token,
            bot_localpart=registration.sender_localpart,
            id=registration.id,
            log="carebridge.appservice",
            state_store=_MemoryASStateStore(),
            aiohttp_params=AIOHTTP_PARAMS,
        )
        heads = settings.archive
        commit_log = CommitLog(settings.path(heads.heads_log), keyring.chain_key, heads.heads_syslog)
        writer = MeteredArchiveWriter(engine, keyring, commit_log=commit_log)
        dispatcher = Dispatcher(engine, keyring)
        roster = org_directory(engine)
        archive = ArchiveFeature(settings, registration.as_token, engine, keyring, writer)
        compliance = ComplianceFeature(settings, engine, roster, registration.as_token)
        staff = StaffFeature(settings, engine, roster)
        roles = RolesFeature(settings.roles, engine, keyring, clock)
        offered = [
            command for feature in (compliance, staff, roles, archive) for command in feature.commands()
        ]
        commands = CommandsFeature(settings, engine, roster, offered)
        features: tuple[Feature, ...] = (compliance, staff, roles, commands, archive)
        for feature in features:
            for consumer in feature.consumers():
                dispatcher.add_consumer(consumer)
        bridge = cls(
            settings,
            registration,
            keyring,
            engine,
            appservice,
            writer,
            dispatcher,
            features,
            archive.http,
        )
        bridge.readiness = Readiness(
            settings.readiness,
            engine,
            bridge.readiness_http,
            appservice.ping_self,
            lambda: bridge.admin_room_id,
        )
        appservice.on_answer = bridge.readiness.record_answer
        appservice.on_reached = bridge.readiness.synapse_reached
        appservice.app.router.add_get("/_carebridge/health", bridge._health)
        appservice.app.router.add_get("/_carebridge/ready", bridge.readiness.handle)
        appservice.app.router.add_get("/metrics", metrics_handler([partial(refresh_archive_gauges, engine)]))
        return bridge

    @property
    def roles(self) -> RolesFeature:
        """The roles feature (hand-overs, urgent timers, the web client's role endpoints)."""
        return next(f for f in self.features if isinstance(f, RolesFeature))

    def _stage(self, stage: Stage) -> list[Feature]:
        return [feature for feature in self.features if feature.stage is stage]

    def _committed(self, result: IngestResult) -> None:
        self.dispatcher.offer(result.appended)

    async def _health(self, _request: web.Request) -> web.Response:
        """Liveness: 200 once started. The body still tells the truth about readiness
        (`ready`, `reasons`); /_carebridge/ready answers 503 on it."""
        reasons = self.readiness.reasons() if self.readiness is not None else []
        return web.json_response(
            {
                "started": self.ready,
                "ready": self.ready and not reasons,
                "reasons": reasons,
                "admin_room": self.admin_room_id,
            },
            status=200 if self.ready else 503,
        )

    async def start(self) -> None:
        """Migrate, listen, then make sure the bot and the admins' room exist."""
        await migrate(self.engine)
        # Before the first write: the chain key (added to an older keyring now), and the
        # head a crash may have left committed but not logged.
        await ensure_chain_key(self.engine, self.keyring)
        await self.writer.log_head()
        self.appservice.archive = self.writer
        self.appservice.on_committed = self._committed
        await self.appservice.start(self.settings.bridge.host, self.settings.bridge.port)
        log.info("appservice listening on %s:%d", self.settings.bridge.host, self.settings.bridge.port)
        intent = self.appservice.intent
        await intent.ensure_registered()
        await self._ping_synapse()
        await wait_for_bot_admin(intent)
        self.admin_room_id = await ensure_admin_room(
            intent, self.settings.bridge.admin_room_alias, self.settings.server_name
        )
        ctx = FeatureContext(intent, self.admin_room_id, self.dispatcher.notify)
        # Consumers that act as the bot are bound before the dispatcher runs.
        for feature in self._stage(Stage.BOUND):
            await feature.start(ctx)
        await self.dispatcher.start()
        for feature in self._stage(Stage.BACKGROUND):
            await feature.start(ctx)
        if self.settings.web.enabled:
            await self._start_web()
        self.ready = True
        self.appservice.ready = True
        if self.readiness is not None:
            self.readiness.start()
        log.info("bridge ready; bot %s, admin room %s", intent.mxid, self.admin_room_id)

    def web_settings(self) -> WebClientSettings:
        """What the web client is told about this deployment."""
        s = self.settings
        return WebClientSettings(
            dist_dir=s.web.dist_dir if s.web.dist_dir is not None else DEFAULT_WEBCLIENT_DIST,
            homeserver_url=s.synapse.public_url,
            server_name=s.server_name,
            organization_name=s.organization_name,
            primary_colour=s.web.primary_colour,
        )

    async def _start_web(self) -> None:
        """Serve the web client and .well-known on the public listener."""
        api = AccountApiSettings(synapse_url=self.settings.synapse.url, engine=self.engine)
        app = create_web_app(self.web_settings(), api)
        add_roles_api(app, self.roles)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.settings.web.host, self.settings.web.port).start()
        self._extra_runners.append(runner)
        log.info("web client on %s:%d", self.settings.web.host, self.settings.web.port)

    async def _ping_synapse(self) -> None:
        """Ask Synapse to ping us; on success it redelivers any transactions it queued
        while the bridge was down, instead of waiting out its retry back-off."""
        try:
            await self.appservice.ping_self()
        except Exception as exc:  # noqa: BLE001 - the retry back-off still delivers later
            log.warning("appservice ping failed (%s); Synapse will retry on its schedule", type(exc).__name__)

    async def stop(self) -> None:
        """Stop accepting transactions, finish consumers, close the database."""
        self.ready = False
        if self.readiness is not None:
            await self.readiness.stop()
        await self.appservice.stop()
        for feature in reversed(self._stage(Stage.BACKGROUND)):
            await feature.stop()
        await self.dispatcher.stop()
        for feature in reversed(self._stage(Stage.BOUND)):
            await feature.stop()
        for runner in self._extra_runners:
            await runner.cleanup()
        await self.writer.close()
        await self.engine.dispose()
