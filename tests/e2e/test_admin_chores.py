"""An administrator's everyday commands against real Synapse and the bridge: users added
into their group's channels, password files named and cleaned up, who reset a password,
`user list` in a narrow terminal, and applying another org file than `org_file:`."""

from __future__ import annotations

import asyncio
import os
import pwd
from collections.abc import Iterator

import pytest
from nio import RoomSendResponse, SyncResponse

from tests.compliance_helpers import ledger, wait_for
from tests.harness.admin_org import AdminOrg, admin_org_fixture, org_text, password_files
from tests.harness.provision import CAREBRIDGE, carebridge

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminOrg]:
    yield from admin_org_fixture(tmp_path_factory, "chores", configure_org_file=True)


async def run_cli(org: AdminOrg, *args: str, columns: int = 200, stdin: bytes = b"") -> tuple[int, str]:
    """`carebridge ARGS -c CONFIG` in a terminal `columns` wide; returns (code, stdout+stderr)."""
    proc = await asyncio.create_subprocess_exec(
        CAREBRIDGE, *args, "-c", str(org.stack.config_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "COLUMNS": str(columns)},
    )  # fmt: skip
    out, _ = await proc.communicate(stdin)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def channel_room(org: AdminOrg, name: str) -> str:
    alias = f"%23{name}:{org.stack.server_name}"
    found = await org.stack.admin("GET", f"/_matrix/client/v3/directory/room/{alias}")
    return str(found["room_id"])


async def test_apply_names_every_password_file_it_wrote(org: AdminOrg) -> None:
    """The first apply's output names each initial-password file by its full path."""
    for username in ("boss", "nurse"):
        files = password_files(org.stack, username)
        assert len(files) == 1
        assert str(files[0]) in org.first_apply


async def test_user_add_with_a_group_joins_that_groups_channels(org: AdminOrg) -> None:
    """`user add --group ward` joins the person to the ward channel (ward members post
    there), as the org file would; the next apply keeps them in it."""
    code, out = await run_cli(
        org, "user", "add", "temp", "--display-name", "Temp Nurse", "--email", "temp@clinic.example",
        "--group", "ward",
    )  # fmt: skip
    assert code == 0, out
    assert "ward" in out
    ward, office = await channel_room(org, "ward"), await channel_room(org, "office")
    temp = await org.stack.login(org.uid("temp"), org.password("temp"))
    try:
        synced = await temp.sync(timeout=0)
        assert isinstance(synced, SyncResponse), synced
        assert ward in synced.rooms.join and office not in synced.rooms.join
        sent = await temp.room_send(ward, "m.room.message", {"msgtype": "m.text", "body": "on the ward"})
        assert isinstance(sent, RoomSendResponse), sent
        await org.apply()
        synced = await temp.sync(timeout=0)
        assert isinstance(synced, SyncResponse), synced
        assert ward in synced.rooms.join and ward not in synced.rooms.leave
    finally:
        await temp.close()


async def test_reset_password_replaces_the_file_and_names_the_operator(org: AdminOrg) -> None:
    """`user reset-password` leaves one password file (the new one) and the session it
    ended is recorded as closed by the operator's OS account, not by the bot."""
    stack = org.stack
    old_files = password_files(stack, "nurse")
    nurse = await stack.login(org.uid("nurse"), org.password("nurse"))
    await wait_for(lambda: ledger(stack, org.uid("nurse")), lambda r: len(r[0]) >= 1, what="nurse login")
    code, out = await run_cli(org, "user", "reset-password", "nurse")
    assert code == 0, out
    files = password_files(stack, "nurse")
    assert len(files) == 1 and files[0] not in old_files
    assert str(files[0]) in out
    rows, _ = await wait_for(
        lambda: ledger(stack, org.uid("nurse")),
        lambda r: any(x.device_id == nurse.device_id and x.logout_ts for x in r[0]),
        what="session closed by the reset",
    )
    closed = next(x for x in rows if x.device_id == nurse.device_id)
    assert closed.close_reason == "password_reset"
    assert closed.closed_by == f"os-user:{pwd.getpwuid(os.getuid()).pw_name}"
    await nurse.close()


async def test_user_list_in_80_columns_shows_whole_ids(org: AdminOrg) -> None:
    """`user list` in an 80-column terminal prints every user id unbroken."""
    code, out = await run_cli(org, "user", "list", columns=80)
    assert code == 0, out
    assert all(len(line) <= 80 for line in out.splitlines())
    for username in ("boss", "nurse"):
        assert org.uid(username) in out


async def test_applying_another_file_warns_asks_and_status_tells(org: AdminOrg) -> None:
    """`provision apply OTHER.yaml` while org_file: names org.yaml warns that `up` would
    undo it and asks (no answer: nothing applied); with --yes it applies, and `status`
    shows the file in force, the warning, and whether the homeserver matches."""
    other = org.org_path.parent / "other.yaml"
    other.write_text(
        org_text(extra_users="  - {username: extra, display_name: Extra, email: extra@clinic.example}\n")
    )
    code, out = await run_cli(org, "provision", "apply", str(other), stdin=b"\n")
    assert code == 1, out
    assert "re-applies org.yaml at every start" in out and "nothing applied" in out
    assert not password_files(org.stack, "extra")

    code, out = await run_cli(org, "status")
    assert f"Org file in force: {org.org_path}" in out, out
    assert "Homeserver matches it: yes" in out

    code, out = await run_cli(org, "provision", "apply", "--yes", str(other))
    assert code == 0, out
    assert password_files(org.stack, "extra")
    code, out = await run_cli(org, "status")
    assert f"Org file in force: {other}" in out, out
    assert f"re-applies {org.org_path}" in out
    assert "Homeserver matches it: yes" in out

    other.write_text(org_text())  # the file in force now drops `extra`
    code, out = await run_cli(org, "status")
    assert "has changed since" in out and "Homeserver matches it: no, " in out, out
    code, out, err = await carebridge(org.stack, "provision", "apply", str(org.org_path))
    assert code == 0, out + err
