"""Synapse makes no outbound request a client chooses (real Synapse + Carebridge module).

A local listener stands in for "a server on the internet" (the harness lets Synapse reach
loopback, so only Carebridge's configuration keeps it away). A staff member names it as an
identity server (a 3PID invite, an address binding), as a federated server (room alias,
profile, media, room directory, keys), as a URL to preview, and as a push gateway: each is
refused and the listener receives nothing. The push gateway the organisation lists is
accepted, and what it receives carries event ids, never the message.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from nio import RoomCreateResponse, RoomSendResponse

from policy.client_requests import RequestReason
from tests.e2e.test_side_channels import V3, assert_refused
from tests.harness.stack import Stack, free_port, running_stack
from tests.staff_helpers import client_api, eventually, refusal_count

pytestmark = pytest.mark.slow
GATEWAY_PORT = free_port()
GATEWAY = f"http://127.0.0.1:{GATEWAY_PORT}/_matrix/push/v1/notify"


@pytest.fixture(scope="module")
def push_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A Synapse + bridge whose carebridge.yaml lists one push gateway."""
    root = Path(tmp_path_factory.mktemp("push"))
    with running_stack(root, extra_settings={"push": {"gateways": [GATEWAY]}}) as running:
        yield running


class Outside:
    """A TCP listener that records every connection made to it (any protocol, TLS too)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = free_port()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()

    async def __aenter__(self) -> Outside:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def gateway() -> AsyncIterator[list[dict[str, Any]]]:
    """The organisation's push gateway: records each notification it is sent."""
    received: list[dict[str, Any]] = []

    async def notify(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"rejected": []})

    app = web.Application()
    app.router.add_post("/_matrix/push/v1/notify", notify)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", GATEWAY_PORT).start()
    try:
        yield received
    finally:
        await runner.cleanup()


async def test_no_request_to_servers_a_client_names(push_stack: Stack) -> None:
    """Identity-server, federation, preview and unlisted push requests reach no one."""
    alice_id, alice_pw = await push_stack.create_user()
    bob_id, _ = await push_stack.create_user()
    alice = await push_stack.login(alice_id, alice_pw)
    counted = {
        r: await refusal_count(push_stack.hs_url, r.value)
        for r in (RequestReason.IDENTITY_SERVER, RequestReason.PUSH_GATEWAY)
    }
    async with Outside() as outside:
        there = f"127.0.0.1:{outside.port}"
        try:
            created = await alice.room_create(is_direct=True, invite=[bob_id])
            assert isinstance(created, RoomCreateResponse), created
            invite = {"id_server": there, "id_access_token": "t", "medium": "email", "address": "x@y.example"}
            status, body = await client_api(alice, "POST", f"{V3}/rooms/{created.room_id}/invite", invite)
            assert_refused(status, body, RequestReason.IDENTITY_SERVER)
            third_party = [dict(invite)]
            status, body = await client_api(
                alice, "POST", f"{V3}/createRoom", {"is_direct": True, "invite_3pid": third_party}
            )
            assert status == 403, body
            bind = {"id_server": there, "id_access_token": "t", "sid": "s", "client_secret": "c"}
            status, body = await client_api(alice, "POST", f"{V3}/account/3pid/bind", bind)
            assert_refused(status, body, RequestReason.IDENTITY_SERVER)

            for method, path, payload in (
                ("POST", f"{V3}/join/{quote(f'#ward:{there}')}", {}),
                ("GET", f"{V3}/profile/{quote(f'@doc:{there}')}", None),
                ("GET", f"/_matrix/client/v1/media/download/{there}/abcdef", None),
                ("GET", f"{V3}/publicRooms?server={there}", None),
                ("POST", f"{V3}/keys/query", {"device_keys": {f"@doc:{there}": []}}),
                ("GET", f"/_matrix/client/v1/media/preview_url?url={quote(f'http://{there}/')}", None),
            ):
                status, body = await client_api(alice, method, path, payload)
                assert status != 500, (path, body)

            for pusher in (
                {"kind": "http", "data": {"url": f"http://{there}/_matrix/push/v1/notify"}},
                {"kind": "email", "data": {}},
            ):
                pusher |= {"app_id": "x", "pushkey": "k", "app_display_name": "X"}
                pusher |= {"device_display_name": "Phone", "lang": "en"}
                status, body = await client_api(alice, "POST", f"{V3}/pushers/set", pusher)
                assert_refused(status, body, RequestReason.PUSH_GATEWAY)
            await asyncio.sleep(0)  # let any connection the requests triggered be accepted
            assert outside.connections == 0
            for reason, before in counted.items():
                assert await refusal_count(push_stack.hs_url, reason.value) == before + 2, reason
        finally:
            await alice.close()


async def test_listed_push_gateway_gets_event_ids_only(
    push_stack: Stack, gateway: list[dict[str, Any]]
) -> None:
    """A phone's pusher at the listed gateway is accepted (for event ids only); a message
    to its owner reaches the gateway as ids, without the text, sender or room name."""
    alice_id, alice_pw = await push_stack.create_user()
    bob_id, bob_pw = await push_stack.create_user()
    alice, bob = await push_stack.login(alice_id, alice_pw), await push_stack.login(bob_id, bob_pw)
    try:
        pusher = {"kind": "http", "app_id": "org.example.app", "pushkey": secrets.token_hex(8)}
        pusher |= {"app_display_name": "App", "device_display_name": "Phone", "lang": "en"}
        pusher["data"] = {"url": GATEWAY}
        status, body = await client_api(bob, "POST", f"{V3}/pushers/set", pusher)
        assert_refused(status, body, RequestReason.PUSH_CONTENT)  # would carry names
        pusher["data"] = {"url": GATEWAY, "format": "event_id_only"}
        status, body = await client_api(bob, "POST", f"{V3}/pushers/set", pusher)
        assert status == 200, body
        created = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(created, RoomCreateResponse), created
        await bob.join(created.room_id)
        secret = f"Patient-{secrets.token_hex(4)}"
        sent = await alice.room_send(created.room_id, "m.room.message", {"msgtype": "m.text", "body": secret})
        assert isinstance(sent, RoomSendResponse), sent

        async def notified() -> dict[str, Any] | None:
            for note in gateway:
                if note["notification"].get("event_id") == sent.event_id:
                    return dict(note["notification"])
            return None

        note = await eventually(notified, timeout=30, what="the notification at the gateway")
        assert note["room_id"] == created.room_id
        assert set(note) <= {"event_id", "room_id", "prio", "counts", "devices"}, note
        assert secret not in str(gateway)
    finally:
        await alice.close()
        await bob.close()
