"""Helpers for provisioning tests: run the real `carebridge` CLI, fingerprint Synapse."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.harness.stack import Stack

# The installed console script, exactly what `make run` and the README use.
CAREBRIDGE = str(Path(sys.executable).parent / "carebridge")


def start_up(config: Path, out: Path) -> subprocess.Popen[str]:
    """`carebridge up -c config` as a real subprocess, its stdout and stderr written to `out`."""
    with open(out, "w") as handle:
        return subprocess.Popen(
            [CAREBRIDGE, "up", "-c", str(config)], stdout=handle, stderr=subprocess.STDOUT, text=True
        )


def wait_for_line(out: Path, text: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until `text` appears in `up`'s output; fail with the output if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in out.read_text():
            return
        if proc.poll() is not None:
            pytest.fail(f"carebridge up exited {proc.returncode}:\n{out.read_text()}")
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {text!r}:\n{out.read_text()}")


async def carebridge(stack: Stack, *args: str) -> tuple[int, str, str]:
    """Run `carebridge ARGS -c <stack config>`; returns (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        CAREBRIDGE,
        *args,
        "-c",
        str(stack.config_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def server_fingerprint(stack: Stack, room_ids: Iterable[str]) -> dict[str, Any]:
    """Everything provisioning could change on Synapse: accounts, rooms, room state."""
    users = await stack.admin("GET", "/_synapse/admin/v2/users?deactivated=true&limit=10000")
    rooms = await stack.admin("GET", "/_synapse/admin/v1/rooms?limit=10000")
    state = {}
    for room_id in room_ids:
        events = (await stack.admin("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/state"))["state"]
        state[room_id] = sorted(e["event_id"] for e in events)
    return {
        "users": sorted(
            (u["name"], u.get("displayname"), u["deactivated"], u["admin"]) for u in users["users"]
        ),
        "rooms": sorted(r["room_id"] for r in rooms["rooms"]),
        "state": state,
    }
