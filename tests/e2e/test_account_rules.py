"""Account life cycle against the real Synapse + module: staff cannot deactivate or erase
themselves, every deactivation is an archived record that `carebridge user list` shows, and
a password change ends every other session even when the client asks to keep them."""

from __future__ import annotations

import json
from collections import Counter
from urllib.parse import quote

from nio import AsyncClient, LoginResponse

from bridge.db.engine import create_engine
from bridge.db.initial_passwords import InitialPasswords
from policy.event_types import ACCOUNT_EVENT_TYPE
from tests.compliance_helpers import client_api, ledger, register, session_records, wait_for
from tests.harness.provision import carebridge
from tests.harness.stack import Stack


def _auth(user_id: str, password: str) -> dict[str, object]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
    }


async def _account_records(stack: Stack, user_id: str) -> list[dict[str, object]]:
    return [
        e.event["content"]
        for e in await stack.archived()
        if e.event["type"] == "org.carebridge.account" and e.event["content"].get("user_id") == user_id
    ]


async def test_staff_cannot_deactivate_or_erase_themselves(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    try:
        for body in ({"erase": True}, {"erase": False}, {}):
            status, answer = await client_api(
                stack,
                "POST",
                "/_matrix/client/v3/account/deactivate",
                client.access_token or "",
                {**body, "auth": _auth(user_id, password)},
            )
            assert status == 403, answer
            assert (
                answer["errcode"] == "M_FORBIDDEN"
                and "Deactivation of this user is forbidden" in answer["error"]
            )
        status, whoami = await client_api(
            stack, "GET", "/_matrix/client/v3/account/whoami", client.access_token or ""
        )
        assert status == 200 and whoami["user_id"] == user_id, "the account still works"
        account = await stack.admin("GET", f"/_synapse/admin/v2/users/{quote(user_id)}")
        assert account["deactivated"] is False and account["erased"] is False
    finally:
        await client.close()


async def test_any_deactivation_is_recorded_and_listed(stack: Stack) -> None:
    """An administrator deactivating through the admin API directly (not `carebridge user
    deactivate`) still leaves an archived record, and the directory shows the person
    deactivated."""
    user_id, _ = await stack.create_user()
    await register(stack, [(user_id, "staff", None)], {})
    await stack.admin("POST", f"/_synapse/admin/v1/deactivate/{quote(user_id)}", {"erase": False})
    records = await wait_for(lambda: _account_records(stack, user_id), bool, what="the account record")
    assert records[0]["kind"] == "deactivated" and records[0]["by_admin"] is True
    assert records[0]["actor"] == stack.s.bot_user_id and records[0]["erased"] is False

    async def listed() -> dict[str, object]:
        code, out, err = await carebridge(stack, "user", "list", "--all", "--format", "json")
        assert code == 0, out + err
        return {r["user_id"]: r for r in json.loads(out)}[user_id]

    row = await wait_for(listed, lambda r: r["status"] == "deactivated", what="user list shows it")
    assert row["status"] == "deactivated"


async def test_password_change_keeping_sessions_still_ends_them(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    keeper, other = await stack.login(user_id, password), await stack.login(user_id, password)
    try:
        await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 2, what="two logins")
        new_password = password + "Z9!"
        status, body = await client_api(
            stack,
            "POST",
            "/_matrix/client/v3/account/password",
            keeper.access_token,
            {"new_password": new_password, "logout_devices": False, "auth": _auth(user_id, password)},
        )
        assert status == 200, body

        async def other_status() -> int:
            status, _ = await client_api(
                stack, "GET", "/_matrix/client/v3/account/whoami", other.access_token
            )
            return status

        assert await wait_for(other_status, lambda s: s == 401, what="the other session ended") == 401
        status, _ = await client_api(stack, "GET", "/_matrix/client/v3/account/whoami", keeper.access_token)
        assert status == 200, "the session that changed the password stays"
        rows, _ = await wait_for(
            lambda: ledger(stack, user_id),
            lambda r: any(s.device_id == other.device_id and s.logout_ts for s in r[0]),
            what="the ledger closes the other session",
        )
        by_device = {r.device_id: r for r in rows}
        assert by_device[other.device_id].close_reason == "password_change"
        assert by_device[keeper.device_id].logout_ts is None
        kinds = Counter(r["kind"] for r in await session_records(stack, user_id))
        assert kinds == {"login": 2, "logout": 1}
        fresh = AsyncClient(stack.hs_url, user_id)
        assert isinstance(await fresh.login(new_password), LoginResponse), "the new password works"
        await fresh.close()
    finally:
        await keeper.close()
        await other.close()


async def test_a_password_changed_in_any_client_is_recorded_and_clears_the_initial_mark(stack: Stack) -> None:
    """A person who changes the mailed password outside the web client (Element, raw API) is
    no longer listed as still on their initial password, and the change is an audit record."""
    user_id, password = await stack.create_user()
    engine = create_engine(stack.s.database_url)
    marks = InitialPasswords(engine)
    try:
        await marks.mark([user_id])
        client = await stack.login(user_id, password)
        try:
            status, body = await client_api(
                stack,
                "POST",
                "/_matrix/client/v3/account/password",
                client.access_token,
                {"new_password": password + "Q7!", "auth": _auth(user_id, password)},
            )
            assert status == 200, body
        finally:
            await client.close()
        assert (
            await wait_for(
                lambda: marks.has_initial(user_id), lambda still: not still, what="the mark cleared"
            )
            is False
        )

        async def records() -> list[dict[str, object]]:
            return [
                e.event["content"]
                for e in await stack.archived()
                if e.event["type"] == ACCOUNT_EVENT_TYPE and e.event["content"].get("user_id") == user_id
            ]

        found = await wait_for(records, lambda r: len(r) > 0, what="the archived account record")
        assert [r["kind"] for r in found] == ["password_changed"]
        assert found[0]["actor"] == user_id and found[0]["by_admin"] is False
    finally:
        await engine.dispose()
