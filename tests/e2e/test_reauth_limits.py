"""Password guessing through re-authentication, through a real Synapse and bridge with the
sign-in limits carebridge.yaml renders (not the lifted test limits).

With a valid token (an unlocked ward computer) `POST /account/password`, `/account/deactivate`
and the bridge's `POST /_carebridge/v1/password` check the account's password. They share the
sign-in limit with `/login`, per account: after 5 wrong passwords the next attempt is refused
(429 M_LIMIT_EXCEEDED, like `/login`) for the same lock-out time, even with the right
password, on every one of these endpoints and on `/login`. Every wrong attempt is a
`failed_logins` row and an archived `org.carebridge.session` record.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import Any

import aiohttp
import psycopg2
import pytest
from nio import AsyncClient, AsyncClientConfig, LoginError, LoginResponse
from sqlalchemy.engine import make_url

from config.settings import SignInSettings
from provisioning.ops.production import psycopg2_args
from provisioning.ops.rate_limits import sync_rate_limits
from tests.compliance_helpers import client_api, ledger, session_records, wait_for
from tests.e2e.test_sign_in_by_email import add_person, login_by_email
from tests.harness.databases import pg_base_url
from tests.harness.stack import Stack, strong_password
from tests.harness.workers import WorkerStack

pytestmark = pytest.mark.slow
ALLOWED = SignInSettings().failed_attempts.burst_count
# One try per 1 / per_second seconds once the bucket is full (Synapse: ~294 s).
LOCK_OUT_MS = 1000 / SignInSettings().failed_attempts.per_second
WRONG = "Wrong-password-1!"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own Synapse + bridge with carebridge.yaml's default sign_in: limits."""
    stack = Stack(root=tmp_path_factory.mktemp("reauth"), extra_settings={"sign_in": {}})
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        yield stack
    finally:
        stack.stop()


def uia_password(user_id: str, password: str) -> dict[str, Any]:
    return {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
    }


async def change_password(stack: Stack, token: str, user_id: str, password: str) -> tuple[int, Any]:
    body = {
        "auth": uia_password(user_id, password),
        "new_password": strong_password(),
        "logout_devices": False,
    }
    return await client_api(stack, "POST", "/_matrix/client/v3/account/password", token, body)


async def deactivate(stack: Stack, token: str, user_id: str, password: str) -> tuple[int, Any]:
    body = {"auth": uia_password(user_id, password), "erase": False}
    return await client_api(stack, "POST", "/_matrix/client/v3/account/deactivate", token, body)


async def bridge_password(stack: Stack, token: str, password: str) -> tuple[int, Any]:
    url = f"http://{stack.s.web.host}:{stack.s.web.port}/_carebridge/v1/password"
    body = {"current_password": password, "new_password": strong_password()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def login(stack: Stack | str, user_id: str, password: str) -> LoginResponse | LoginError:
    """Sign in (no retry after a 429) at a stack's Synapse, or at a given client API URL."""
    url = stack if isinstance(stack, str) else stack.hs_url
    client = AsyncClient(url, user_id, config=AsyncClientConfig(max_limit_exceeded=0))
    try:
        resp = await client.login(password, device_name="ward-pc")
        assert isinstance(resp, LoginResponse | LoginError), resp
        return resp
    finally:
        await client.close()


async def signed_in(stack: Stack) -> tuple[str, str, str]:
    user_id, password = await stack.create_user()
    resp = await login(stack, user_id, password)
    assert isinstance(resp, LoginResponse), resp
    return user_id, password, resp.access_token


def assert_locked_out(status: int, body: Any) -> None:
    assert status == 429, (status, body)
    assert body["errcode"] == "M_LIMIT_EXCEEDED", body
    assert 0 < body["retry_after_ms"] <= LOCK_OUT_MS + 1000, body


async def recorded(stack: Stack, user_id: str, wrong: int, limited: int) -> tuple[list[Any], list[Any]]:
    """Wait for the failed_logins rows and archived records of `user_id`."""
    _, failed = await wait_for(
        lambda: ledger(stack, user_id),
        lambda r: len(r[1]) >= wrong + limited,
        timeout=60,
        what="failed sign-ins",
    )
    reasons = sorted(f.reason for f in failed)
    assert reasons == sorted(["wrong_password"] * wrong + ["rate_limited"] * limited), reasons
    records = await wait_for(
        lambda: session_records(stack, user_id),
        lambda r: len([c for c in r if c["kind"] == "failed_login"]) >= wrong + limited,
        timeout=60,
        what="archived failed sign-in records",
    )
    return failed, [c for c in records if c["kind"] == "failed_login"]


@pytest.mark.parametrize("endpoint", ["account/password", "account/deactivate"])
async def test_wrong_passwords_in_reauthentication_are_limited_and_recorded(
    limited: Stack, endpoint: str
) -> None:
    """5 wrong passwords -> 401 each; the 6th and then the right password -> 429 with the
    sign-in lock-out; 5 wrong_password + 2 rate_limited rows, archived, naming the endpoint."""
    user_id, password, token = await signed_in(limited)
    attempt = change_password if endpoint == "account/password" else deactivate
    for _ in range(ALLOWED):
        status, body = await attempt(limited, token, user_id, WRONG)
        assert status == 401, body
    assert_locked_out(*await attempt(limited, token, user_id, WRONG))
    assert_locked_out(*await attempt(limited, token, user_id, password))

    failed, records = await recorded(limited, user_id, ALLOWED, 2)
    assert all(f.ip == "127.0.0.1" for f in failed)
    assert all(r["detail"] == f"reauthentication:{endpoint}" for r in records), records
    # The account is untouched: still active, the password unchanged.
    account = await limited.admin("GET", f"/_synapse/admin/v2/users/{user_id}")
    assert account["deactivated"] is False


async def test_wrong_passwords_through_the_bridge_are_limited(limited: Stack) -> None:
    """The web client's own password change (the bridge forwards to /account/password)."""
    user_id, password, token = await signed_in(limited)
    for _ in range(ALLOWED):
        status, body = await bridge_password(limited, token, WRONG)
        assert status == 401, body
    status, body = await bridge_password(limited, token, WRONG)
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body
    status, body = await bridge_password(limited, token, password)
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body
    await recorded(limited, user_id, ALLOWED, 2)


async def test_wrong_reauthentication_locks_login_too(limited: Stack) -> None:
    """The counter is shared: guesses through /account/password lock /login (right password too)."""
    user_id, password, token = await signed_in(limited)
    for _ in range(ALLOWED):
        assert (await change_password(limited, token, user_id, WRONG))[0] == 401
    answer = await login(limited, user_id, password)
    assert isinstance(answer, LoginError) and answer.status_code == "M_LIMIT_EXCEEDED", answer
    await recorded(limited, user_id, ALLOWED, 1)


async def test_wrong_logins_lock_reauthentication_too(limited: Stack) -> None:
    """And the other way round: 5 wrong /login lock re-authentication with the right password."""
    user_id, password, token = await signed_in(limited)
    for _ in range(ALLOWED):
        answer = await login(limited, user_id, WRONG)
        assert isinstance(answer, LoginError) and answer.status_code == "M_FORBIDDEN", answer
    assert_locked_out(*await change_password(limited, token, user_id, password))
    await recorded(limited, user_id, ALLOWED, 1)


async def test_guessing_by_e_mail_address_shares_the_accounts_count(limited: Stack) -> None:
    """Five wrong sign-ins by the person's e-mail address (any letter case) use up the same
    count as by user name: re-authentication is then refused, the right password too."""
    local = f"ida.{secrets.token_hex(3)}"
    user_id, password = await add_person(limited, f"{local}@clinic.example")
    resp = await login(limited, user_id, password)
    assert isinstance(resp, LoginResponse), resp
    for _ in range(ALLOWED):
        status, body = await login_by_email(limited, f"{local.upper()}@Clinic.example", WRONG)
        assert status == 403 and body["errcode"] == "M_FORBIDDEN", body
    assert_locked_out(*await change_password(limited, resp.access_token, user_id, password))
    status, body = await login_by_email(limited, f"{local}@clinic.example", password)
    assert status == 429 and body["errcode"] == "M_LIMIT_EXCEEDED", body
    await recorded(limited, user_id, ALLOWED, 2)


async def test_right_password_resets_nothing_and_counts_nothing(limited: Stack) -> None:
    """Re-authenticating with the right password is not a failure: 4 wrong, then right
    (200), then one more wrong is still answered 401 (not locked), no rate_limited row."""
    user_id, password, token = await signed_in(limited)
    for _ in range(ALLOWED - 1):
        assert (await change_password(limited, token, user_id, WRONG))[0] == 401
    body = {
        "auth": uia_password(user_id, password),
        "new_password": (new := strong_password()),
        "logout_devices": False,
    }
    status, answer = await client_api(limited, "POST", "/_matrix/client/v3/account/password", token, body)
    assert status == 200, answer
    assert (await change_password(limited, token, user_id, WRONG))[0] == 401
    assert_locked_out(*await change_password(limited, token, user_id, new))
    await recorded(limited, user_id, ALLOWED, 1)


@pytest.fixture(params=["sqlite", "postgres"])
def synapse_database(request: pytest.FixtureRequest) -> Iterator[dict[str, Any] | None]:
    """Synapse's own database for a stack: SQLite (None) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    base = pg_base_url()
    assert base is not None
    name = f"cb_syn_{secrets.token_hex(4)}"
    server = {k: v for k, v in psycopg2_args(base).items() if not k.startswith("cp_")}

    def run(statement: str) -> None:
        conn = psycopg2.connect(**server)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
        finally:
            conn.close()

    run(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    try:
        yield psycopg2_args(str(make_url(base).set(database=name)))
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_the_count_survives_a_restart_and_holds_under_parallel_guesses(
    tmp_path_factory: pytest.TempPathFactory, synapse_database: dict[str, Any] | None
) -> None:
    """The counter lives in Synapse's database (every worker shares it), not in one
    process's memory: 3 wrong, restart Synapse, then 10 wrong sent at once: exactly 2 are
    checked (401), 8 refused (429); then the right password is refused too (SQLite and
    PostgreSQL, where concurrent counts are serialised by the database)."""
    stack = Stack(
        root=tmp_path_factory.mktemp("reauth-restart"),
        extra_settings={"sign_in": {}},
        synapse_database_args=synapse_database,
    )
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        user_id, password, token = await signed_in(stack)
        for _ in range(3):
            assert (await change_password(stack, token, user_id, WRONG))[0] == 401
        stack.stop_synapse()
        stack.start_synapse()
        answers = await asyncio.gather(*(change_password(stack, token, user_id, WRONG) for _ in range(10)))
        assert sorted(status for status, _ in answers) == [401] * (ALLOWED - 3) + [429] * (10 - ALLOWED + 3)
        assert_locked_out(*await change_password(stack, token, user_id, password))
        answer = await login(stack, user_id, password)
        assert isinstance(answer, LoginError) and answer.status_code == "M_LIMIT_EXCEEDED", answer
    finally:
        stack.stop()


async def test_the_count_is_shared_by_synapse_workers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Production shape (main process + a client worker on PostgreSQL and Redis, the
    sign-in limits carebridge.yaml renders): 5 wrong re-authentications on the main process
    lock sign-in on the worker, the right password too; wrong sign-ins on the worker lock
    re-authentication on the main process."""
    stack = WorkerStack(root=tmp_path_factory.mktemp("reauth-workers"), client_worker=True)
    stack.init()
    # `carebridge up` renders carebridge.yaml's sign_in: (the defaults, not the test limits).
    assert sync_rate_limits(stack.s.model_copy(update={"sign_in": SignInSettings()}))
    try:
        stack.start_synapse()
        stack.start_bridge()
        worker = stack.client_worker_url
        first_id, first_pw, token = await signed_in(stack)
        for _ in range(ALLOWED):
            assert (await change_password(stack, token, first_id, WRONG))[0] == 401
        answer = await login(worker, first_id, first_pw)
        assert isinstance(answer, LoginError) and answer.status_code == "M_LIMIT_EXCEEDED", answer

        second_id, second_pw, second_token = await signed_in(stack)
        for _ in range(ALLOWED):
            answer = await login(worker, second_id, WRONG)
            assert isinstance(answer, LoginError) and answer.status_code == "M_FORBIDDEN", answer
        assert_locked_out(*await change_password(stack, second_token, second_id, second_pw))
    finally:
        stack.stop()
