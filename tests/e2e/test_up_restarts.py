"""`carebridge up` in real operation: readiness that tells the truth, a crashed bridge that
comes back by itself while staff keep sending."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse

from provisioning.ops.probes import pid_alive
from tests.archive_helpers import cli
from tests.harness.stack import Stack

CAREBRIDGE = str(Path(sys.executable).parent / "carebridge")
SENDERS = 4
PER_SENDER = 50


class UpStack(Stack):
    """A Stack whose Synapse and bridge run under `carebridge up`."""

    up: subprocess.Popen[str] | None = None

    def start_up(self) -> None:
        out = self.s.data_dir / "logs" / "up.out"
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as handle:
            self.up = subprocess.Popen(
                [CAREBRIDGE, "up", "-c", str(self.config_path)],
                stdout=handle,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.wait_output("Staff sign in at:")

    def output(self) -> str:
        return (self.s.data_dir / "logs" / "up.out").read_text()

    def wait_output(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.up is not None
            if self.up.poll() is not None:
                pytest.fail(f"carebridge up exited {self.up.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {text!r}:\n{self.output()}")
            time.sleep(0.3)

    def state(self) -> dict[str, dict[str, object]]:
        children = json.loads((self.s.data_dir / "run" / "state.json").read_text())["children"]
        assert isinstance(children, dict)
        return children

    def stop(self) -> None:
        if self.up is not None and self.up.poll() is None:
            self.up.send_signal(signal.SIGTERM)
            try:
                self.up.wait(60)
            except subprocess.TimeoutExpired:
                self.up.kill()


@pytest.fixture(scope="module")
def up_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    stack = UpStack(
        root=tmp_path_factory.mktemp("up"),
        extra_settings={
            "calls": {"turn": {"enabled": False}},
            "readiness": {"max_lag_seconds": 2, "probe_interval_seconds": 0.5},
            "supervisor": {"backoff_initial_seconds": 0.5, "fast_crash_seconds": 5},
        },
    )
    stack.init()
    try:
        stack.start_up()
        yield stack
    finally:
        stack.stop()


async def _ready(stack: Stack) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{stack.bridge_url}/_carebridge/ready") as resp,
    ):
        return resp.status, await resp.json()


async def _metric(stack: Stack, name: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{stack.bridge_url}/metrics") as resp:
        text = await resp.text()
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


async def _wait_ready(stack: Stack, want: bool, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = await _ready(stack)
        if (status == 200) == want:
            return body
        assert time.monotonic() < deadline, f"ready={not want} for {timeout}s: {body}"
        await asyncio.sleep(0.3)


async def test_readiness_and_status_turn_unhealthy_while_the_archive_lags(up_stack: UpStack) -> None:
    """While the archive cannot write (its database held locked), a sign-in's record waits
    in Synapse: /_carebridge/ready answers 503 naming archive_lagging, `carebridge status`
    exits 3 saying so, and carebridge_ready is 0; once the archive catches up all is well."""
    stack = up_stack
    await _wait_ready(stack, True)
    status = await cli("status", "-c", str(stack.config_path))
    assert status[0] == 0, status
    user_id, password = await stack.create_user()
    db = sqlite3.connect(stack.s.database_url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")  # writers wait; readers (the probes) still read
        client = await stack.login(user_id, password)
        await client.close()
        body = await _wait_ready(stack, False)
        assert "archive_lagging" in body["reasons"], body
        code, out, err = await cli("status", "-c", str(stack.config_path))
        assert code == 3 and "archive_lagging" in out, out + err
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{stack.bridge_url}/_carebridge/health") as resp,
        ):
            health = await resp.json()
        assert health["started"] and not health["ready"] and "archive_lagging" in health["reasons"]
        assert await _metric(stack, "carebridge_ready") == 0
    finally:
        db.execute("ROLLBACK")
        db.close()
    await _wait_ready(stack, True, timeout=180)
    assert await _metric(stack, "carebridge_ready") == 1


async def test_killed_bridge_comes_back_during_load_and_loses_nothing(up_stack: UpStack) -> None:
    """kill -9 of the bridge while 200 messages are sent: every send succeeds (Synapse keeps
    serving), `up` restarts the bridge by itself and counts it, all 200 are archived exactly
    once and the archive verifies clean."""
    stack = up_stack
    clients: list[AsyncClient] = []
    try:
        for _ in range(SENDERS):
            user_id, password = await stack.create_user()
            clients.append(await stack.login(user_id, password))
        room = await clients[0].room_create(is_direct=True, invite=[c.user_id for c in clients[1:]])
        assert isinstance(room, RoomCreateResponse), room
        for client in clients[1:]:
            assert isinstance(await client.join(room.room_id), JoinResponse)
        before = stack.state()
        bridge_pid, synapse_pid = before["bridge"]["pid"], before["synapse"]["pid"]
        assert isinstance(bridge_pid, int) and isinstance(synapse_pid, int)
        sent: list[str] = []

        async def sender(index: int, client: AsyncClient) -> None:
            for i in range(PER_SENDER):
                resp = await client.room_send(
                    room.room_id, "m.room.message", {"msgtype": "m.text", "body": f"load {index}-{i}"}
                )
                assert isinstance(resp, RoomSendResponse), resp
                sent.append(resp.event_id)

        async def killer() -> None:
            while len(sent) < 60:
                await asyncio.sleep(0.01)
            os.kill(bridge_pid, signal.SIGKILL)

        await asyncio.gather(killer(), *(sender(i, c) for i, c in enumerate(clients)))
        assert len(sent) == SENDERS * PER_SENDER
        stack.wait_output("restarting bridge (restart #1)")
        await _wait_ready(stack, True, timeout=120)
        after = stack.state()
        assert after["bridge"]["pid"] != bridge_pid and after["bridge"]["restarts"] == 1
        assert after["synapse"]["pid"] == synapse_pid and pid_alive(synapse_pid)
        assert "bridge exited unexpectedly with code -9" in stack.output()

        ids = await stack.wait_archived(sent, timeout=120)
        counts = Counter(ids)
        assert all(counts[e] == 1 for e in sent), [e for e in sent if counts[e] != 1]
        code, out, err = await cli("archive", "verify", "-c", str(stack.config_path), "--format", "json")
        assert code == 0, out + err
        assert json.loads(out)["ok"]
        status = await cli("status", "-c", str(stack.config_path))
        assert status[0] == 0, status
    finally:
        await asyncio.gather(*(c.close() for c in clients))
