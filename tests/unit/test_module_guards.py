"""The sign-in limit and the admin API guard as Synapse adapters, against a
`Mock(spec=ModuleApi)` and fake Twisted requests (no Synapse process; the end-to-end tests
drive the same code through a real Synapse). The sign-in count's SQL runs on a real
SQLite connection standing in for Synapse's database."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from synapse.module_api import ModuleApi
from twisted.internet.defer import Deferred
from twisted.web.resource import Resource

from policy.admin_api import AdminApiReason as AdminReason
from policy.event_types import ADMIN_ACTION_EVENT_TYPE, REASON_KEY
from policy.module.admin_api import AdminApiGuard
from policy.module.checked_resource import CheckedResource
from policy.module.request_guard import CHECK_FAILED, JsonAnswer
from policy.module.sessions import PasswordCheck
from policy.module.sign_in_limit import SignInLimiter
from policy.sign_in_limit import Check, Rate

BOT = "@carebridge:clinic.example"
NURSE = "@nurse:clinic.example"
RATE = Rate(per_second=0.0034, burst_count=5)


class FakeRequest:
    """The parts of a SynapseRequest the guards read."""

    def __init__(
        self, method: str, path: str, body: Any = None, query: dict[bytes, list[bytes]] | None = None
    ) -> None:
        self.method = method.encode()
        self.path = path.encode()
        self.content = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
        self.args = query or {}
        self.code = 0
        self.finished: Deferred[None] = Deferred()
        self.requester: tuple[str | None, str | None] = (None, None)

    def notifyFinish(self) -> Deferred[None]:
        return self.finished

    def get_client_ip_if_available(self) -> str:
        return "10.0.0.7"

    def getHeader(self, name: str) -> str | None:
        return "Ward-PC/1.0" if name == "User-Agent" else None

    def get_request_id(self) -> str:
        return "POST-1"

    def get_authenticated_entity(self) -> tuple[str | None, str | None]:
        return self.requester


def synapse_db() -> Callable[..., Any]:
    """run_db_interaction on an in-memory SQLite (Synapse's `?` parameter style)."""
    db = sqlite3.connect(":memory:")

    async def run(desc: str, func: Callable[..., Any], *args: Any) -> Any:
        del desc
        cursor = db.cursor()
        result = func(cursor, *args)
        db.commit()
        return result

    return run


def module_api(now: list[int]) -> Mock:
    api = Mock(spec=ModuleApi)
    api.should_run_background_tasks.return_value = False
    api.get_current_time_msec.side_effect = lambda: now[0]
    api.get_qualified_user_id.side_effect = lambda local: f"@{local}:clinic.example"
    api.get_userinfo_by_id = AsyncMock(side_effect=lambda uid: SimpleNamespace() if uid == NURSE else None)
    api.run_db_interaction = AsyncMock(side_effect=synapse_db())
    return api


def recorder() -> Mock:
    rec = Mock()
    rec.config = SimpleNamespace(bot_user_id=BOT)
    rec.password_check.return_value = PasswordCheck.CHECKED
    rec.record_wrong_password = AsyncMock()
    rec.emit = AsyncMock()
    return rec


CHILD = Resource()


def reauth(password: str = "x") -> FakeRequest:
    body = {
        "auth": {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": "nurse"},
            "password": password,
        }
    }
    return FakeRequest("POST", "/_matrix/client/v3/account/password", body)


def test_the_message_path_is_handed_on_untouched() -> None:
    limiter = SignInLimiter(module_api([0]), recorder(), RATE)
    send = FakeRequest("PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1", {"body": "hi"})
    assert limiter.wrap(CHILD, send, "PUT", send.path.decode(), CHECK_FAILED) is CHILD
    first_step = FakeRequest("POST", "/_matrix/client/v3/account/password", {"new_password": "y"})
    assert limiter.wrap(CHILD, first_step, "POST", first_step.path.decode(), CHECK_FAILED) is CHILD
    wrapped = limiter.wrap(CHILD, reauth(), "POST", "/_matrix/client/v3/account/password", CHECK_FAILED)
    assert isinstance(wrapped, CheckedResource) and wrapped.child is CHILD


async def test_wrong_reauthentications_count_then_lock_and_a_right_one_is_given_back() -> None:
    now = [1_000_000]
    api, rec = module_api(now), recorder()
    limiter = SignInLimiter(api, rec, RATE)
    attempt_of = limiter.wrap(CHILD, reauth(), "POST", "/_matrix/client/v3/account/password", CHECK_FAILED)
    assert isinstance(attempt_of, CheckedResource)

    async def one(code: int) -> Any:
        request = reauth()
        answer = await attempt_of.check(request)
        if answer is None:
            request.code = code
            request.finished.callback(None)  # Synapse answered: settled in the background
            settle = api.run_as_background_process.call_args.args
            await settle[1](*settle[2:])
        return answer

    for _ in range(4):
        assert await one(401) is None
    assert await one(200) is None  # the right password: given back
    assert await one(401) is None  # the 5th wrong one still goes through
    locked = await one(401)
    assert isinstance(locked, JsonAnswer) and locked.code == 429
    body = json.loads(locked.body)
    assert body["errcode"] == "M_LIMIT_EXCEEDED" and body[REASON_KEY] == "sign-in-locked"
    assert 280_000 < body["retry_after_ms"] <= 294_200
    assert rec.record_wrong_password.await_count == 5
    assert rec.record_wrong_password.await_args.args[1] is Check.REAUTH
    assert rec.record_wrong_password.await_args.args[-1] == "reauthentication:account/password"
    # The refusal is recorded as rate_limited (background), naming where.
    assert api.run_as_background_process.call_args.args[1] is rec.record_rate_limited
    assert api.run_as_background_process.call_args.args[2:] == (
        NURSE,
        "10.0.0.7",
        "Ward-PC/1.0",
        "reauthentication:account/password",
    )
    # One drain interval later, one more try.
    now[0] += body["retry_after_ms"]
    assert await one(401) is None


async def test_an_unknown_account_is_left_to_synapse() -> None:
    api = module_api([0])
    limiter = SignInLimiter(api, recorder(), RATE)
    body = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": "nobody"},
        "password": "x",
    }
    request = FakeRequest("POST", "/_matrix/client/v3/login", body)
    wrapped = limiter.wrap(CHILD, request, "POST", request.path.decode(), CHECK_FAILED)
    assert isinstance(wrapped, CheckedResource)
    assert await wrapped.check(request) is None
    api.run_db_interaction.assert_not_awaited()


def admin_guard() -> tuple[AdminApiGuard, Mock, Mock]:
    api, rec = module_api([5]), recorder()
    guard = AdminApiGuard(api, rec)
    guard.putChild(b"admin", CHILD)
    guard.putChild(b"client", Resource())
    return guard, api, rec


def test_other_synapse_resources_pass_and_reads_on_the_list_pass() -> None:
    guard, _, _ = admin_guard()
    client = FakeRequest("GET", "/_synapse/client/carebridge/v1/direct")
    assert guard.getChildWithDefault(b"client", client) is guard.children[b"client"]
    read = FakeRequest("GET", "/_synapse/admin/v2/users/%40nurse%3Aclinic.example")
    assert guard.getChildWithDefault(b"admin", read) is CHILD


async def test_an_unlisted_admin_call_is_refused_and_recorded_with_its_target() -> None:
    guard, api, rec = admin_guard()
    request = FakeRequest("POST", "/_synapse/admin/v1/users/%40nurse%3Aclinic.example/login", {})
    answer = guard.getChildWithDefault(b"admin", request)
    assert isinstance(answer, CheckedResource)
    api.get_user_by_req = AsyncMock(return_value=SimpleNamespace(user=SimpleNamespace(to_string=lambda: BOT)))
    refused = await answer.check(request)
    assert isinstance(refused, JsonAnswer) and refused.code == 403
    assert json.loads(refused.body)[REASON_KEY] == AdminReason.NOT_ALLOWED
    emit = api.run_as_background_process.call_args.args
    await emit[1](*emit[2:])
    event_type, content = rec.emit.await_args.args
    assert event_type == ADMIN_ACTION_EVENT_TYPE
    assert (content["actor"], content["endpoint"], content["target"], content["status"]) == (
        BOT,
        "v1/users/login",
        NURSE,
        403,
    )


async def test_a_refusal_with_no_valid_token_is_not_recorded() -> None:
    guard, api, rec = admin_guard()
    request = FakeRequest("POST", "/_synapse/admin/v1/purge_history/%21r%3Ax", {})
    answer = guard.getChildWithDefault(b"admin", request)
    assert isinstance(answer, CheckedResource)
    api.get_user_by_req = AsyncMock(side_effect=RuntimeError("unknown token"))
    refused = await answer.check(request)
    assert isinstance(refused, JsonAnswer) and refused.code == 403
    api.run_as_background_process.assert_not_called()
    rec.emit.assert_not_awaited()


@pytest.mark.parametrize(("actor", "operator"), [(BOT, "os-user:kim.it"), ("@admin:clinic.example", None)])
async def test_an_allowed_action_is_recorded_when_synapse_has_answered(
    actor: str, operator: str | None
) -> None:
    guard, api, rec = admin_guard()
    request = FakeRequest(
        "POST",
        "/_synapse/admin/v1/reset_password/%40nurse%3Aclinic.example",
        {"new_password": "Secret-1!", "logout_devices": True},
        {b"carebridge_operator": [b"kim.it"]},
    )
    assert guard.getChildWithDefault(b"admin", request) is CHILD
    api.run_as_background_process.assert_not_called()
    request.code, request.requester = 200, (actor, None)
    request.finished.callback(None)
    emit = api.run_as_background_process.call_args.args
    await emit[1](*emit[2:])
    _, content = rec.emit.await_args.args
    assert content["endpoint"] == "reset_password" and content["status"] == 200 and content["actor"] == actor
    assert content["parameters"] == {"logout_devices": True} and "Secret-1!" not in json.dumps(content)
    assert content.get("operator") == operator  # believed from the bot only


async def test_a_sign_in_refused_for_the_hour_after_the_right_password_is_not_a_wrong_one() -> None:
    """Login hours refuse a sign-in with 403 after the password was right: given back, not
    recorded as a wrong password (a person trying early is not locked out when the shift starts)."""
    api, rec = module_api([0]), recorder()
    rec.password_check.return_value = PasswordCheck.RIGHT
    limiter = SignInLimiter(api, rec, RATE)
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": "nurse"}, "password": "x"}
    for _ in range(RATE.burst_count + 2):
        request = FakeRequest("POST", "/_matrix/client/v3/login", body)
        wrapped = limiter.wrap(CHILD, request, "POST", request.path.decode(), CHECK_FAILED)
        assert isinstance(wrapped, CheckedResource)
        assert await wrapped.check(request) is None
        request.code = 403
        request.finished.callback(None)
        settle = api.run_as_background_process.call_args.args
        await settle[1](*settle[2:])
    rec.record_wrong_password.assert_not_awaited()


async def test_a_conflicting_count_on_postgresql_is_tried_again() -> None:
    """Parallel guesses at one account conflict on PostgreSQL (serialization failure
    40001): the count is retried after a short pause, other errors are not."""
    api = module_api([0])
    api.sleep = AsyncMock()
    conflict = type("SerializationFailure", (Exception,), {"pgcode": "40001"})
    run = synapse_db()
    failures = [conflict(), conflict()]

    async def flaky(desc: str, func: Callable[..., Any], *args: Any) -> Any:
        if desc != "carebridge_sign_in_table" and failures:
            raise failures.pop()
        return await run(desc, func, *args)

    api.run_db_interaction = AsyncMock(side_effect=flaky)
    limiter = SignInLimiter(api, recorder(), RATE)
    wrapped = limiter.wrap(CHILD, reauth(), "POST", "/_matrix/client/v3/account/password", CHECK_FAILED)
    assert isinstance(wrapped, CheckedResource)
    assert await wrapped.check(reauth()) is None
    assert api.sleep.await_count == 2
    api.run_db_interaction = AsyncMock(side_effect=RuntimeError("disk full"))
    with pytest.raises(RuntimeError):
        await wrapped.check(reauth())
