"""Helpers for provisioning tests: run the real `carebridge` CLI, fingerprint Synapse."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.harness.stack import Stack

CAREBRIDGE = str(Path(sys.executable).parent / "carebridge")


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
