"""`carebridge up` with coturn, working TURN credentials, and the upload rules.

`GET /voip/turnServer` returns working time-limited credentials
(aiortc gathers a relay candidate through the coturn that `carebridge up` started with
the generated secret; a wrong password gathers none); an over-size upload and a
forbidden type are refused with the messages configured in carebridge.yaml.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCIceTransportPolicy
from nio import AsyncClient, LoginResponse

from bridge.core.registration import load_registration
from config.settings import load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.harness.provision import CAREBRIDGE, start_up, wait_for_line
from tests.harness.stack import free_port, strong_password
from tests.staff_helpers import client_api

pytestmark = pytest.mark.slow

TOO_LARGE = "Files over {max_upload_mb} MB are not allowed at Test Clinic."
FORBIDDEN = "Test Clinic accepts images and PDFs only."
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 256


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data dir with custom file rules, run by `carebridge up` (with coturn if installed)."""
    root = tmp_path_factory.mktemp("up-turn")
    config = init_data_dir(
        InitOptions(
            data_dir=root / "data",
            server_name="turn.carebridge",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            turn_port=free_port(),
            testing=True,
            extra_settings={
                "files": {
                    "max_upload_mb": 1,
                    "allowed_types": ["image/*", "application/pdf"],
                    "too_large_message": TOO_LARGE,
                    "forbidden_type_message": FORBIDDEN,
                }
            },
        )
    )
    out = root / "up.out"
    proc = start_up(config, out)
    try:
        wait_for_line(out, "Staff sign in at:", proc)
        yield config
    finally:
        proc.terminate()
        proc.wait(60)


async def _login(config: Path) -> AsyncClient:
    settings = load_settings(config)
    token = load_registration(settings.path(settings.bridge.registration)).as_token
    user_id, password = f"@nurse:{settings.server_name}", strong_password()
    async with (
        aiohttp.ClientSession() as session,
        session.put(  # again for a second test: the account gets a fresh password
            f"{settings.synapse.url}/_synapse/admin/v2/users/{user_id}",
            json={"password": password, "displayname": "Nurse"},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status in (200, 201), await resp.text()
    client = AsyncClient(settings.synapse.url, user_id)
    login = await client.login(password)
    assert isinstance(login, LoginResponse), login
    return client


async def _upload(client: AsyncClient, data: bytes, content_type: str) -> tuple[int, Any]:
    return await client_api(client, "POST", "/_matrix/media/v3/upload", data=data, content_type=content_type)


async def test_uploads_follow_configured_limits_and_types(deployment: Path) -> None:
    client = await _login(deployment)
    try:
        status, config = await client_api(client, "GET", "/_matrix/client/v1/media/config")
        assert status == 200 and config["m.upload.size"] == 1024 * 1024

        status, body = await _upload(client, PNG, "image/png")
        assert status == 200 and body["content_uri"].startswith("mxc://"), body
        status, body = await _upload(client, b"%PDF-1.7\n" + b"x" * 100, "application/pdf")
        assert status == 200, body

        status, body = await _upload(client, PNG + b"\x00" * (1024 * 1024), "image/png")
        assert status == 413, body
        assert body["errcode"] == "M_TOO_LARGE"
        assert body["error"] == TOO_LARGE.replace("{max_upload_mb}", "1")

        status, body = await _upload(client, ELF, "application/octet-stream")
        assert (status, body["errcode"], body["error"]) == (403, "M_FORBIDDEN", FORBIDDEN)
        # The type is judged from the content, not from what the client claims.
        status, body = await _upload(client, ELF, "image/png")
        assert (status, body["error"]) == (403, FORBIDDEN)
        status, body = await _upload(client, b"just some text\n", "text/plain")
        assert (status, body["error"]) == (403, FORBIDDEN)
    finally:
        await client.close()


async def _relay_candidates(uris: list[str], username: str, password: str) -> list[str]:
    config = RTCConfiguration(
        iceServers=[RTCIceServer(urls=uris, username=username, credential=password)],
        iceTransportPolicy=RTCIceTransportPolicy.RELAY,
    )
    pc = RTCPeerConnection(config)
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        return [line for line in pc.localDescription.sdp.splitlines() if " typ relay" in line]
    finally:
        await pc.close()


async def test_turn_server_credentials_work_against_coturn(deployment: Path) -> None:
    if shutil.which("turnserver") is None:
        if os.environ.get("CI") == "1":
            pytest.fail("coturn is not installed but CI=1: `make system-deps` installs it")
        pytest.skip("coturn is not installed (apt-get install coturn, or `make system-deps`)")
    settings = load_settings(deployment)
    state = json.loads((settings.data_dir / "run" / "state.json").read_text())
    assert "coturn" in state["children"], state
    status = subprocess.run(
        [CAREBRIDGE, "status", "-c", str(deployment)], capture_output=True, text=True, check=False
    )
    assert status.returncode == 0 and "coturn" in status.stdout, status.stdout

    nurse = await _login(deployment)
    try:
        code, turn = await client_api(nurse, "GET", "/_matrix/client/v3/voip/turnServer")
        assert code == 200, turn
        assert turn["uris"] == [
            f"turn:127.0.0.1:{settings.calls.turn.port}?transport=udp",
            f"turn:127.0.0.1:{settings.calls.turn.port}?transport=tcp",
        ]
        expiry, _, user = turn["username"].partition(":")
        assert user == nurse.user_id and int(expiry) > time.time()
        assert 0 < turn["ttl"] <= 3600
        relays = await asyncio.wait_for(
            _relay_candidates(turn["uris"][:1], turn["username"], turn["password"]), 30
        )
        assert relays, "no relay candidate: the credentials did not work against coturn"
        wrong = await asyncio.wait_for(_relay_candidates(turn["uris"][:1], turn["username"], "wrong"), 30)
        assert wrong == []
    finally:
        await nurse.close()
