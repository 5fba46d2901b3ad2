"""The Carebridge Synapse module: where policy is enforced (the appservice only observes).

Loaded by homeserver.yaml:

    modules:
      - module: policy.module.entry.CarebridgeModule
        config: {bot_user_id: "@carebridge:example.org", admin_room_alias: "#carebridge-admins:example.org"}

Every callback is wrapped by `policy.module.guard.guarded`, so an unexpected error is logged with
ids only and answered cleanly instead of breaking Synapse.
"""

from __future__ import annotations

import logging
from typing import Any

from synapse.module_api import ModuleApi

from policy.module.accounts import AccountRules
from policy.module.admin_api import AdminApiGuard
from policy.module.admin_room import AdminRoomRules
from policy.module.config import ModuleConfig
from policy.module.declared_uploads import DeclaredTypes
from policy.module.direct import DirectRoomsResource
from policy.module.guard import guarded
from policy.module.login_limits import RateLimitedLogins
from policy.module.media import MediaRules
from policy.module.messages import MessageRules
from policy.module.presence import PresenceRules
from policy.module.profiles import ProfileRules
from policy.module.redaction import RetentionRules
from policy.module.request_guard import RequestGuard
from policy.module.rooms import RoomRules
from policy.module.sessions import SessionRecorder
from policy.module.sign_in_limit import SignInLimiter

log = logging.getLogger("carebridge.module")


class CarebridgeModule:
    """Adapter between Synapse's module API and the pure rules in policy/."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        api.register_account_validity_callbacks(on_user_registration=self.on_user_registration)
        RoomRules(config, api).register()
        AdminRoomRules(config, api).register()
        MessageRules(config, api).register()
        PresenceRules(api).register()
        declared = DeclaredTypes()
        MediaRules(config, api, declared).register()
        DirectRoomsResource.register(config, api)
        self.sessions = SessionRecorder(config, api)
        sign_in = SignInLimiter(api, self.sessions, config.sign_in_failed_attempts)
        RequestGuard.register(api, frozenset(config.push_gateways), sign_in, declared)
        AdminApiGuard.register(api, self.sessions)
        RateLimitedLogins.install(api, self.sessions)
        AccountRules(config, api, self.sessions).register()
        ProfileRules(api, self.sessions).register()
        RetentionRules(config, api).register()
        if api.should_run_background_tasks():
            api.delayed_background_call(1000, self._ensure_bot_admin, desc="carebridge_bot_admin")

    @staticmethod
    def parse_config(config: Any) -> ModuleConfig:
        """Synapse calls this once with the `config:` mapping."""
        return ModuleConfig.parse(config)

    @guarded(on_error=None)
    async def on_user_registration(self, user_id: str) -> None:
        """The appservice bot becomes a server admin as soon as it is registered.

        It needs the admin API to provision accounts and revoke sessions
        (45 CFR 164.308(a)(3)(ii)(C) termination procedures); staff accounts never do.
        """
        if user_id == self.config.bot_user_id:
            await self.api.set_user_admin(user_id, True)
            log.info("granted server admin to the Carebridge bot %s", user_id)

    @guarded(on_error=None)
    async def _ensure_bot_admin(self) -> None:
        bot = self.config.bot_user_id
        if await self.api.check_user_exists(bot) and not await self.api.is_user_admin(bot):
            await self.api.set_user_admin(bot, True)
            log.info("granted server admin to the Carebridge bot %s", bot)
