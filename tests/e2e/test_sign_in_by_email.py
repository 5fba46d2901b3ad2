"""Signing in with the e-mail address of the organisation file, through the real Synapse +
Carebridge module: provisioning binds it as the account's `email` 3PID (admin API), a
password sign-in by `m.id.thirdparty` works whatever the letter case, a client can neither
add, remove nor bind an address nor ask for a password-reset mail, and wrong or refused
sign-ins by address leave the same failed-login and login-hours records as by username."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import AsyncClient, SyncResponse

from policy.client_requests import MESSAGES, RequestReason
from tests.compliance_helpers import client_api, ledger, register, wait_for
from tests.harness.admin_org import password_files, password_in
from tests.harness.provision import carebridge
from tests.harness.stack import Stack

V3 = "/_matrix/client/v3"


async def login_by_email(stack: Stack, address: str, password: str) -> tuple[int, dict[str, Any]]:
    """POST /login with an `m.id.thirdparty` identifier, as the web client sends it."""
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": address},
        "password": password,
        "initial_device_display_name": "e-mail sign-in test",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{stack.hs_url}{V3}/login", json=body) as resp,
    ):
        return resp.status, dict(await resp.json(content_type=None))


async def add_person(stack: Stack, email: str) -> tuple[str, str]:
    """`carebridge user add` with this e-mail address; returns (user id, initial password)."""
    username = f"mail{secrets.token_hex(3)}"
    code, out, err = await carebridge(
        stack, "user", "add", username, "--display-name", "Mail Nurse", "--email", email
    )
    assert code == 0, out + err
    return f"@{username}:{stack.server_name}", password_in(password_files(stack, username)[-1])


async def bound_addresses(stack: Stack, user_id: str) -> list[tuple[str, str]]:
    account = await stack.admin("GET", f"/_synapse/admin/v2/users/{quote(user_id)}")
    return [(t["medium"], t["address"]) for t in account["threepids"]]


def refused(status: int, body: Any, reason: RequestReason) -> bool:
    return (
        status == 403
        and body.get("org.carebridge.reason") == str(reason)
        and body["error"] == MESSAGES[reason]
    )


async def test_the_org_file_address_signs_in_and_only_administrators_change_it(stack: Stack) -> None:
    local = f"Anna.{secrets.token_hex(3)}"
    user_id, password = await add_person(stack, f"{local}@Clinic.Example")
    canonical = f"{local}@clinic.example".lower()
    assert await bound_addresses(stack, user_id) == [("email", canonical)]

    status, body = await login_by_email(stack, f"  {local.upper()}@CLINIC.example ", password)
    assert status == 200, body
    assert body["user_id"] == user_id
    client = AsyncClient(stack.hs_url, user_id, device_id=body["device_id"])
    client.access_token = body["access_token"]
    try:
        synced = await client.sync(timeout=0)
        assert isinstance(synced, SyncResponse), synced
        await wait_for(
            lambda: ledger(stack, user_id),
            lambda r: any(s.device_id == body["device_id"] for s in r[0]),
            timeout=60,
            what="login row",
        )

        address = {"medium": "email", "address": f"other.{local}@elsewhere.example"}
        for path, payload in (
            ("/account/3pid/add", {"sid": "s", "client_secret": "c", "auth": {}}),
            ("/account/3pid/delete", {"medium": "email", "address": canonical}),
            ("/account/3pid", {"three_pid_creds": {"sid": "s", "client_secret": "c"}}),
        ):
            status, answer = await client_api(stack, "POST", f"{V3}{path}", client.access_token, payload)
            assert refused(status, answer, RequestReason.THREEPID_CHANGE), (path, status, answer)
        status, answer = await client_api(
            stack, "POST", f"{V3}/account/3pid/bind", client.access_token, {"sid": "s", "client_secret": "c"}
        )
        assert refused(status, answer, RequestReason.IDENTITY_SERVER), answer
        reset = {"email": canonical, "client_secret": "c", "send_attempt": 1, **address}
        status, answer = await client_api(
            stack, "POST", f"{V3}/account/password/email/requestToken", "", reset
        )
        assert refused(status, answer, RequestReason.EMAILED_TOKEN), answer
        assert await bound_addresses(stack, user_id) == [("email", canonical)]
    finally:
        await client.close()


async def test_wrong_and_refused_sign_ins_by_address_are_recorded_and_answered_alike(stack: Stack) -> None:
    local = f"ben.{secrets.token_hex(3)}"
    user_id, password = await add_person(stack, f"{local}@clinic.example")
    _, unknown_before = await ledger(stack, None)

    wrong = await login_by_email(stack, f"{local}@clinic.example", "Wrong-" + password)
    nobody = await login_by_email(stack, f"nobody.{local}@clinic.example", password)
    # The same answer whether or not the address belongs to someone: no account is revealed.
    assert wrong[0] == nobody[0] == 403
    assert wrong[1]["errcode"] == nobody[1]["errcode"] == "M_FORBIDDEN"
    assert wrong[1]["error"] == nobody[1]["error"]

    _, failed = await wait_for(
        lambda: ledger(stack, user_id), lambda r: len(r[1]) == 1, timeout=60, what="row"
    )
    assert failed[0].reason == "wrong_password" and failed[0].ip == "127.0.0.1"

    async def unknown_rows() -> list[Any]:
        _, rows = await ledger(stack, None)
        return [r for r in rows if r.reason == "unknown_user" and r.id not in {u.id for u in unknown_before}]

    await wait_for(unknown_rows, bool, timeout=60, what="unknown-account row")

    policy_file = stack.s.data_dir / "policy.json"
    original = policy_file.read_text() if policy_file.exists() else None
    name = f"strict-{user_id[1:9]}"
    now = datetime.now(UTC)
    shift = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": f"{now + timedelta(hours=2):%H:%M}",
        "end": f"{now + timedelta(hours=3):%H:%M}",
        "grace_minutes": 15,
        "login_hours_only": True,
    }
    try:
        await register(stack, [(user_id, "staff", name)], {name: shift})
        status, body = await login_by_email(stack, f"{local}@clinic.example", password)
        assert status == 403 and "only allowed during your scheduled shift" in body["error"], body
        _, failed = await wait_for(
            lambda: ledger(stack, user_id), lambda r: len(r[1]) == 2, timeout=60, what="login-hours row"
        )
        assert failed[1].reason == "outside_allowed_hours"
        assert (await ledger(stack, user_id))[0] == [], "no session was opened"
    finally:
        if original is None:
            policy_file.unlink(missing_ok=True)
        else:
            policy_file.write_text(original)
