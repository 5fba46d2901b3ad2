"""The upload callback adapter (Mock(spec=ModuleApi)): whole-file reads, refusal, counter."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import Mock

import pytest
from prometheus_client import REGISTRY
from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import SynapseError

from policy.module.config import ModuleConfig
from policy.module.media import MediaRules
from policy.staff_decision import Reason
from tests import file_samples


def _rules(reserved_by: str | None = None) -> MediaRules:
    api = Mock(spec=ModuleApi)

    async def in_thread(func: Callable[..., Any], *args: Any) -> Any:
        return func(*args)

    async def db(desc: str, func: Callable[..., Any]) -> Any:
        return reserved_by

    api.defer_to_thread.side_effect = in_thread
    api.run_db_interaction.side_effect = db
    return MediaRules(ModuleConfig.parse({"bot_user_id": "@bot:hs", "admin_room_alias": "#a:hs"}), api)


def _info() -> SimpleNamespace:
    return SimpleNamespace(server_name=None, thumbnail=None, url_cache=False, file_id="abc")


def _count(reason: Reason) -> float:
    return REGISTRY.get_sample_value("carebridge_policy_refusals_total", {"reason": reason.value}) or 0.0


async def test_polyglot_upload_is_refused_and_counted(tmp_path: Path) -> None:
    """A PNG with a zip appended is read whole, refused 403 with the reason, and counted."""
    path = tmp_path / "upload"
    path.write_bytes(file_samples.hostile()["png-with-zip-appended"])
    before = _count(Reason.UPLOAD_ACTIVE_CONTENT)
    with pytest.raises(SynapseError) as raised:
        await _rules().check_media_file_for_spam(SimpleNamespace(path=path), _info())
    assert raised.value.code == 403
    assert _count(Reason.UPLOAD_ACTIVE_CONTENT) == before + 1


async def test_photo_upload_passes(tmp_path: Path) -> None:
    """A photo is not spam."""
    path = tmp_path / "upload"
    path.write_bytes(file_samples.photo_jpeg())
    assert await _rules().check_media_file_for_spam(SimpleNamespace(path=path), _info()) == NOT_SPAM


async def test_the_bots_own_reserved_upload_is_not_judged(tmp_path: Path) -> None:
    """An HTML compliance report the bot reserved (media/v1/create) and uploaded passes;
    the same page from anyone else is refused."""
    path = tmp_path / "upload"
    path.write_bytes(file_samples.HTML)
    file = SimpleNamespace(path=path)
    assert await _rules(reserved_by="@bot:hs").check_media_file_for_spam(file, _info()) == NOT_SPAM
    with pytest.raises(SynapseError):
        await _rules(reserved_by="@nurse:hs").check_media_file_for_spam(file, _info())
