"""An embedded backup is the whole system: taken while Synapse and the bridge run, restored
into another directory, the restored deployment starts with `carebridge up`, every account
signs in, every room and message is there and `carebridge archive verify` is clean."""

from __future__ import annotations

import asyncio
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
import yaml
from nio import AsyncClient, LoginResponse, RoomCreateResponse, RoomMessagesResponse, RoomSendResponse

from tests.archive_helpers import cli
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import Stack

pytestmark = pytest.mark.slow


async def sign_in(url: str, user_id: str, password: str) -> AsyncClient:
    client = AsyncClient(url, user_id)
    resp = await client.login(password, device_name="restore-check")
    assert isinstance(resp, LoginResponse), resp
    return client


def wait_for_up(out: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "Staff sign in at:" not in out.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"restored `carebridge up` did not start:\n{out.read_text()}")
        time.sleep(0.3)


async def test_embedded_backup_restores_a_working_system(tmp_path: Path) -> None:
    stack = Stack(root=tmp_path / "old")
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        alice_id, alice_pw = await stack.create_user("alice")
        bob_id, bob_pw = await stack.create_user("bob")
        alice = await stack.login(alice_id, alice_pw)
        room = await alice.room_create(is_direct=True, invite=[bob_id])
        assert isinstance(room, RoomCreateResponse), room
        sent = [await alice.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"m{n}"})
                for n in range(3)]  # fmt: skip
        assert all(isinstance(s, RoomSendResponse) for s in sent), sent
        await stack.wait_archived([s.event_id for s in sent if isinstance(s, RoomSendResponse)])
        await alice.close()
        # While everything runs: a consistent snapshot of both databases.
        backup = tmp_path / "whole.tar.gz"
        code, out, err = await cli("backup", "-c", str(stack.config_path), "--out", str(backup))
        assert code == 0, out + err
    finally:
        stack.stop()

    with tarfile.open(backup) as tar:
        names = tar.getnames()
    assert "synapse/homeserver.db" in names and "config/signing.key" in names
    assert "key/archive.key" not in names, "the archive key only with --include-key"
    old_dir = str(stack.s.data_dir)
    new_dir = tmp_path / "restored"
    code, out, err = await cli(
        "restore",
        str(backup),
        "--data-dir",
        str(new_dir),
        "--key-file",
        str(stack.s.path(stack.s.archive.key_file)),
    )
    assert code == 0, out + err
    for name in ("homeserver.yaml", "log.config.yaml", "turnserver.conf"):
        assert old_dir not in (new_dir / name).read_text(), f"{name} still names the old directory"
    homeserver = yaml.safe_load((new_dir / "homeserver.yaml").read_text())
    assert homeserver["database"]["args"]["database"] == str(new_dir / "homeserver.db")
    assert homeserver["media_store_path"] == str(new_dir / "media_store")

    log = tmp_path / "up.out"
    with open(log, "wb") as handle:
        proc = subprocess.Popen([CAREBRIDGE, "up", "-c", str(new_dir / "carebridge.yaml")], stdout=handle,
                                stderr=subprocess.STDOUT)  # fmt: skip
    try:
        await asyncio.to_thread(wait_for_up, log, proc)
        url = stack.hs_url  # the same ports: the old deployment is stopped
        alice = await sign_in(url, alice_id, alice_pw)
        bob = await sign_in(url, bob_id, bob_pw)
        try:
            history = await alice.room_messages(room.room_id, limit=20)
            assert isinstance(history, RoomMessagesResponse), history
            bodies = [
                e.source["content"].get("body") for e in history.chunk if e.source["type"] == "m.room.message"
            ]
            assert sorted(b for b in bodies if b) == ["m0", "m1", "m2"]
            assert (new_dir / "logs" / "homeserver.log").exists(), (
                "the restored Synapse logs in its own directory"
            )
        finally:
            await alice.close()
            await bob.close()
        code, out, err = await cli("archive", "verify", "-c", str(new_dir / "carebridge.yaml"))
        assert code == 0, out + err
    finally:
        proc.terminate()
        proc.wait(60)
