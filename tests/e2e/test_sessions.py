"""Logins, logouts and failed logins travel the durable pipe into the ledger."""

from __future__ import annotations

from collections import Counter
from urllib.parse import quote

from nio import AsyncClient, LoginError, LogoutResponse

from tests.compliance_helpers import client_api, ledger, session_records, wait_for
from tests.harness.stack import Stack


def closed(rows: list, device: str) -> bool:
    return any(r.device_id == device and r.logout_ts is not None for r in rows)


async def test_login_and_logout_each_make_one_record_with_device_and_time(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    device = client.device_id
    rows, _ = await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 1, what="login row")
    row = rows[0]
    assert (row.device_id, row.logout_ts, row.method) == (device, None, "m.login.password")
    assert row.login_ts > 0 and row.ip == "127.0.0.1" and row.user_agent

    out = await client.logout()
    assert isinstance(out, LogoutResponse), out
    await client.close()
    rows, _ = await wait_for(lambda: ledger(stack, user_id), lambda r: closed(r[0], device), what="logout")
    assert len(rows) == 1
    assert rows[0].close_reason == "logout" and rows[0].logout_ts >= rows[0].login_ts
    kinds = Counter(r["kind"] for r in await session_records(stack, user_id))
    assert kinds == {"login": 1, "logout": 1}, "exactly one record each, no token anywhere"
    assert all("token" not in key for r in await session_records(stack, user_id) for key in r)


async def test_logout_all_closes_every_session(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    first, second = await stack.login(user_id, password), await stack.login(user_id, password)
    await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 2, what="two logins")
    out = await second.logout(all_devices=True)
    assert isinstance(out, LogoutResponse), out
    rows, _ = await wait_for(
        lambda: ledger(stack, user_id), lambda r: all(s.logout_ts for s in r[0]), what="both closed"
    )
    assert {(r.device_id, r.close_reason) for r in rows} == {
        (first.device_id, "logout_all"),
        (second.device_id, "logout_all"),
    }
    kinds = Counter(r["kind"] for r in await session_records(stack, user_id))
    assert kinds == {"login": 2, "logout": 2}
    await first.close()
    await second.close()


async def test_password_change_ends_the_other_sessions(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    keeper, other = await stack.login(user_id, password), await stack.login(user_id, password)
    await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 2, what="two logins")
    status, body = await client_api(
        stack,
        "POST",
        "/_matrix/client/v3/account/password",
        keeper.access_token,
        {
            "new_password": password + "Z9!",
            "logout_devices": True,
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user_id},
                "password": password,
            },
        },
    )
    assert status == 200, body
    rows, _ = await wait_for(
        lambda: ledger(stack, user_id), lambda r: closed(r[0], other.device_id), what="other closed"
    )
    by_device = {r.device_id: r for r in rows}
    assert by_device[other.device_id].close_reason == "password_change"
    assert by_device[keeper.device_id].logout_ts is None, "the device that changed it stays signed in"
    kinds = Counter(r["kind"] for r in await session_records(stack, user_id))
    assert kinds == {"login": 2, "logout": 1}
    await keeper.close()
    await other.close()


async def test_admin_revocation_records_who_did_it(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    client = await stack.login(user_id, password)
    await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 1, what="login")
    await stack.admin(
        "POST", f"/_synapse/admin/v2/users/{quote(user_id)}/delete_devices", {"devices": [client.device_id]}
    )
    rows, _ = await wait_for(
        lambda: ledger(stack, user_id), lambda r: closed(r[0], client.device_id), what="revoked"
    )
    assert rows[0].close_reason == "admin_revoked"
    assert rows[0].closed_by == f"@carebridge:{stack.server_name}"
    await client.close()


async def test_wrong_password_makes_a_failed_record_without_the_password(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    wrong = "Wrong-" + password
    client = AsyncClient(stack.hs_url, user_id)
    resp = await client.login(wrong)
    assert isinstance(resp, LoginError), resp
    await client.close()
    _, failed = await wait_for(
        lambda: ledger(stack, user_id), lambda r: len(r[1]) == 1, timeout=60, what="failed row"
    )
    assert failed[0].reason == "wrong_password" and failed[0].ip == "127.0.0.1" and failed[0].ts > 0
    records = await session_records(stack, user_id)
    assert [r["kind"] for r in records] == ["failed_login"]
    assert wrong not in str(records) and password not in str(records)
    rows, _ = await ledger(stack, user_id)
    assert rows == [], "a failed attempt opens no session"


async def test_unknown_account_is_recorded_without_the_name(stack: Stack) -> None:
    typed = "Pw-looks-like-a-password-" + stack.server_name
    client = AsyncClient(stack.hs_url, f"@{typed.lower()}:{stack.server_name}")
    resp = await client.login("Whatever-1!")
    assert isinstance(resp, LoginError), resp
    await client.close()

    async def unknown_with_marker() -> list:
        _, failed = await ledger(stack, None)
        return [f for f in failed if f.reason == "unknown_user"]

    await wait_for(unknown_with_marker, bool, timeout=60, what="unknown-user record")
    archived = [
        e.event["content"] for e in await stack.archived() if e.event["type"] == "org.carebridge.session"
    ]
    assert typed.lower() not in str(archived)


async def test_records_made_while_the_bridge_is_down_arrive_after_restart(stack: Stack) -> None:
    """Bridge stopped, a user logs in and out, bridge restarted: both arrive."""
    user_id, password = await stack.create_user()
    stack.stop_bridge()
    try:
        client = await stack.login(user_id, password)
        device = client.device_id
        out = await client.logout()
        assert isinstance(out, LogoutResponse), out
        await client.close()
        rows, _ = await ledger(stack, user_id)
        assert rows == [], "the bridge is down: nothing recorded yet"
    finally:
        stack.start_bridge()
    rows, _ = await wait_for(
        lambda: ledger(stack, user_id), lambda r: closed(r[0], device), timeout=60, what="replay"
    )
    assert len(rows) == 1 and rows[0].login_ts is not None and rows[0].close_reason == "logout"
