"""Staff type as fast as clinicians type, through a real Synapse with the message limit
carebridge.yaml renders (`messages:`, default 5 a second, 50 at once), not the test
harness's lifted limits nor Synapse's own default (0.2 a second, 10 at once, which refuses
a nurse's eleventh quick message)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
import yaml
from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomCreateResponse, RoomSendResponse

from config.settings import DEFAULT_MESSAGE_RATE
from tests.harness.stack import Stack, running_stack
from tests.staff_helpers import client_api

pytestmark = pytest.mark.slow
QUICK = 30


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own Synapse + bridge with carebridge.yaml's default messages: limit."""
    with running_stack(tmp_path_factory.mktemp("messages"), extra_settings={"messages": {}}) as stack:
        yield stack


async def _nurse(stack: Stack) -> AsyncClient:
    user_id, password = await stack.create_user()
    # No automatic retry after a 429: a refusal must show as a refusal.
    client = AsyncClient(stack.hs_url, user_id, config=AsyncClientConfig(max_limit_exceeded=0))
    assert isinstance(await client.login(password, device_name="ward-pc"), LoginResponse)
    return client


def test_carebridge_yaml_limit_is_rendered_as_rc_message(limited: Stack) -> None:
    settings = yaml.safe_load(limited.config_path.read_text())["messages"]
    homeserver = yaml.safe_load(limited.s.path(limited.s.synapse.config).read_text())
    assert settings == {"per_second": 5.0, "burst_count": 50}
    assert homeserver["rc_message"] == {"per_second": 5.0, "burst_count": 50}


async def test_thirty_quick_messages_all_go_through(limited: Stack) -> None:
    """A handover typed as 30 short lines, each sent as soon as the last was accepted."""
    nurse = await _nurse(limited)
    peer_id, _ = await limited.create_user()
    try:
        dm = await nurse.room_create(is_direct=True, invite=[peer_id])
        assert isinstance(dm, RoomCreateResponse), dm
        for line in range(QUICK):
            body = {"msgtype": "m.text", "body": f"bed {line}: obs stable"}
            sent = await nurse.room_send(dm.room_id, "m.room.message", body)
            assert isinstance(sent, RoomSendResponse), (line, sent)
    finally:
        await nurse.close()


async def test_a_flood_beyond_the_limit_is_answered_429(limited: Stack) -> None:
    """Far more than the burst at once: the first `burst_count` go through, the rest that
    exceed the bucket are refused with M_LIMIT_EXCEEDED and a retry time. (Synapse answers
    each in turn; 200 cannot be stored in the 30 s the bucket would need to refill.)"""
    nurse = await _nurse(limited)
    peer_id, _ = await limited.create_user()
    try:
        dm = await nurse.room_create(is_direct=True, invite=[peer_id])
        assert isinstance(dm, RoomCreateResponse), dm
        room = dm.room_id

        async def send(n: int) -> tuple[int, dict[str, object]]:
            path = f"/_matrix/client/v3/rooms/{room}/send/m.room.message/{secrets.token_hex(8)}"
            return await client_api(nurse, "PUT", path, {"msgtype": "m.text", "body": f"flood {n}"})

        answers = await asyncio.gather(*(send(n) for n in range(200)))
        accepted = [body for status, body in answers if status == 200]
        limited_answers = [body for status, body in answers if status == 429]
        assert len(accepted) + len(limited_answers) == 200, [a for a in answers if a[0] not in (200, 429)][:3]
        assert len(accepted) >= DEFAULT_MESSAGE_RATE.burst_count
        assert limited_answers, "nothing was limited"
        assert all(b["errcode"] == "M_LIMIT_EXCEEDED" and "retry_after_ms" in b for b in limited_answers)
    finally:
        await nurse.close()
