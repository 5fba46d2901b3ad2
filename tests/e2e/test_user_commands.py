"""`carebridge user add|list|reset-password|deactivate` against the shared Synapse."""

from __future__ import annotations

import json
import re
import secrets

from nio import AsyncClient, LoginError, SyncError

from bridge.db.engine import create_engine
from bridge.db.initial_passwords import InitialPasswords
from tests.harness.provision import carebridge
from tests.harness.stack import Stack


def _password_file(stack: Stack, out: str, username: str) -> str:
    """The password from the file the CLI named (no SMTP on the shared stack)."""
    name = re.search(rf"({re.escape(username)}-\S+\.txt)", out)
    assert name, out
    text = (stack.s.data_dir / "initial-passwords" / name.group(1)).read_text()
    found = re.search(r"Password:\s+(\S+)", text)
    assert found
    return found.group(1)


async def _cannot_login(stack: Stack, user_id: str, password: str) -> None:
    client = AsyncClient(stack.hs_url, user_id)
    try:
        assert isinstance(await client.login(password), LoginError)
    finally:
        await client.close()


async def test_user_add_reset_deactivate(stack: Stack) -> None:
    username = f"temp{secrets.token_hex(3)}"
    user_id = f"@{username}:{stack.server_name}"
    code, out, err = await carebridge(
        stack, "user", "add", username, "--display-name", "Temp Worker", "--email", f"{username}@x.example"
    )
    assert code == 0, out + err
    first = _password_file(stack, out, username)
    assert first not in out + err and "Temp Worker" not in out
    client = await stack.login(user_id, first)
    try:
        code, out, err = await carebridge(
            stack, "user", "add", username, "--display-name", "X", "--email", "x@x.example"
        )
        assert code == 2 and "already exists" in err

        code, out, err = await carebridge(stack, "user", "list", "--format", "json")
        rows = {r["user_id"]: r for r in json.loads(out)}
        assert rows[user_id]["status"] == "active" and rows[user_id]["managed_by"] == "cli"
        assert rows[user_id]["initial_password"] == "yes"
        assert "display_name" not in rows[user_id]
        code, out, _ = await carebridge(stack, "user", "list", "--format", "csv", "--show-contact")
        assert f"{user_id},Temp Worker,{username}@x.example,staff" in out

        # reset-password: every session ends, only the new password works, and the account
        # is marked as having a mailed password again (even after its owner chose one)
        marks = create_engine(stack.s.database_url)
        try:
            await InitialPasswords(marks).clear(user_id)
        finally:
            await marks.dispose()
        code, out, err = await carebridge(stack, "user", "reset-password", username)
        assert code == 0, out + err
        second = _password_file(stack, out, username)
        assert second != first
        revoked = await client.sync(timeout=0)
        assert isinstance(revoked, SyncError) and revoked.status_code == "M_UNKNOWN_TOKEN", revoked
        await _cannot_login(stack, user_id, first)
        await (await stack.login(user_id, second)).close()
        code, out, _ = await carebridge(stack, "user", "list", "--format", "json")
        assert next(r for r in json.loads(out) if r["user_id"] == user_id)["initial_password"] == "yes"

        # deactivate: cannot sign in, shows as deactivated, never erased
        code, out, err = await carebridge(stack, "user", "deactivate", user_id, "--yes")
        assert code == 0, out + err
        await _cannot_login(stack, user_id, second)
        account = await stack.admin("GET", f"/_synapse/admin/v2/users/{user_id}")
        assert account["deactivated"] and not account.get("erased")
        code, out, _ = await carebridge(stack, "user", "list", "--all", "--format", "json")
        assert next(r for r in json.loads(out) if r["user_id"] == user_id)["status"] == "deactivated"
        code, out, err = await carebridge(stack, "user", "reset-password", username)
        assert code == 2 and "deactivated" in err
    finally:
        await client.close()


async def test_user_add_validates_before_touching_the_server(stack: Stack) -> None:
    code, _, err = await carebridge(
        stack, "user", "add", "Bad Name", "--display-name", "X", "--email", "x@x.example"
    )
    assert code == 2 and "username" in err
    code, _, err = await carebridge(
        stack, "user", "add", "okname", "--display-name", "X", "--email", "not-an-email"
    )
    assert code == 2 and "email" in err
    code, _, err = await carebridge(
        stack, "user", "add", "carebridge", "--display-name", "X", "--email", "x@x.example"
    )
    assert code == 2 and "reserved" in err
