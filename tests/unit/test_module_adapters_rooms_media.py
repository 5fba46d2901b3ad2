"""The room and upload adapters of the Synapse module against a `Mock(spec=ModuleApi)`: policy
decisions become the spam checker's `(Codes, {"error": ...})` answers or the module API's
SynapseError with the organisation's message, and an unexpected failure refuses (fail
closed) instead of breaking Synapse. No Synapse process."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import Codes, SynapseError

from policy.module.config import ModuleConfig
from policy.module.media import MediaRules
from policy.module.rooms import INTERNAL_ERROR, RoomRules
from policy.policy_document import POLICY_FILE_NAME, PolicyDocument

BOT = "@carebridge:clinic.example"
LEAD = "@lead:clinic.example"
NURSE = "@nurse:clinic.example"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def config(tmp_path: Path, files: dict[str, Any] | None = None) -> ModuleConfig:
    document = PolicyDocument(channel_creators=[LEAD])
    (tmp_path / POLICY_FILE_NAME).write_text(json.dumps(document), encoding="utf-8")
    raw = {
        "bot_user_id": BOT,
        "admin_room_alias": "#carebridge-admins:clinic.example",
        "policy_file": str(tmp_path / POLICY_FILE_NAME),
        "staff": {"files": files or {}},
    }
    return ModuleConfig.parse(raw)


def module_api(accounts: dict[str, bool] | None = None) -> Mock:
    """A ModuleApi whose local accounts are `accounts` (user id -> deactivated)."""
    known = accounts or {}
    api = Mock(spec=ModuleApi)
    api.is_mine.side_effect = lambda user_id: str(user_id).endswith(":clinic.example")

    async def userinfo(user_id: str) -> Any:
        return SimpleNamespace(is_deactivated=known[user_id]) if user_id in known else None

    api.get_userinfo_by_id = AsyncMock(side_effect=userinfo)
    api.defer_to_thread = AsyncMock(side_effect=lambda func, *args: func(*args))
    api.run_db_interaction = AsyncMock(return_value=None)  # no media id reserved beforehand
    return api


async def test_only_channel_creators_may_create_a_channel(tmp_path: Path) -> None:
    rules = RoomRules(config(tmp_path), module_api())
    channel = {"name": "Ward 3", "preset": "private_chat"}
    assert await rules.user_may_create_room(LEAD, channel) == NOT_SPAM
    code, body = await rules.user_may_create_room(NURSE, channel)
    assert (
        code == Codes.FORBIDDEN and body["error"] and body["org.carebridge.reason"] == "channel-not-creator"
    )


async def test_a_dm_to_an_unknown_colleague_is_refused_at_creation(tmp_path: Path) -> None:
    rules = RoomRules(config(tmp_path), module_api({LEAD: False}))
    assert await rules.user_may_create_room(NURSE, {"is_direct": True, "invite": [LEAD]}) == NOT_SPAM
    dm_to_nobody = {"is_direct": True, "invite": ["@ghost:clinic.example"]}
    code, body = await rules.user_may_create_room(NURSE, dm_to_nobody)
    assert code == Codes.FORBIDDEN and body["org.carebridge.reason"] == "invitee-unknown"


async def test_invites_go_only_to_working_local_accounts(tmp_path: Path) -> None:
    rules = RoomRules(config(tmp_path), module_api({LEAD: False, "@gone:clinic.example": True}))
    room = "!r:clinic.example"
    assert await rules.user_may_invite(NURSE, LEAD, room) == NOT_SPAM
    gone = await rules.user_may_invite(NURSE, "@gone:clinic.example", room)
    assert gone[0] == Codes.FORBIDDEN and gone[1]["org.carebridge.reason"] == "invitee-deactivated"
    remote = await rules.user_may_invite(NURSE, "@someone:elsewhere.example", room)
    assert (
        remote[0] == Codes.FORBIDDEN and remote[1]["org.carebridge.reason"] == "invitee-outside-organisation"
    )
    email = await rules.user_may_send_3pid_invite(NURSE, "email", "a@b.example", room)
    assert email[0] == Codes.FORBIDDEN and email[1]["org.carebridge.reason"] == "third-party-invite"


def state_event(event_type: str, sender: str, content: dict[str, Any]) -> Any:
    return SimpleNamespace(
        type=event_type, sender=sender, room_id="!r:clinic.example", content=content, is_state=lambda: True
    )


async def test_a_failing_invite_check_refuses_with_a_clear_message(tmp_path: Path) -> None:
    api = module_api()
    api.get_userinfo_by_id = AsyncMock(side_effect=RuntimeError("database gone"))
    rules = RoomRules(config(tmp_path), api)
    assert await rules.user_may_invite(NURSE, LEAD, "!r:clinic.example") == INTERNAL_ERROR


async def test_history_visibility_cannot_be_narrowed(tmp_path: Path) -> None:
    """A narrowed history setting is refused with the organisation's words and reason code."""
    rules = RoomRules(config(tmp_path), module_api())
    narrowed = state_event("m.room.history_visibility", LEAD, {"history_visibility": "joined"})
    with pytest.raises(SynapseError) as refused:
        await rules.check_state_allowed(narrowed, {})
    assert refused.value.code == 403 and refused.value.errcode == Codes.FORBIDDEN
    named = state_event("m.room.name", LEAD, {"name": "Ward 3"})
    assert await rules.check_state_allowed(named, {}) == (True, None)


async def test_uploads_over_the_limit_get_413_with_the_configured_message(tmp_path: Path) -> None:
    files = {"max_bytes": 1024, "too_large_message": "Max {max_upload_mb} MB!"}
    media = MediaRules(config(tmp_path, files), module_api())
    assert await media.get_media_config_for_user(NURSE) == {"m.upload.size": 1024}
    assert await media.is_user_allowed_to_upload_media_of_size(NURSE, 1024) is True
    with pytest.raises(SynapseError) as refused:
        await media.is_user_allowed_to_upload_media_of_size(NURSE, 1025)
    assert refused.value.code == 413 and refused.value.errcode == Codes.TOO_LARGE
    assert refused.value.msg.startswith("Max ")


def upload(path: Path, data: bytes, **info: Any) -> tuple[Any, Any]:
    path.write_bytes(data)
    details = {"server_name": None, "thumbnail": None, "url_cache": False, "file_id": "abc"} | info
    return SimpleNamespace(path=path), SimpleNamespace(**details)


async def test_file_types_outside_the_policy_get_403_with_the_configured_message(tmp_path: Path) -> None:
    files = {"allowed_types": ["image/png"], "forbidden_type_message": "Images only."}
    media = MediaRules(config(tmp_path, files), module_api())
    assert await media.check_media_file_for_spam(*upload(tmp_path / "ok", PNG)) == NOT_SPAM
    with pytest.raises(SynapseError) as refused:
        await media.check_media_file_for_spam(*upload(tmp_path / "no", b"%PDF-1.7\n" + b"x" * 64))
    assert (refused.value.code, refused.value.errcode, refused.value.msg) == (
        403,
        Codes.FORBIDDEN,
        "Images only.",
    )
    thumbnail = upload(tmp_path / "thumb", b"%PDF-1.7\n", thumbnail=object())
    assert await media.check_media_file_for_spam(*thumbnail) == NOT_SPAM


async def test_a_file_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    media = MediaRules(config(tmp_path), module_api())
    wrapper, info = upload(tmp_path / "f", PNG)
    wrapper.path = tmp_path / "missing"
    with pytest.raises(SynapseError) as refused:
        await media.check_media_file_for_spam(wrapper, info)
    assert refused.value.code == 403 and "could not check" in refused.value.msg
