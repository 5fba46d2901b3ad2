"""The web client's /_carebridge/v1 endpoints on the bridge's public listener, against a
real Synapse: who may ask, what bad input gets, and that a password change through them
really changes the Synapse password, keeps the asking session and clears the
initial-password mark."""

from __future__ import annotations

from typing import Any

import aiohttp
from nio import LoginError

from bridge.db.engine import create_engine
from bridge.db.initial_passwords import InitialPasswords
from tests.harness.stack import Stack, strong_password


async def call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None,
    body: Any = None,
    raw: bytes | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with session.request(method, url, json=body, data=raw, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_account_endpoints_refuse_strangers_and_bad_input_and_change_the_password(stack: Stack) -> None:
    """No or a bogus token -> 401; malformed JSON, missing or oversized fields, the same
    password again, a weak password -> 400 naming the problem; a wrong current password ->
    401; a good change -> 200, the old password fails, the new one works, the asking
    session still works and the account is no longer listed as having its initial
    password. Contacts list active colleagues only to signed-in people."""
    user_id, password = await stack.create_user("nurse", "Nurse Joy")
    engine = create_engine(stack.s.database_url)
    try:
        await InitialPasswords(engine).mark([user_id])
    finally:
        await engine.dispose()
    nio = await stack.login(user_id, password)
    token = nio.access_token
    base = f"http://{stack.s.web.host}:{stack.s.web.port}/_carebridge/v1"
    async with aiohttp.ClientSession() as session:
        assert (await call(session, "GET", f"{base}/account", None))[0] == 401
        assert (await call(session, "GET", f"{base}/account", "not-a-token"))[0] == 401
        assert (await call(session, "GET", f"{base}/contacts", "not-a-token"))[0] == 401
        assert (await call(session, "POST", f"{base}/password", "x", {"current_password": "a"}))[0] == 401
        status, body = await call(session, "GET", f"{base}/account", token)
        assert (status, body) == (200, {"user_id": user_id, "initial_password": True})
        status, body = await call(session, "GET", f"{base}/contacts", token)
        assert status == 200 and isinstance(body["contacts"], list)

        bad: list[tuple[Any, bytes | None, str]] = [
            (None, b"{not json", "JSON"),
            ({"current_password": password}, None, "new_password"),
            ({"current_password": password, "new_password": 7}, None, "new_password"),
            ({"current_password": password, "new_password": "x" * 600}, None, "at most 512"),
            ({"current_password": password, "new_password": password}, None, "differ"),
            (["a", "b"], None, "current_password"),
        ]
        for body_in, raw, words in bad:
            status, body = await call(session, "POST", f"{base}/password", token, body_in, raw)
            assert status == 400 and words in body["error"], (body_in, status, body)
        status, body = await call(
            session,
            "POST",
            f"{base}/password",
            token,
            {"current_password": password, "new_password": "short"},
        )
        assert status == 400 and body["error"], body
        wrong = {"current_password": "Wrong-" + password, "new_password": strong_password()}
        assert (await call(session, "POST", f"{base}/password", token, wrong))[0] == 401

        new = strong_password()
        status, body = await call(
            session, "POST", f"{base}/password", token, {"current_password": password, "new_password": new}
        )
        assert (status, body) == (200, {"ok": True})
        status, body = await call(session, "GET", f"{base}/account", token)
        assert (status, body["initial_password"]) == (200, False)

    failed = await nio.login(password)
    assert isinstance(failed, LoginError), failed
    await nio.close()
    again = await stack.login(user_id, new)
    await again.close()
