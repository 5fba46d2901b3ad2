"""`carebridge export` takes what an administrator types (alias, channel name, username,
full ids), refuses what it cannot resolve before writing anything, and keeps threads."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from nio import AsyncClient, RoomCreateResponse, RoomSendResponse

from tests.archive_helpers import cli
from tests.harness.stack import Stack


async def send(client: AsyncClient, room_id: str, content: dict[str, object]) -> str:
    resp = await client.room_send(room_id, "m.room.message", content)
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


async def export(stack: Stack, out: Path, *args: str) -> tuple[int, str]:
    code, stdout, stderr = await cli("export", "-c", str(stack.config_path), *args, "--out", str(out))
    return code, stdout + stderr


def records(out: Path) -> dict[str, dict[str, object]]:
    """The exported messages (other events of the room are exported too), by event id."""
    lines = (out / "messages.jsonl").read_text().splitlines()
    return {r["event_id"]: r for r in map(json.loads, lines) if r.get("kind", "message") == "message"}


async def audit_count(stack: Stack) -> int:
    return sum(1 for e in await stack.archived() if e.event["type"] == "org.carebridge.export")


async def test_export_resolves_alias_name_and_username_and_keeps_thread_roots(
    stack: Stack, tmp_path: Path
) -> None:
    """--room '#name:server', '#name' and 'name' and --user 'username' all export the
    same messages as the full ids; a thread reply names its thread root (and the
    thread-unaware fallback is not taken for a reply)."""
    alice_id, alice_pw = await stack.create_user()
    stack.allow_channel_creators(alice_id)
    alice = await stack.login(alice_id, alice_pw)
    name = f"exp-{secrets.token_hex(3)}"
    try:
        room = await alice.room_create(alias=name, name="Export test")
        assert isinstance(room, RoomCreateResponse), room
        root = await send(alice, room.room_id, {"msgtype": "m.text", "body": "thread root"})
        first = await send(
            alice,
            room.room_id,
            {
                "msgtype": "m.text",
                "body": "in the thread",
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": root,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": root},
                },
            },
        )
        await stack.wait_archived([root, first])
    finally:
        await alice.close()

    code, out = await export(stack, tmp_path / "by-id", "--room", room.room_id)
    assert code == 0, out
    by_id = records(tmp_path / "by-id")
    assert set(by_id) == {root, first}
    assert by_id[first]["thread_root"] == root and by_id[first]["in_reply_to"] is None
    assert by_id[root]["thread_root"] is None

    for n, given in enumerate((f"#{name}:{stack.server_name}", f"#{name}", name)):
        code, out = await export(stack, tmp_path / f"room-{n}", "--room", given)
        assert code == 0, (given, out)
        assert set(records(tmp_path / f"room-{n}")) == {root, first}, given

    localpart = alice_id[1:].split(":")[0]
    code, out = await export(stack, tmp_path / "by-user", "--user", localpart)
    assert code == 0, out
    assert {root, first} <= set(records(tmp_path / "by-user"))
    manifest = json.loads((tmp_path / "by-user" / "manifest.json").read_text())
    assert manifest["filter"]["user"] == alice_id


async def test_export_refuses_what_it_cannot_resolve_before_writing_anything(
    stack: Stack, tmp_path: Path
) -> None:
    """An unknown room alias, channel name, room id or person: exit 2 with a message
    naming it; no export folder and no audit record."""
    before = await audit_count(stack)
    cases = [
        ("--room", f"#no-such-{secrets.token_hex(2)}:{stack.server_name}", "no channel or room"),
        ("--room", "no-such-channel", "no channel or room"),
        ("--room", f"!nothing{secrets.token_hex(3)}:{stack.server_name}", "holds nothing from room"),
        ("--room", "#icu:elsewhere.example", "not an address on this server"),
        ("--user", "drlee", f"no account @drlee:{stack.server_name}"),
        ("--user", "@drlee:elsewhere.example", "not an account on this server"),
    ]
    for n, (option, given, message) in enumerate(cases):
        out_dir = tmp_path / f"refused-{n}"
        code, out = await export(stack, out_dir, option, given)
        assert code == 2, (given, out)
        assert message in out and "Exported" not in out, (given, out)
        assert not out_dir.exists(), given
    assert await audit_count(stack) == before
