"""A sign-in record survives a Synapse crash between the sign-in and its delivery."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.archive_helpers import cli
from tests.compliance_helpers import admin_room_id
from tests.harness.stack import Stack


async def _logins(stack: Stack, user_id: str) -> list[dict[str, object]]:
    code, out, err = await cli(
        "report", "logins", "-c", str(stack.config_path), "--user", user_id, "--format", "json"
    )
    assert code == 0, out + err
    rows = json.loads(out)
    return rows if isinstance(rows, list) else rows.get("rows", [])


@pytest.mark.slow
async def test_sign_in_recorded_after_synapse_is_killed_before_delivering_it(tmp_path: Path) -> None:
    """The module cannot deliver a sign-in record (the administrators' room alias is gone
    for a moment), Synapse is killed with -9, started again and the alias restored: the
    record, kept in the module's 0600 outbox file, reaches `carebridge report logins`."""
    stack = Stack(root=tmp_path)
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        room_id = await admin_room_id(stack)
        alias = quote(stack.s.admin_room_alias)
        user_id, password = await stack.create_user()
        # Creating the account is itself an archived admin action, so the module has found
        # the room already; a restart makes it look the alias up again for the sign-in.
        stack.stop_synapse()
        stack.start_synapse()
        await stack.admin("DELETE", f"/_matrix/client/v3/directory/room/{alias}")
        client = await stack.login(user_id, password)
        await client.close()
        outbox = stack.s.data_dir / "module-outbox" / "session-outbox.sqlite3"
        assert stat.S_IMODE(outbox.stat().st_mode) == 0o600
        stack.stop_synapse(kill=True)
        stack.start_synapse()
        await stack.admin("PUT", f"/_matrix/client/v3/directory/room/{alias}", {"room_id": room_id})
        deadline = time.monotonic() + 60
        while not (rows := await _logins(stack, user_id)):
            assert time.monotonic() < deadline, "the sign-in never reached the report"
            await asyncio.sleep(1)
        assert len(rows) == 1, rows
    finally:
        stack.stop()
