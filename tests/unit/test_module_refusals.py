"""The module adapters count every refusal in carebridge_policy_refusals_total{reason} and
answer with the organisation's words (Mock(spec=ModuleApi): no Synapse running)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from prometheus_client import REGISTRY
from synapse.module_api import ModuleApi
from synapse.module_api.errors import SynapseError

from policy.module.accounts import AccountRules
from policy.module.config import ModuleConfig
from policy.module.messages import MessageRules
from policy.module.rooms import RoomRules
from policy.module.sessions import SessionRecorder
from policy.room_request import sanitise_room_config
from policy.rooms import RoomKind

BOT = "@carebridge:hs"
ALICE, BOB, CAROL = "@alice:hs", "@bob:hs", "@carol:hs"


def _count(reason: str) -> float:
    return REGISTRY.get_sample_value("carebridge_policy_refusals_total", {"reason": reason}) or 0.0


def _api() -> Mock:
    api = Mock(spec=ModuleApi)
    api.is_mine.side_effect = lambda user_id: str(user_id).endswith(":hs")
    return api


def _config(tmp_path: Path) -> ModuleConfig:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"channel_creators": [ALICE]}))
    return ModuleConfig.parse(
        {"bot_user_id": BOT, "admin_room_alias": "#admins:hs", "policy_file": str(policy)}
    )


def _requester(user_id: str) -> Any:
    return SimpleNamespace(user=SimpleNamespace(to_string=lambda: user_id))


async def test_hostile_dm_request_is_rewritten_and_counted(tmp_path: Path) -> None:
    rules = RoomRules(_config(tmp_path), _api())
    before = _count("room-request-sanitised")
    config: dict[str, Any] = {
        "is_direct": True,
        "invite": [CAROL],
        "initial_state": [{"type": "m.room.join_rules", "content": {"join_rule": "public"}}],
        "power_level_content_override": {"users_default": 100},
        "creation_content": {"additional_creators": [CAROL]},
    }
    await rules.on_create_room(_requester(BOB), config, False)
    assert _count("room-request-sanitised") == before + 1
    rules_by_type = {s["type"]: s["content"] for s in config["initial_state"]}
    assert rules_by_type["m.room.join_rules"] == {"join_rule": "invite"}
    assert "power_level_content_override" not in config
    assert config["creation_content"] == {"m.federate": False, "org.carebridge.kind": "dm"}


async def test_channel_request_by_non_creator_refused_with_words_and_counted(tmp_path: Path) -> None:
    rules = RoomRules(_config(tmp_path), _api())
    before = _count("channel-not-creator")
    with pytest.raises(SynapseError) as refused:
        await rules.on_create_room(_requester(BOB), {"is_direct": True, "preset": "public_chat"}, False)
    assert refused.value.code == 403 and "Only the people your organisation allows" in refused.value.msg
    assert _count("channel-not-creator") == before + 1


async def test_alias_outside_room_creation_refused_and_counted(tmp_path: Path) -> None:
    rules = RoomRules(_config(tmp_path), _api())
    before = _count("alias-not-allowed")
    code, body = await rules.user_may_create_room_alias(ALICE, "#x:hs")  # type: ignore[misc]
    assert code == "M_FORBIDDEN" and "Only channels have an address" in body["error"]
    assert _count("alias-not-allowed") == before + 1
    assert await rules.user_may_create_room_alias(BOT, "#x:hs") == "NOT_SPAM"


def _event(sender: str, event_type: str, content: dict[str, Any]) -> Any:
    return SimpleNamespace(
        sender=sender, type=event_type, content=content, room_id="!r:hs", is_state=lambda: False
    )


async def test_respond_only_call_and_read_only_message_refused_and_counted(tmp_path: Path) -> None:
    api = _api()
    channel = SimpleNamespace(content={"post": [ALICE], "respond": [BOB]})
    levels = SimpleNamespace(
        content={"users": {ALICE: 10, BOB: 10}, "users_default": 0, "events_default": 10}
    )
    api.get_room_state = AsyncMock(
        return_value={("org.carebridge.channel", ""): channel, ("m.room.power_levels", ""): levels}
    )
    rules = MessageRules(_config(tmp_path), api)
    before = (_count("non-reply-by-respond-only-member"), _count("read-only-member"))
    code, body = await rules.check_event_for_spam(_event(BOB, "m.call.invite", {"call_id": "1"}))  # type: ignore[misc]
    assert code == "M_FORBIDDEN" and "only reply to messages" in body["error"]
    code, body = await rules.check_event_for_spam(_event(CAROL, "m.room.message", {"body": "hi"}))  # type: ignore[misc]
    assert "You can read this channel but not write in it" in body["error"]
    assert (_count("non-reply-by-respond-only-member"), _count("read-only-member")) == (
        before[0] + 1,
        before[1] + 1,
    )
    assert await rules.check_event_for_spam(_event(ALICE, "m.room.message", {"body": "hi"})) == "NOT_SPAM"


async def test_self_deactivation_refused_and_counted(tmp_path: Path) -> None:
    api = _api()
    rules = AccountRules(_config(tmp_path), api, Mock(spec=SessionRecorder))
    before = _count("self-deactivation")
    assert await rules.check_can_deactivate_user(BOB, by_admin=False) is False
    assert await rules.check_can_deactivate_user(BOB, by_admin=True) is True
    assert _count("self-deactivation") == before + 1


async def test_password_change_ends_other_devices_as_password_change(tmp_path: Path) -> None:
    api = _api()
    api.run_db_interaction = AsyncMock(return_value=[("KEEP", 2_000), ("OLD1", 10), ("OLD2", 500)])
    seen: list[str] = []
    sessions = Mock(spec=SessionRecorder)
    sessions.forced_causes = {}

    async def delete_devices(user_id: str, devices: list[str]) -> None:
        seen.append(str(sessions.forced_causes[user_id].reason))
        assert devices == ["OLD1", "OLD2"]

    api._device_handler = SimpleNamespace(delete_devices=delete_devices)
    before = _count("password-change-kept-sessions")
    await AccountRules(_config(tmp_path), api, sessions)._end_other_sessions(BOB, started=1_000)
    assert seen == ["password_change"] and sessions.forced_causes == {}
    assert _count("password-change-kept-sessions") == before + 1


def test_sanitiser_leaves_an_ordinary_dm_request_alone() -> None:
    """What clients send for a DM (Element adds encryption; it is dropped elsewhere) is no refusal."""
    config: dict[str, Any] = {
        "is_direct": True,
        "preset": "trusted_private_chat",
        "invite": [BOB],
        "initial_state": [{"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "x"}}],
    }
    assert sanitise_room_config(config, RoomKind.DM) == []
    assert config["preset"] == "trusted_private_chat"
