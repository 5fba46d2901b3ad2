"""`carebridge up` as a real subprocess: healthy children, clean SIGTERM, no orphans, and
Ctrl-C in a terminal stops the children in order (the bridge before Synapse)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from bridge.core.registration import load_registration
from bridge.db.engine import create_engine
from bridge.db.tables import archive_events
from config.settings import load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir
from provisioning.ops.probes import pid_alive
from tests.harness.provision import CAREBRIDGE, start_up, wait_for_line
from tests.harness.stack import free_port, wait_http


def _start_up(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            testing=True,
            # Two children here; the coturn child is covered by tests/e2e/test_turn_files_up.py.
            extra_settings={"calls": {"turn": {"enabled": False}}},
        )
    )
    out = tmp_path / "up.out"
    return start_up(config, out), config, out


@pytest.mark.slow
def test_sigterm_stops_both_children(tmp_path: Path) -> None:
    proc, config, out = _start_up(tmp_path)
    try:
        wait_for_line(out, "Staff sign in at:", proc)
        state = json.loads((config.parent / "run" / "state.json").read_text())
        pids = [c["pid"] for c in state["children"].values()]
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        for child in state["children"].values():
            wait_http(child["health_url"], 10)
        status = subprocess.run(
            [CAREBRIDGE, "status", "-c", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "synapse" in status.stdout and "bridge" in status.stdout

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(pid_alive(p) for p in pids), "a child outlived carebridge up"
        assert not (config.parent / "run" / "state.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def _bot_says(config: Path, text: str) -> str:
    """The bot posts `text` in the administrators' room (the archive grows); its event id."""
    settings = load_settings(config)
    token = load_registration(settings.path(settings.bridge.registration)).as_token
    with urllib.request.urlopen(
        f"http://{settings.bridge.host}:{settings.bridge.port}/_carebridge/health"
    ) as r:
        room = json.loads(r.read())["admin_room"]
    req = urllib.request.Request(
        f"{settings.synapse.public_url}/_matrix/client/v3/rooms/{quote(room)}/send/"
        f"m.room.message/{secrets.token_hex(8)}",
        data=json.dumps({"msgtype": "m.notice", "body": text}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="PUT",
    )
    with urllib.request.urlopen(req) as resp:
        return str(json.loads(resp.read())["event_id"])


def _wait_archived(config: Path, event_id: str, timeout: float = 30) -> None:
    async def archived() -> bool:
        engine = create_engine(load_settings(config).database_url)
        try:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    select(archive_events.c.seq).where(archive_events.c.event_id == event_id)
                )
        finally:
            await engine.dispose()
        return found is not None

    deadline = time.monotonic() + timeout
    while not asyncio.run(archived()):
        assert time.monotonic() < deadline, f"{event_id} was not archived"
        time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP], ids=["ctrl-c", "terminal-closed"])
def test_ctrl_c_in_a_terminal_stops_the_bridge_before_synapse(tmp_path: Path, signum: int) -> None:
    """Ctrl-C (SIGINT) or closing the terminal (SIGHUP) signals every process of the
    terminal's foreground group (make, `up` and, unless they have their own group, its
    children). `up` must still stop them in order: the bridge first, while Synapse still
    answers, so its shutdown publishes the archive's chain head."""
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            testing=True,
            extra_settings={"calls": {"turn": {"enabled": False}}},
        )
    )
    out = tmp_path / "up.out"
    with open(out, "w") as handle:
        # Its own process group, as a shell gives a foreground job.
        proc = subprocess.Popen(
            [CAREBRIDGE, "up", "-c", str(config)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        wait_for_line(out, "Staff sign in at:", proc)
        _wait_archived(config, _bot_says(config, "archive grows before Ctrl-C"))
        os.killpg(proc.pid, signum)  # what the terminal does
        assert proc.wait(60) == 0, out.read_text()
        bridge_log = (config.parent / "logs" / "bridge.out").read_text()
        stopping = bridge_log.rindex("bridge stopping")
        assert "publishing the chain head at shutdown failed" not in bridge_log[stopping:], bridge_log[
            stopping:
        ]
        assert "published archive chain head" in bridge_log[stopping:], bridge_log[stopping:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
