"""Rooms are made only in the room version Carebridge's rules are written for: a
/createRoom's `room_version` is rewritten, an upgrade to another version is refused
(pure rule, and the module adapter against a `Mock(spec=ModuleApi)`)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import Mock

import pytest
from prometheus_client import REGISTRY
from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import Codes

from policy.module.config import ModuleConfig
from policy.module.rooms import RoomRules
from policy.rooms import ROOM_VERSION, decide_room_version, room_version_rewritten
from policy.staff_decision import Reason

BOT = "@carebridge:hs"
LEAD, NURSE, PEER = "@lead:hs", "@nurse:hs", "@peer:hs"


def _count() -> float:
    sample = REGISTRY.get_sample_value("carebridge_policy_refusals_total", {"reason": Reason.ROOM_VERSION})
    return sample or 0.0


def _rules(tmp_path: Path) -> RoomRules:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"channel_creators": [LEAD]}))
    api = Mock(spec=ModuleApi)
    api.is_mine.side_effect = lambda user_id: str(user_id).endswith(":hs")
    raw = {"bot_user_id": BOT, "admin_room_alias": "#admins:hs", "policy_file": str(policy)}
    return RoomRules(ModuleConfig.parse(raw), api)


def _requester(user_id: str) -> Any:
    return SimpleNamespace(user=SimpleNamespace(to_string=lambda: user_id))


def test_the_version_is_eleven_and_only_it_is_allowed() -> None:
    assert ROOM_VERSION == "11"
    assert decide_room_version(None).allowed
    assert decide_room_version("11").allowed
    for other in ("1", "5", "10", "12", 11, ""):
        refused = decide_room_version(other)
        assert not refused.allowed and refused.reason == Reason.ROOM_VERSION, other


@pytest.mark.parametrize(("asked", "rewritten"), [(None, False), ("11", False), ("1", True), ("5", True)])
def test_create_room_body_always_asks_for_eleven(asked: str | None, rewritten: bool) -> None:
    body: dict[str, Any] = {} if asked is None else {"room_version": asked}
    assert room_version_rewritten(body) is rewritten
    assert body["room_version"] == "11"


@pytest.mark.parametrize("creator", [NURSE, LEAD, BOT])
async def test_every_create_room_is_made_in_eleven_and_counted(tmp_path: Path, creator: str) -> None:
    """A DM by staff, a channel by a channel creator, the bot's own rooms."""
    rules = _rules(tmp_path)
    before = _count()
    dm = {"is_direct": True, "invite": [PEER], "room_version": "1"}
    request = dm if creator == NURSE else {"name": "Ward 5", "room_version": "5"}
    await rules.on_create_room(_requester(creator), request, False)
    assert request["room_version"] == "11"
    assert _count() == before + 1


async def test_upgrade_to_another_version_is_refused_with_words(tmp_path: Path) -> None:
    """Synapse's upgrade calls user_may_create_room with the new version in the creation
    content (and no DM keys, so it reads as a channel, even for a channel creator)."""
    rules = _rules(tmp_path)
    before = _count()
    upgrade = {"creation_content": {"room_version": "5", "predecessor": {"room_id": "!old:hs"}}}
    code, body = await rules.user_may_create_room(LEAD, upgrade)
    assert code == Codes.FORBIDDEN and body["org.carebridge.reason"] == "room-version-not-carebridge"
    assert "same room version" in body["error"]
    assert _count() == before + 1
    same = {"creation_content": {"room_version": "11", "predecessor": {"room_id": "!old:hs"}}}
    assert await rules.user_may_create_room(LEAD, same) == NOT_SPAM
