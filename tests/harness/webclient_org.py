"""The browser tests' organisation (org.yaml text, who is where) and matrix-nio helpers
for the colleague on the other side."""

from __future__ import annotations

import secrets
import struct
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nio import AsyncClient, RoomMessageText, SyncResponse

from tests.harness.browser import PNG_SIGNATURE
from tests.harness.smtp import MailCatcher
from tests.harness.stack import Stack

ORGANIZATION = "Riverside Clinic"
NURSES = ["anna", "cara", "dan", "fay", "gil"]
PHYSICIANS = ["ben", "eve"]
USERS = NURSES + PHYSICIANS
# channel name -> (shown name, who is in it)
CHANNELS = {
    "ward-3": ("Ward 3", set(USERS)),
    "handover": ("Shift handover", set(USERS)),
    "pharmacy": ("Pharmacy", set(PHYSICIANS)),
    "rounds": ("Rounds", set(USERS)),
    "notices": ("Notices", set(USERS)),
}


def org_yaml() -> str:
    """The organisation; fay works a shift that starts in three hours, with sign-in allowed
    only from an hour before it (login_hours_only), so she cannot sign in during the run."""
    users = "".join(
        f"  - {{username: {u}, display_name: Test {u.capitalize()}, email: {u}@clinic.example,"
        f" groups: [{'nurses' if u in NURSES else 'physicians'}]"
        f"{', schedule: later' if u == 'fay' else ''}}}\n"
        for u in USERS
    )
    now = datetime.now(UTC)
    start, end = now + timedelta(hours=3), now + timedelta(hours=4)
    return (
        f"organization: {{name: {ORGANIZATION}, timezone: UTC}}\n"
        "groups: {nurses: {display_name: Nurses}, physicians: {display_name: Physicians}}\n"
        "schedules:\n"
        f"  later: {{days: [mon, tue, wed, thu, fri, sat, sun], start: '{start:%H:%M}', end: '{end:%H:%M}',"
        " early_login_minutes: 60, login_hours_only: true}\n"
        f"users:\n{users}"
        "channels:\n"
        "  - {name: ward-3, display_name: Ward 3, members: [everyone], post: [everyone]}\n"
        "  - {name: handover, display_name: Shift handover, post: [group:nurses, group:physicians]}\n"
        "  - {name: pharmacy, display_name: Pharmacy, post: [group:physicians]}\n"
        "  - {name: rounds, display_name: Rounds, post: [group:physicians], respond: [group:nurses]}\n"
        "  - {name: notices, display_name: Notices, members: [everyone], post: [group:physicians]}\n"
    )


@dataclass
class Org:
    """The running deployment and what the test run knows about its people."""

    stack: Stack
    mail: MailCatcher
    web_url: str
    mailed_url: dict[str, str]
    passwords: dict[str, str]  # each person's current password
    rooms: dict[str, str] = field(default_factory=dict)  # channel name -> room id

    def uid(self, username: str) -> str:
        return f"@{username}:{self.stack.server_name}"


def marker(text: str) -> str:
    """A message body nobody else sends."""
    return f"{text} #{secrets.token_hex(3)}"


async def sync_until(client: AsyncClient, room_id: str, body: str, timeout: float = 60.0) -> Any:
    """Sync until a text message with `body` arrives in the room; returns the nio event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await client.sync(timeout=5000, full_state=client.next_batch is None)
        assert isinstance(resp, SyncResponse), resp
        room = resp.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            if isinstance(event, RoomMessageText) and event.body == body:
                return event
    raise AssertionError(f"message not received by {client.user_id} within {timeout}s")


def tiny_png(path: Path) -> Path:
    """A 2x2 PNG picture (a photo stand-in) written with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc0\x30\x30" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    png = PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


async def invited_room(client: AsyncClient, inviter: str, timeout: float = 60.0) -> str:
    """Sync until `inviter` has invited the client's user somewhere; returns the room id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = await client.sync(timeout=5000)
        assert isinstance(resp, SyncResponse), resp
        for room_id, invite in resp.rooms.invite.items():
            if any(getattr(e, "sender", None) == inviter for e in invite.invite_state):
                return room_id
    raise AssertionError(f"no invitation from {inviter} within {timeout}s")
