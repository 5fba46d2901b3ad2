"""Names and avatars in rooms (pure rules of policy/profiles.py), the avatar rule of the
request guard, and the module adapter against a `Mock(spec=ModuleApi)`."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from prometheus_client import REGISTRY
from synapse.module_api import ModuleApi
from synapse.module_api.errors import SynapseError

from policy.client_requests import decide_client_request, needs_body
from policy.event_types import PROFILE_EVENT_TYPE
from policy.module.profiles import ProfileRules
from policy.profiles import (
    ProfileReason,
    ProfileRecord,
    decide_avatar_url,
    decide_member_profile,
    is_local_mxc,
)

HS = "clinic.example"
OWN = "mxc://clinic.example/AbCdEf123_-x"
OTHER = "mxc://clinic.example/SomeoneElse9"
NAME = "Nurse Nora"


@pytest.mark.parametrize(
    ("url", "local"),
    [
        (OWN, True),
        ("mxc://clinic.example/", False),
        ("mxc://clinic.example/a/b", False),
        ("mxc://clinic.example/a b", False),
        ("mxc://clinic.example.evil/abc", False),
        ("mxc://elsewhere.example/abc", False),
        ("https://clinic.example/abc.png", False),
        ("see notes: John Doe MRN 12345", False),
    ],
)
def test_an_avatar_is_a_picture_on_this_server(url: str, local: bool) -> None:
    assert is_local_mxc(url, HS) is local
    assert decide_avatar_url(url, HS).allowed is local


def test_unsetting_an_avatar_is_always_allowed() -> None:
    assert decide_avatar_url(None, HS).allowed and decide_avatar_url("", HS).allowed
    assert not decide_avatar_url(42, HS).allowed


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ({"membership": "join", "displayname": "Dr. Morgan Lee"}, ProfileReason.NAME_NOT_DIRECTORY),
        ({"membership": "join", "displayname": "nurse nora"}, ProfileReason.NAME_NOT_DIRECTORY),
        ({"membership": "invite", "displayname": "Dr. Morgan Lee"}, ProfileReason.NAME_NOT_DIRECTORY),
        (
            {"membership": "join", "displayname": NAME, "avatar_url": OTHER},
            ProfileReason.AVATAR_NOT_DIRECTORY,
        ),
        ({"membership": "join", "avatar_url": "John Doe MRN 12345"}, ProfileReason.AVATAR_NOT_LOCAL),
        ({"membership": "leave", "displayname": "Dr. Morgan Lee"}, ProfileReason.NAME_NOT_DIRECTORY),
    ],
)
def test_a_member_event_with_another_name_or_avatar_is_refused(
    content: dict[str, Any], reason: ProfileReason
) -> None:
    decision = decide_member_profile(content, NAME, OWN, HS)
    assert not decision.allowed and decision.reason is reason and decision.message


@pytest.mark.parametrize(
    "content",
    [
        {"membership": "join", "displayname": NAME, "avatar_url": OWN},  # as Synapse fills it in
        {"membership": "join", "displayname": NAME},
        {"membership": "join"},
        {"membership": "join", "displayname": None, "avatar_url": None},
        {"membership": "join", "avatar_url": ""},
        {"membership": "leave"},
    ],
)
def test_ones_own_profile_or_none_passes(content: dict[str, Any]) -> None:
    assert decide_member_profile(content, NAME, OWN, HS).allowed


def test_a_free_text_avatar_left_in_the_directory_is_still_refused() -> None:
    """A profile set to free text before this rule cannot be carried into rooms: the person
    is told to choose a picture (or remove it)."""
    legacy = "John Doe MRN 12345"
    decision = decide_member_profile({"membership": "join", "avatar_url": legacy}, NAME, legacy, HS)
    assert decision.reason is ProfileReason.AVATAR_NOT_LOCAL


def test_profile_record_keeps_removed_values() -> None:
    record = ProfileRecord(ts=1, user_id="@n:hs", displayname=None, avatar_url=None, by_admin=True)
    assert record.content() == {
        "ts": 1,
        "user_id": "@n:hs",
        "displayname": None,
        "avatar_url": None,
        "by_admin": True,
        "deactivation": False,
    }


def test_the_request_guard_refuses_a_free_text_profile_picture() -> None:
    path = "/_matrix/client/v3/profile/@n:clinic.example/avatar_url"
    assert needs_body("PUT", path) and not needs_body("GET", path)
    refused = decide_client_request("PUT", path, {"avatar_url": "John Doe MRN 12345"}, frozenset(), HS)
    assert refused is not None and refused.reason is ProfileReason.AVATAR_NOT_LOCAL
    assert decide_client_request("PUT", path, {"avatar_url": OWN}, frozenset(), HS) is None
    assert decide_client_request("PUT", path, {"avatar_url": ""}, frozenset(), HS) is None
    other_server = decide_client_request("PUT", path, {"avatar_url": OWN}, frozenset(), "other.example")
    assert other_server is not None and not other_server.allowed


# --- the module adapter --------------------------------------------------------------------
def _rules(profile: tuple[str | None, str | None] = (NAME, OWN)) -> tuple[ProfileRules, Mock, Mock]:
    api = Mock(spec=ModuleApi)
    api.server_name = HS
    api.is_mine.side_effect = lambda user_id: str(user_id).endswith(f":{HS}")
    api.get_profile_for_user = AsyncMock(
        return_value=SimpleNamespace(display_name=profile[0], avatar_url=profile[1])
    )
    api.get_current_time_msec.return_value = 1_700_000_000_000
    sessions = Mock()
    sessions.emit = AsyncMock()
    return ProfileRules(api, sessions), api, sessions


def _event(
    content: dict[str, Any],
    sender: str = f"@nora:{HS}",
    state_key: str | None = None,
    kind: str = "m.room.member",
) -> Any:
    return SimpleNamespace(
        type=kind, content=content, sender=sender, state_key=state_key or sender, room_id="!r:hs"
    )


async def test_adapter_refuses_with_words_and_counts() -> None:
    rules, api, _ = _rules()
    label = {"reason": ProfileReason.NAME_NOT_DIRECTORY.value}
    before = REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) or 0.0
    with pytest.raises(SynapseError) as refused:
        await rules.check_member_profile(
            _event({"membership": "join", "displayname": "Dr. Morgan Lee"}), None
        )
    assert refused.value.code == 403 and "directory" in refused.value.msg
    assert REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) == before + 1
    api.get_profile_for_user.assert_awaited_once_with("nora")


async def test_adapter_reads_no_profile_for_other_events() -> None:
    """Messages, and member events that carry no name or avatar, cost no look-up."""
    rules, api, _ = _rules()
    message = _event({"body": "hi", "displayname": "x"}, kind="m.room.message")
    assert await rules.check_member_profile(message, None) == (True, None)
    assert await rules.check_member_profile(_event({"membership": "leave"}), None) == (True, None)
    api.get_profile_for_user.assert_not_awaited()


async def test_adapter_judges_an_invite_by_the_invitee_and_passes_synapses_resend() -> None:
    rules, api, _ = _rules(("Peer Pat", None))
    invite = _event({"membership": "invite", "displayname": "Peer Pat"}, state_key=f"@pat:{HS}")
    assert await rules.check_member_profile(invite, None) == (True, None)
    api.get_profile_for_user.assert_awaited_once_with("pat")


async def test_adapter_fails_closed() -> None:
    rules, api, _ = _rules()
    api.get_profile_for_user.side_effect = RuntimeError("database gone")
    with pytest.raises(SynapseError) as refused:
        await rules.check_member_profile(_event({"membership": "join", "displayname": NAME}), None)
    assert refused.value.code == 403


async def test_every_profile_change_is_recorded() -> None:
    rules, _, sessions = _rules()
    profile = SimpleNamespace(display_name="Nora B.", avatar_url=OWN)
    await rules.on_profile_update(f"@nora:{HS}", profile, True, False)
    sessions.emit.assert_awaited_once()
    event_type, content = sessions.emit.await_args.args
    assert event_type == PROFILE_EVENT_TYPE
    assert (content["displayname"], content["avatar_url"], content["by_admin"]) == ("Nora B.", OWN, True)
