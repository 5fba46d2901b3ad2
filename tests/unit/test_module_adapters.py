"""The Carebridge Synapse module's adapters against a `Mock(spec=ModuleApi)`: what the module
registers with Synapse, that guarded callbacks contain errors, and that the history-retention
adapter turns policy decisions into Synapse's answers. No Synapse process (the end-to-end
tests drive the same callbacks through a real Synapse)."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from synapse.module_api import ModuleApi
from synapse.module_api.errors import SynapseError

from policy.direct import DIRECT_PATH
from policy.encryption import ENCRYPTION_DISABLED
from policy.module.admin_api import GUARDED_PREFIX as ADMIN_GUARDED_PREFIX
from policy.module.config import ModuleConfig
from policy.module.entry import CarebridgeModule
from policy.module.guard import guarded
from policy.module.redaction import RetentionRules
from policy.module.request_guard import GUARDED_PREFIX
from policy.redaction import HISTORY_RETAINED

BOT = "@carebridge:clinic.example"
CONFIG = ModuleConfig.parse({"bot_user_id": BOT, "admin_room_alias": "#carebridge-admins:clinic.example"})


def module_api(background: bool = False) -> Mock:
    api = Mock(spec=ModuleApi)
    api.should_run_background_tasks.return_value = background
    api.is_mine.side_effect = lambda user_id: str(user_id).endswith(":clinic.example")
    return api


def registered(register: Mock) -> set[str]:
    """The callback names passed to every call of one register_* method."""
    return {name for call in register.call_args_list for name in call.kwargs}


def event(event_type: str, sender: str, state: bool = False) -> Any:
    return SimpleNamespace(
        type=event_type, sender=sender, room_id="!r:clinic.example", is_state=lambda: state
    )


def test_module_registers_every_enforcement_callback() -> None:
    api = module_api()
    module = CarebridgeModule(CONFIG, api)
    spam = registered(api.register_spam_checker_callbacks)
    assert {
        "user_may_create_room",
        "user_may_invite",
        "user_may_send_3pid_invite",
        "check_event_for_spam",
        "user_may_publish_room",
        "user_may_create_room_alias",
        "check_media_file_for_spam",
        "check_login_for_spam",
    } <= spam
    rules = registered(api.register_third_party_rules_callbacks)
    assert {"check_event_allowed", "on_create_room", "check_can_shutdown_room"} <= rules
    assert {"get_users_for_states", "get_interested_users"} <= registered(
        api.register_presence_router_callbacks
    )
    assert {"get_media_config_for_user", "is_user_allowed_to_upload_media_of_size"} <= registered(
        api.register_media_repository_callbacks
    )
    assert "on_user_registration" in registered(api.register_account_validity_callbacks)
    served = {call.args[0] for call in api.register_web_resource.call_args_list}
    assert served == {DIRECT_PATH, GUARDED_PREFIX, ADMIN_GUARDED_PREFIX}
    assert module.config is CONFIG
    api.delayed_background_call.assert_not_called()


def test_module_checks_the_bot_is_admin_only_where_background_tasks_run() -> None:
    api = module_api(background=True)
    module = CarebridgeModule(CONFIG, api)
    api.delayed_background_call.assert_called_once()
    assert api.delayed_background_call.call_args.args[1] == module._ensure_bot_admin


async def test_registration_makes_only_the_bot_a_server_admin() -> None:
    api = module_api()
    api.set_user_admin = AsyncMock()
    module = CarebridgeModule(CONFIG, api)
    await module.on_user_registration("@nurse:clinic.example")
    api.set_user_admin.assert_not_called()
    await module.on_user_registration(BOT)
    api.set_user_admin.assert_awaited_once_with(BOT, True)


async def test_guard_logs_the_exception_type_only_and_returns_the_fallback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @guarded(on_error="fallback")
    async def callback(secret: str) -> str:
        raise ValueError(f"broken by {secret}")

    with caplog.at_level(logging.ERROR, logger="carebridge.module"):
        assert await callback("hunter2-body") == "fallback"
    assert "callback" in caplog.text and "ValueError" in caplog.text
    assert "hunter2-body" not in caplog.text


async def test_guard_passes_answers_through_unchanged() -> None:
    @guarded(on_error=None)
    async def callback(value: int) -> int | None:
        return value * 2

    assert await callback(21) == 42


async def test_redaction_by_staff_is_refused_with_a_truthful_403() -> None:
    rules = RetentionRules(CONFIG, module_api())
    with pytest.raises(SynapseError) as refused:
        await rules.check_event_allowed(event("m.room.redaction", "@nurse:clinic.example"), None)
    assert refused.value.code == 403 and refused.value.errcode == HISTORY_RETAINED


async def test_encryption_is_refused_and_ordinary_messages_pass() -> None:
    rules = RetentionRules(CONFIG, module_api())
    with pytest.raises(SynapseError) as refused:
        await rules.check_event_allowed(event("m.room.encryption", "@nurse:clinic.example", state=True), None)
    assert refused.value.code == 403 and refused.value.errcode == ENCRYPTION_DISABLED
    allowed = await rules.check_event_allowed(event("m.room.message", "@nurse:clinic.example"), None)
    assert allowed == (True, None)


async def test_a_failing_judgement_refuses_redactions_but_not_messages() -> None:
    api = module_api()
    api.is_mine.side_effect = RuntimeError("homeserver hiccup")
    rules = RetentionRules(CONFIG, api)
    with pytest.raises(SynapseError) as refused:
        await rules.check_event_allowed(event("m.room.redaction", "@nurse:clinic.example"), None)
    assert refused.value.errcode == HISTORY_RETAINED
    assert await rules.check_event_allowed(event("m.room.message", "@nurse:clinic.example"), None) == (
        True,
        None,
    )


async def test_room_shutdown_is_refused_and_encryption_dropped_from_new_rooms() -> None:
    rules = RetentionRules(CONFIG, module_api())
    assert await rules.check_can_shutdown_room("@admin:clinic.example", "!r:clinic.example") is False
    request: dict[str, Any] = {
        "initial_state": [
            {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
            {"type": "m.room.name", "state_key": "", "content": {"name": "Ward 3"}},
        ]
    }
    requester = SimpleNamespace(user=SimpleNamespace(to_string=lambda: "@nurse:clinic.example"))
    await rules.on_create_room(requester, request, False)
    assert [s["type"] for s in request["initial_state"]] == ["m.room.name"]
