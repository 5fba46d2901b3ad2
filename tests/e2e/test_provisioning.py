"""Provisioning an organisation, against a real Synapse, the bridge and a real SMTP server.

One organisation (3 groups, 12 users, 4 channels) goes through its life: first apply
(passwords mailed, everyone logs in, sees their channels, read-only members refused),
second apply (no changes, no write), then a user and a channel leave the file
(deactivated / closed, nothing erased) while a member joins late and reads old history.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import (
    AsyncClient,
    LoginError,
    RoomMessagesResponse,
    RoomSendError,
    RoomSendResponse,
    SyncError,
    SyncResponse,
)

from bridge.db.directory import Directory
from bridge.db.engine import create_engine
from tests.harness.orgfile import ALL_USERS, CHANNELS, MEMBERSHIP, email_of, org_yaml
from tests.harness.provision import carebridge, server_fingerprint
from tests.harness.scenarios import stack_with_mail
from tests.harness.smtp import MailCatcher, password_from
from tests.harness.stack import Stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, MailCatcher]]:
    """Its own Synapse + bridge: the org file is global state, and SMTP is configured."""
    with stack_with_mail(tmp_path_factory.mktemp("org")) as running:
        yield running


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


async def bodies(client: AsyncClient, room_id: str) -> list[str]:
    resp = await client.room_messages(room_id, limit=100)
    assert isinstance(resp, RoomMessagesResponse), resp
    return [e.source["content"].get("body") for e in resp.chunk if e.source.get("type") == "m.room.message"]


async def test_org_lifecycle(org_stack: tuple[Stack, MailCatcher], tmp_path: Path) -> None:
    stack, mail = org_stack
    uid = {u: f"@{u}:{stack.server_name}" for u in ALL_USERS}
    org = tmp_path / "org.yaml"
    org.write_text(org_yaml())

    # plan writes nothing and lists the creations
    code, out, err = await carebridge(stack, "provision", "plan", "--format", "json", str(org))
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["user.create"] == 12 and summary["channel.create"] == 4

    # 1. apply: passwords mailed, everyone logs in and sees exactly their channels
    code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org))
    assert code == 0, out + err
    result = json.loads(out)
    assert sorted(result["emailed"]) == sorted(uid.values()) and result["password_files"] == []
    mail.wait_for(12)
    passwords = {u: password_from(mail.to(email_of(u))[0]) for u in ALL_USERS}
    for password in passwords.values():
        assert password not in out + err, "a password reached the terminal"
    clients = {u: await stack.login(uid[u], passwords[u]) for u in ALL_USERS}
    try:
        rooms = {
            c: (
                await stack.admin(
                    "GET", f"/_matrix/client/v3/directory/room/{quote(f'#{c}:{stack.server_name}')}"
                )
            )["room_id"]
            for c in [*CHANNELS, "carebridge-admins"]
        }
        for user, client in clients.items():
            synced = await client.sync(timeout=0)
            assert isinstance(synced, SyncResponse), synced
            # nurse1, the administrator, is in the administrators' room too
            admins_room = {rooms["carebridge-admins"]} if user == "nurse1" else set()
            assert set(synced.rooms.join) == {rooms[c] for c in MEMBERSHIP[user]} | admins_room, user

        # read-only members are refused by Synapse; posters and responders are not
        refused = await clients["clerk1"].room_send(rooms["announcements"], "m.room.message", text("hi all"))
        assert isinstance(refused, RoomSendError), refused
        assert refused.status_code == "M_FORBIDDEN"
        refused = await clients["nurse2"].room_send(rooms["clerks-desk"], "m.room.message", text("x"))
        assert isinstance(refused, RoomSendError), refused
        sent = await clients["nurse1"].room_send(rooms["announcements"], "m.room.message", text("Welcome"))
        assert isinstance(sent, RoomSendResponse), sent
        early = await clients["nurse2"].room_send(
            rooms["icu"], "m.room.message", text("bed 4 needs a doctor")
        )
        assert isinstance(early, RoomSendResponse), early
        # doc1 may only respond in icu: a reply is accepted (a top-level message would not be)
        reply = await clients["doc1"].room_send(
            rooms["icu"],
            "m.room.message",
            {**text("on my way"), "m.relates_to": {"m.in_reply_to": {"event_id": early.event_id}}},
        )
        assert isinstance(reply, RoomSendResponse), reply
        doc4_note = await clients["doc4"].room_send(rooms["handover"], "m.room.message", text("doc4 note"))
        assert isinstance(doc4_note, RoomSendResponse), doc4_note
        desk = await clients["clerk2"].room_send(rooms["clerks-desk"], "m.room.message", text("desk log"))
        assert isinstance(desk, RoomSendResponse), desk

        # 2. second apply: "No changes", and no write reached Synapse
        before = await server_fingerprint(stack, rooms.values())
        code, out, err = await carebridge(stack, "provision", "apply", str(org))
        assert code == 0, out + err
        assert "No changes" in out
        code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org))
        assert code == 0, out + err
        again = json.loads(out)
        assert again["plan"]["changes"] == 0 and again["homeserver_writes"] == 0
        assert await server_fingerprint(stack, rooms.values()) == before

        # 3. doc4 and clerks-desk leave the file; clerk1 joins icu late
        org.write_text(
            org_yaml(drop_users=("doc4",), drop_channels=("clerks-desk",), icu_extra_members=("clerk1",))
        )
        code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org))
        assert code == 0, out + err
        summary = json.loads(out)["plan"]["summary"]
        assert summary["user.deactivate"] == 1 and summary["channel.close"] == 1
        assert summary["member.join"] == 1 and "user.create" not in summary

        gone = AsyncClient(stack.hs_url, uid["doc4"])
        try:
            login = await gone.login(passwords["doc4"])
            assert isinstance(login, LoginError), login
        finally:
            await gone.close()
        revoked = await clients["doc4"].sync(timeout=0)
        assert isinstance(revoked, SyncError) and revoked.status_code == "M_UNKNOWN_TOKEN", revoked
        assert "doc4 note" in await bodies(clients["doc1"], rooms["handover"])
        assert doc4_note.event_id in await stack.wait_archived([doc4_note.event_id])

        # the closed channel still exists with its history, and nobody can post any more
        state = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{quote(rooms['clerks-desk'])}/state")
        assert any(e["type"] == "m.room.create" for e in state["state"])
        assert "desk log" in await bodies(clients["clerk2"], rooms["clerks-desk"])
        closed = await clients["clerk2"].room_send(
            rooms["clerks-desk"], "m.room.message", text("still open?")
        )
        assert isinstance(closed, RoomSendError), closed

        # history sent before clerk1 joined icu is visible to them
        icu_history = await bodies(clients["clerk1"], rooms["icu"])
        assert "bed 4 needs a doctor" in icu_history and "on my way" in icu_history

        engine = create_engine(stack.s.database_url)
        try:
            directory = Directory(engine)
            channel = await directory.channel_by_room(rooms["clerks-desk"])
            assert channel is not None and channel.closed
            doc4 = await directory.user(uid["doc4"])
            assert doc4 is not None and not doc4.active and doc4.deactivated_ts
            assert await directory.respond_only_members(rooms["icu"]) == {
                uid[d] for d in ("doc1", "doc2", "doc3")
            }
        finally:
            await engine.dispose()

        code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org))
        assert code == 0 and json.loads(out)["homeserver_writes"] == 0, out + err

        # 4. back to the first file: doc4 reactivated with a new mailed password, the
        # channel reopened, clerk1 taken out of icu again
        org.write_text(org_yaml())
        code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org))
        assert code == 0, out + err
        summary = json.loads(out)["plan"]["summary"]
        assert summary["user.reactivate"] == 1 and summary["member.remove"] == 1
        mail.wait_for(13)
        new_password = password_from(mail.to(email_of("doc4"))[-1])
        assert new_password != passwords["doc4"]
        back = await stack.login(uid["doc4"], new_password)
        await clients["doc4"].close()
        clients["doc4"] = back
        synced = await back.sync(timeout=0)
        assert isinstance(synced, SyncResponse), synced
        assert set(synced.rooms.join) == {rooms[c] for c in MEMBERSHIP["doc4"]}
        reopened = await clients["clerk2"].room_send(
            rooms["clerks-desk"], "m.room.message", text("open again")
        )
        assert isinstance(reopened, RoomSendResponse), reopened
        synced = await clients["clerk1"].sync(timeout=0)
        assert isinstance(synced, SyncResponse), synced
        assert rooms["icu"] not in synced.rooms.join
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))


def _in_user(text: str, username: str, old: str, new: str) -> str:
    """Replace `old` with `new` inside one user's block only."""
    start = text.index(f"  - username: {username}\n")
    end = text.find("  - username:", start + 1)
    end = len(text) if end == -1 else end
    block = text[start:end]
    assert old in block, (username, old)
    return text[:start] + block.replace(old, new, 1) + text[end:]


def _swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


BASE = org_yaml()
# (id, the mistake made in a good file, line marker, dotted key, what the message must say)
MISTAKES: list[tuple[str, Callable[[str], str], str, str, str]] = [
    (
        "unknown-key",
        lambda t: _in_user(t, "doc2", "    role:", "    emial: x@clinic.example\n    role:"),
        "emial:",
        "users.5.emial",
        "unknown key",
    ),
    (
        "duplicate-username",
        lambda t: _in_user(t, "clerk3", "username: clerk3", "username: clerk2"),
        "username: clerk2\n    display_name: Test Clerk3",
        "users.10.username",
        "duplicate username 'clerk2'",
    ),
    (
        "undefined-group",
        lambda t: _in_user(t, "nurse3", "[nurses]", "[nurses, surgeons]"),
        "surgeons",
        "users.2.groups.1",
        "undefined group 'surgeons'",
    ),
    (
        "undefined-schedule",
        lambda t: _in_user(t, "clerk1", "schedule: office", "schedule: evening"),
        "evening",
        "users.8.schedule",
        "undefined schedule 'evening'",
    ),
    (
        "bad-email",
        lambda t: _in_user(t, "doc1", "doc1@clinic.example", "doc1-at-clinic"),
        "doc1-at-clinic",
        "users.4.email",
        "email address",
    ),
    (
        "bad-role",
        lambda t: _in_user(t, "nurse4", "role: staff", "role: superuser"),
        "superuser",
        "users.3.role",
        "'admin' or 'staff'",
    ),
    (
        "bad-time",
        lambda t: _swap(t, 'start: "07:00", end: "19:00"', 'start: "7am", end: "19:00"'),
        "7am",
        "schedules.day.start",
        '"HH:MM"',
    ),
    (
        "unquoted-time",
        lambda t: _swap(t, 'start: "08:30", end: "17:00"', 'start: "08:30", end: 17:00'),
        "end: 17:00",
        "schedules.office.end",
        "in quotes",
    ),
    (
        "undefined-user-ref",
        lambda t: _swap(t, "user:nurse2]", "user:nurse9]"),
        "user:nurse9",
        "channels.2.members.1",
        "undefined user 'nurse9'",
    ),
    (
        "bad-reference",
        lambda t: _swap(t, "post: [group:nurses, group:physicians]", "post: [team:nurses, group:physicians]"),
        "team:nurses",
        "channels.3.post.0",
        "group:NAME or user:USERNAME",
    ),
    (
        "duplicate-channel",
        lambda t: _swap(t, "- name: handover", "- name: icu"),
        "- name: icu\n    topic: Shift",
        "channels.3.name",
        "duplicate channel name 'icu'",
    ),
    (
        "missing-key",
        lambda t: _in_user(t, "doc3", "    display_name: Test Doc3\n", ""),
        "username: doc3",
        "users.6.display_name",
        "required key is missing",
    ),
    (
        "unknown-timezone",
        lambda t: _swap(t, "America/Chicago", "America/Chicagoo"),
        "Chicagoo",
        "organization.timezone",
        "unknown time zone",
    ),
    (
        "reserved-username",
        lambda t: _in_user(t, "nurse1", "username: nurse1", "username: carebridge"),
        "username: carebridge",
        "users.0.username",
        "reserved",
    ),
    (
        "invalid-yaml",
        lambda t: _swap(t, "  nurses: {display_name: Nurses}", "  nurses: {display_name: Nurses"),
        "  physicians: {}",
        "",
        "invalid YAML",
    ),
]
BROKEN = [(name, mistake(BASE), *rest) for name, mistake, *rest in MISTAKES]


def _line_of(text: str, marker: str) -> int:
    offset = text.rindex(marker) if marker.startswith("username: clerk2") else text.index(marker)
    return text.count("\n", 0, offset) + 1


@pytest.mark.parametrize(
    ("text", "marker", "key", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
async def test_broken_org_file_is_refused_and_changes_nothing(
    org_stack: tuple[Stack, MailCatcher], tmp_path: Path, text: str, marker: str, key: str, message: str
) -> None:
    stack, _ = org_stack
    path = tmp_path / "org.yaml"
    path.write_text(text)
    before = await server_fingerprint(stack, [])
    code, out, err = await carebridge(stack, "provision", "apply", str(path))
    assert code == 2, out + err
    expected = f"{path}:{_line_of(text, marker)}:"
    line = next((ln for ln in err.splitlines() if ln.startswith(expected)), None)
    assert line is not None, f"no {expected!r} in:\n{err}"
    if key:
        assert f": {key}: " in line, line
    assert message in line, line
    assert await server_fingerprint(stack, []) == before


async def test_every_error_in_the_org_file_is_reported_at_once(
    org_stack: tuple[Stack, MailCatcher], tmp_path: Path
) -> None:
    """All the mistakes above in one file (shape errors and cross-references mixed):
    `check`, `plan` and `apply` each name every one as file:line:col: key: what, exit 2,
    and nothing is applied. (Before, the shape errors hid the undefined groups, schedules,
    users and duplicate names until they were fixed.)"""
    stack, _ = org_stack
    cases = [m for m in MISTAKES if m[0] != "invalid-yaml"]
    text = BASE
    for _, mistake, *_ in cases:
        text = mistake(text)
    path = tmp_path / "org.yaml"
    path.write_text(text)
    before = await server_fingerprint(stack, [])
    for command in ("check", "plan", "apply"):
        code, out, err = await carebridge(stack, "provision", command, str(path))
        assert code == 2, (command, out + err)
        lines = [ln for ln in err.splitlines() if ln.startswith(f"{path}:")]
        for name, _, marker, key, message in cases:
            where = f"{path}:{_line_of(text, marker)}:"
            found = [ln for ln in lines if ln.startswith(where) and f": {key}: " in ln and message in ln]
            assert found, f"{command}: {name} ({where} {key}: {message}) not in:\n{err}"
            assert all(ln.split(":")[2].isdigit() for ln in found), found  # file:line:col
    assert await server_fingerprint(stack, []) == before
