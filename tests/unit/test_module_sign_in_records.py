"""The session recorder's notes for a sign-in by e-mail address (`m.id.thirdparty`), against
a `Mock(spec=ModuleApi)`: an address nobody has is a failed login without the address, a
known address is a failed login of its account, and a rate-limited sign-in by address names
the account it is bound to. The end-to-end test drives the same callbacks through Synapse
(tests/e2e/test_sign_in_by_email.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, Mock

import pytest
from synapse.module_api import ModuleApi

from policy.module import sessions
from policy.module.config import ModuleConfig
from policy.module.login_limits import typed_identifier
from policy.module.sessions import SessionRecorder
from policy.session_reason import RequestFacts

BOT = "@carebridge:clinic.example"
CONFIG = ModuleConfig.parse({"bot_user_id": BOT, "admin_room_alias": "#carebridge-admins:clinic.example"})
ADDRESS = "Anna.Lee@Clinic.Example"
LOGIN = RequestFacts("POST", "/_matrix/client/v3/login", None, "10.1.2.3", "Firefox", "POST-7")


def recorder(monkeypatch: pytest.MonkeyPatch, request: RequestFacts | None = LOGIN) -> tuple[Any, Mock]:
    api = Mock(spec=ModuleApi)
    api.get_current_time_msec.return_value = 1_700_000_000_000
    api.get_qualified_user_id.side_effect = lambda local: f"@{local}:clinic.example"
    monkeypatch.setattr(sessions, "current_request", lambda: request)
    found = SessionRecorder(CONFIG, api)
    found.emit = AsyncMock()  # type: ignore[method-assign]
    return found, api


def emitted(found: Any) -> dict[str, Any]:
    (call,) = found.emit.call_args_list
    return dict(call.args[1])


async def test_an_address_nobody_has_is_a_failed_login_without_the_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found, api = recorder(monkeypatch)
    assert await found.note_3pid_attempt("email", ADDRESS, "Secret-Pass-1!") is None
    ((delay, settle, request_id), _) = api.delayed_background_call.call_args
    assert delay == sessions.FAILED_LOGIN_SETTLE_MS and request_id == LOGIN.request_id
    await settle(request_id)
    record = emitted(found)
    assert record["kind"] == "failed_login" and record["reason"] == "unknown_user"
    assert "user_id" not in record and record["ip"] == "10.1.2.3"
    text = json.dumps(record).lower()
    assert ADDRESS.lower() not in text and "secret" not in text
    api.get_userinfo_by_id.assert_not_called()


async def test_a_known_address_with_a_wrong_password_is_a_failed_login_of_its_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found, api = recorder(monkeypatch)
    api.get_userinfo_by_id = AsyncMock(return_value=SimpleNamespace(is_deactivated=False, locked=False))
    await found.note_3pid_attempt("email", ADDRESS, "Wrong-Pass-1!")
    # Synapse found the address and asks the password checker with its account.
    await found.note_password_attempt("@anna:clinic.example", "m.login.password", {"password": "x"})
    api.delayed_background_call.assert_called_once()
    await found._settle(LOGIN.request_id)
    record = emitted(found)
    assert record["reason"] == "wrong_password" and record["user_id"] == "@anna:clinic.example"


async def test_a_reauthentication_by_address_is_not_a_sign_in(monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = RequestFacts("POST", "/_matrix/client/v3/account/password", "@anna:clinic.example")
    found, api = recorder(monkeypatch, elsewhere)
    await found.note_3pid_attempt("email", ADDRESS, "Pass-1!")
    api.delayed_background_call.assert_not_called()


@pytest.mark.parametrize(
    ("body", "typed"),
    [
        ({"identifier": {"type": "m.id.user", "user": "anna"}}, "anna"),
        ({"identifier": {"type": "m.id.thirdparty", "medium": "email", "address": ADDRESS}}, ADDRESS),
        ({"medium": "email", "address": ADDRESS}, ADDRESS),
        ({"identifier": {"type": "m.id.thirdparty", "medium": "msisdn", "address": "123"}}, None),
        ({"identifier": "nonsense"}, None),
    ],
)
def test_the_rate_limit_filter_reads_the_user_or_the_address(body: dict[str, Any], typed: str | None) -> None:
    assert typed_identifier(json.dumps(body).encode()) == typed


async def test_a_rate_limited_sign_in_by_address_names_its_account(monkeypatch: pytest.MonkeyPatch) -> None:
    found, api = recorder(monkeypatch)
    api.run_db_interaction = AsyncMock(return_value="@anna:clinic.example")
    await found.record_rate_limited(ADDRESS, "10.1.2.3", "Firefox")
    (call,) = api.run_db_interaction.call_args_list
    assert call.args[2] == ADDRESS.lower(), "looked up as Synapse stores it (lower case)"
    record = emitted(found)
    assert record["reason"] == "rate_limited" and record["user_id"] == "@anna:clinic.example"
