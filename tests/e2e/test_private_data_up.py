"""`carebridge up` keeps its data private and PHI out of every log it configures.

Started under a permissive umask (0022, as a careless service account would), `up` must
still leave every file under the data directory 0600 and every folder 0700 after a real
sign-in, a message and an upload (homeserver.db, carebridge.db, logs, Synapse's media
store, the archive's media copies), and tighten a loose file left from before. After a
mistyped sign-in, a refused upload and a shared file, none of what the person typed
(the sign-in identifier, the file names, the message) appears in any log file.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from nio import AsyncClient, LoginError, RoomCreateResponse, RoomSendResponse

from bridge.core.registration import load_registration
from config.settings import Settings, load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir
from tests import file_samples
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import free_port, strong_password
from tests.staff_helpers import client_api, eventually

pytestmark = pytest.mark.slow
MARK = secrets.token_hex(5)
TYPED_LOGIN = f"Typedlogin{MARK}"
REFUSED_NAME = f"Refusedname{MARK}.png"
SHARED_NAME = f"Sharedname{MARK}.jpg"
BODY = f"Messagebody{MARK}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """`carebridge up` started with umask 0022 on a data dir holding one loose file."""
    root = tmp_path_factory.mktemp("private-up")
    config = init_data_dir(
        InitOptions(
            data_dir=root / "data",
            server_name="private.carebridge",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            turn_port=free_port(),
            testing=True,
        )
    )
    loose = root / "data" / "logs" / "left-over.log"
    loose.write_text("old\n")
    loose.chmod(0o644)
    out = root / "up.out"
    with open(out, "w") as handle:
        proc = subprocess.Popen(
            [CAREBRIDGE, "up", "-c", str(config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.umask(0o022),
        )
    try:
        deadline = time.monotonic() + 120
        while "Staff sign in at:" not in out.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"carebridge up did not start:\n{out.read_text()}")
            time.sleep(0.3)
        yield load_settings(config)
    finally:
        proc.terminate()
        proc.wait(60)


async def _account(settings: Settings) -> tuple[str, str]:
    token = load_registration(settings.path(settings.bridge.registration)).as_token
    user_id, password = f"@u{secrets.token_hex(4)}:{settings.server_name}", strong_password()
    async with (
        aiohttp.ClientSession() as session,
        session.put(
            f"{settings.synapse.url}/_synapse/admin/v2/users/{user_id}",
            json={"password": password},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status in (200, 201), await resp.text()
    return user_id, password


async def _use_it(settings: Settings) -> None:
    """A mistyped sign-in, a real one, a refused upload, a shared photo and a message."""
    typo = AsyncClient(settings.synapse.url, TYPED_LOGIN)
    assert isinstance(await typo.login("not-the-password"), LoginError)
    await typo.close()
    nurse, password = await _account(settings)
    peer, _ = await _account(settings)
    client = AsyncClient(settings.synapse.url, nurse)
    assert not isinstance(await client.login(password), LoginError)
    try:
        status, body = await client_api(
            client,
            "POST",
            f"/_matrix/media/v3/upload?filename={REFUSED_NAME}",
            data=file_samples.HTML,
            content_type="image/png",
        )
        assert status == 403, body
        status, body = await client_api(
            client,
            "POST",
            f"/_matrix/media/v3/upload?filename={SHARED_NAME}",
            data=file_samples.photo_jpeg(),
            content_type="image/jpeg",
        )
        assert status == 200, body
        created = await client.room_create(is_direct=True, invite=[peer])
        assert isinstance(created, RoomCreateResponse), created
        for content in (
            {"msgtype": "m.image", "body": SHARED_NAME, "url": body["content_uri"]},
            {"msgtype": "m.text", "body": BODY},
        ):
            sent = await client.room_send(created.room_id, "m.room.message", content)
            assert isinstance(sent, RoomSendResponse), sent
    finally:
        await client.close()


def _archive_media_files(settings: Settings) -> list[Path]:
    media = settings.path(settings.archive.media_dir)
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


async def test_data_dir_private_and_logs_free_of_typed_text(running: Settings) -> None:
    """Modes 0600/0700 everywhere under the data dir; no marker in any log file."""
    await _use_it(running)

    async def archived_media() -> list[Path]:
        return _archive_media_files(running)

    await eventually(archived_media, timeout=60, what="the shared photo in the archive's media")
    data_dir = running.data_dir
    for expected in ("homeserver.db", "carebridge.db", "logs/homeserver.log", "media_store"):
        assert (data_dir / expected).exists(), expected
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        if stat.S_IMODE(mode) & 0o077:
            loose.append(f"{path.relative_to(data_dir)} {oct(stat.S_IMODE(mode))}")
    assert loose == [], loose

    logs = [p for p in (data_dir / "logs").rglob("*") if p.is_file()]
    logs += [data_dir.parent / "up.out"]
    assert any("Got login request" in p.read_text(errors="replace") for p in logs)
    for path in logs:
        text = path.read_text(errors="replace").lower()
        for marker in (TYPED_LOGIN, REFUSED_NAME, SHARED_NAME, BODY):
            assert marker.lower() not in text, f"{marker} in {path.name}"
