"""Helpers shared by the archive integration tests."""

from __future__ import annotations

import asyncio
import os
import secrets
import struct
import zlib
from typing import Any

from sqlalchemy import select

from bridge.db.engine import create_engine
from bridge.db.tables import archive_media
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import Stack


def message_event(
    content: dict[str, Any],
    *,
    event_id: str | None = None,
    room_id: str = "!r:test",
    sender: str = "@a:test",
    ts: int = 1,
) -> dict[str, Any]:
    """An m.room.message event as Synapse hands it to the appservice (a random id unless given)."""
    return {
        "event_id": event_id or f"${secrets.token_hex(8)}",
        "room_id": room_id,
        "sender": sender,
        "type": "m.room.message",
        "origin_server_ts": ts,
        "content": content,
    }


def png(width: int = 8, height: int = 8) -> bytes:
    """A valid, random-pixel RGB PNG (so Synapse can thumbnail it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + secrets.token_bytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the real `carebridge` command; returns (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        CAREBRIDGE,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {}), "COLUMNS": "200"},
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def wait_media(stack: Stack, mxcs: list[str], timeout: float = 60.0) -> dict[str, Any]:
    """Wait until every mxc is stored in the archive; returns the archive_media rows."""
    engine = create_engine(stack.s.database_url)
    deadline = asyncio.get_running_loop().time() + timeout
    try:
        while True:
            async with engine.connect() as conn:
                rows = {
                    r.mxc: r
                    for r in (
                        await conn.execute(select(archive_media).where(archive_media.c.mxc.in_(mxcs)))
                    ).all()
                }
            if all(m in rows and rows[m].status == "stored" for m in mxcs):
                return rows
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"media not archived in time: {rows}")
            await asyncio.sleep(0.25)
    finally:
        await engine.dispose()
