"""`carebridge provision apply` killed with SIGKILL halfway through creating an organisation,
against a real Synapse and bridge: the next apply finishes the rest and does nothing twice.

Every person ends up with exactly one initial password (written to a 0600 file, no SMTP
here), and it is the password their account has: the ones created before the kill too,
whose passwords the killed apply never got to hand out. No account is created twice, no
one is joined to a channel twice, and a third apply changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from provisioning.org.delivery import password_dir
from provisioning.org.journal import journal_path
from tests.harness.provision import CAREBRIDGE, carebridge
from tests.harness.stack import Stack, running_stack

pytestmark = pytest.mark.slow

PEOPLE = 36
CHANNELS = ("ward", "pharmacy", "night")
KILL_AFTER = 10  # accounts in Synapse when the first apply is killed


@pytest.fixture(scope="module")
def resume_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own Synapse + bridge: the organisation file is global state."""
    with running_stack(tmp_path_factory.mktemp("resume")) as running:
        yield running


def org_yaml() -> str:
    lines = [
        "organization: {name: Resume Hospital, timezone: America/Chicago}",
        "groups:",
        "  nurses: {display_name: Nurses}",
        "  pharm: {display_name: Pharmacists}",
        "users:",
    ]
    for i in range(PEOPLE):
        group = "pharm" if i % 4 == 0 else "nurses"
        lines.append(
            f"  - {{username: p{i:02d}, display_name: Person {i}, email: p{i:02d}@resume.example,"
            f" role: {'admin' if i == 0 else 'staff'}, groups: [{group}]}}"
        )
    lines += [
        "channels:",
        "  - {name: ward, members: [group:nurses], post: [group:nurses]}",
        "  - {name: pharmacy, members: [group:pharm, group:nurses], post: [group:pharm],"
        " respond: [group:nurses]}",
        "  - {name: night, members: [everyone], post: [role:admin]}",
    ]
    return "\n".join(lines) + "\n"


async def accounts(stack: Stack) -> set[str]:
    users = await stack.admin("GET", "/_synapse/admin/v2/users?limit=1000&deactivated=true")
    return {u["name"] for u in users["users"] if u["name"].startswith("@p")}


async def memberships(stack: Stack, alias: str) -> Counter[tuple[str, str]]:
    """(user, membership) -> how many membership events the room's timeline holds."""
    room = await stack.admin("GET", f"/_matrix/client/v3/directory/room/{quote(alias)}")
    path = f"/_synapse/admin/v1/rooms/{quote(room['room_id'])}/messages?dir=f&limit=10000"
    events = (await stack.admin("GET", path))["chunk"]
    return Counter(
        (e["state_key"], e["content"].get("membership"))
        for e in events
        if e["type"] == "m.room.member" and e["state_key"].startswith("@p")
    )


async def test_an_apply_killed_halfway_is_finished_by_the_next(resume_stack: Stack, tmp_path: Path) -> None:
    stack = resume_stack
    org = tmp_path / "org.yaml"
    org.write_text(org_yaml())
    everyone = {f"@p{i:02d}:{stack.server_name}" for i in range(PEOPLE)}
    log = tmp_path / "first-apply.out"
    with open(log, "w") as out:
        first = subprocess.Popen(
            [
                CAREBRIDGE,
                "provision",
                "apply",
                "-c",
                str(stack.config_path),
                str(org),
                "--yes",
                "--concurrency",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 300
    while len(before := await accounts(stack)) < KILL_AFTER:
        assert first.poll() is None, f"apply ended before it could be killed:\n{log.read_text()}"
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.1)
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(30) == -signal.SIGKILL
    # Requests already sent when the client died still complete inside Synapse (the
    # journal has their passwords): wait until nothing more appears.
    before, settled = await accounts(stack), time.monotonic()
    while time.monotonic() - settled < 3:
        await asyncio.sleep(0.5)
        now = await accounts(stack)
        if now != before:
            before, settled = now, time.monotonic()
    assert KILL_AFTER <= len(before) < PEOPLE, "the kill must land halfway"
    journal = journal_path(stack.s)
    assert journal.exists() and oct(journal.stat().st_mode & 0o777) == "0o600"

    code, out, err = await carebridge(stack, "provision", "apply", str(org), "--yes", "--format", "json")
    assert code == 0, err
    second = json.loads(out)
    summary = second["plan"]["summary"]
    assert second["failures"] == []
    # Accounts are created once: the second apply creates exactly the ones the first did not
    # reach, and only records (never re-creates) those it created without recording them.
    assert summary.get("user.create", 0) == PEOPLE - len(before)
    assert summary.get("user.resume", 0) <= len(before)
    assert await accounts(stack) == everyone
    assert not journal.exists(), "nothing is pending once every password is delivered"

    # One initial password per person, and it is the account's password.
    files: dict[str, list[Path]] = {}
    for path in sorted(password_dir(stack.s).glob("p*.txt")):
        files.setdefault(path.name.split("-")[0], []).append(path)
    assert sorted(files) == sorted(u[1:].split(":")[0] for u in everyone)
    assert all(len(found) == 1 for found in files.values()), files
    killed_early = sorted(before)[:6] + sorted(everyone - before)[:2]
    for user_id in killed_early:
        text = files[user_id[1:].split(":")[0]][0].read_text()
        password = re.search(r"^\s*Password:\s+(\S+)\s*$", text, re.MULTILINE)
        assert password is not None
        client = await stack.login(user_id, password.group(1))
        await client.close()

    # No one joined (or invited) twice.
    for name in CHANNELS:
        seen = await memberships(stack, f"#{name}:{stack.server_name}")
        assert seen and max(seen.values()) == 1, (name, [k for k, n in seen.items() if n > 1])

    code, out, err = await carebridge(stack, "provision", "apply", str(org), "--yes", "--format", "json")
    assert code == 0, err
    third = json.loads(out)
    assert (third["plan"]["changes"], third["homeserver_writes"]) == (0, 0)
