"""The client-request rules and the guard that applies them (pure; no Synapse)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from policy.client_requests import (
    MESSAGES,
    decide_client_request,
    discarded_keys_answer,
    needs_body,
)
from policy.client_requests import (
    RequestReason as R,
)
from policy.module.request_guard import JsonAnswer, RequestGuard

GATEWAY = "https://push.example/_matrix/push/v1/notify"
LISTED = frozenset({GATEWAY})
V3 = "/_matrix/client/v3"


def decide(method: str, path: str, body: dict[str, Any] | None = None) -> R | None:
    decision = decide_client_request(method, path, body, LISTED)
    if decision is None:
        return None
    assert not decision.allowed and decision.message == MESSAGES[R(decision.reason)]
    return R(decision.reason)


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("PUT", f"{V3}/sendToDevice/m.room.encrypted/1", None, R.TO_DEVICE),
        ("PUT", "/_matrix/client/r0/sendToDevice/m.call.invite/2", None, R.TO_DEVICE),
        ("POST", f"{V3}/keys/upload", None, R.DEVICE_KEYS_DISCARDED),
        ("POST", "/_matrix/client/unstable/keys/device_signing/upload", None, R.ENCRYPTION_KEYS),
        ("PUT", f"{V3}/room_keys/keys", None, R.ENCRYPTION_KEYS),
        ("POST", f"{V3}/account/3pid/bind", None, R.IDENTITY_SERVER),
        ("POST", f"{V3}/account/3pid/email/requestToken", None, R.IDENTITY_SERVER),
        ("POST", f"{V3}/account/3pid/add", None, R.THREEPID_CHANGE),
        ("POST", f"{V3}/account/3pid/delete", None, R.THREEPID_CHANGE),
        ("POST", "/_matrix/client/r0/account/3pid", None, R.THREEPID_CHANGE),
        ("POST", f"{V3}/account/password/email/requestToken", None, R.EMAILED_TOKEN),
        ("POST", f"{V3}/register/msisdn/requestToken", None, R.EMAILED_TOKEN),
        (
            "POST",
            f"{V3}/rooms/!r:hs/invite",
            {"id_server": "x", "medium": "email"},
            R.IDENTITY_SERVER,
        ),
        ("PUT", f"{V3}/profile/@a:hs/m.tz", None, R.PROFILE_FIELD),
        ("PUT", "/_matrix/client/r0/profile/@a:hs/displayname", None, R.PROFILE_FIELD),
        (
            "PUT",
            "/_matrix/client/unstable/uk.tcpip.msc4133/profile/@a:hs/x.y",
            None,
            R.PROFILE_FIELD,
        ),
        (
            "PUT",
            f"{V3}/presence/@a:hs/status",
            {"presence": "online", "status_msg": "bed 4"},
            R.STATUS_MESSAGE,
        ),
        (
            "POST",
            f"{V3}/pushers/set",
            {"kind": "http", "data": {"url": "https://evil/x"}},
            R.PUSH_GATEWAY,
        ),
        ("POST", f"{V3}/pushers/set", {"kind": "email", "data": {}}, R.PUSH_GATEWAY),
        ("POST", f"{V3}/pushers/set", {"kind": "http", "data": {"url": GATEWAY}}, R.PUSH_CONTENT),
    ],
)
def test_refused_requests(method: str, path: str, body: dict[str, Any] | None, reason: R) -> None:
    """Each side channel and client-chosen outbound request is refused with its reason."""
    assert decide(method, path, body) is reason


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{V3}/sendToDevice/x/1", None),
        ("PUT", f"{V3}/rooms/!r:hs/send/m.call.invite/1", None),
        ("POST", f"{V3}/keys/query", None),
        ("POST", f"{V3}/rooms/!r:hs/invite", {"user_id": "@b:hs"}),
        ("PUT", f"{V3}/profile/@a:hs/avatar_url", None),
        ("DELETE", f"{V3}/profile/@a:hs/m.tz", None),
        ("PUT", f"{V3}/presence/@a:hs/status", {"presence": "unavailable", "status_msg": " "}),
        ("POST", f"{V3}/pushers/set", {"kind": "http", "data": {"url": GATEWAY, "format": "event_id_only"}}),
        ("POST", f"{V3}/pushers/set", {"kind": None, "app_id": "x", "pushkey": "k"}),
        ("POST", "/_matrix/media/v3/upload", None),
        ("GET", f"{V3}/account/3pid", None),
        ("POST", f"{V3}/login", None),
        ("POST", f"{V3}/account/password", None),
    ],
)
def test_ordinary_requests_pass(method: str, path: str, body: dict[str, Any] | None) -> None:
    """Calls in rooms, invites of colleagues, plain presence, listed pushers, deletions pass."""
    assert decide(method, path, body) is None


class FakeRequest:
    def __init__(self, method: bytes, path: bytes, body: bytes) -> None:
        self.method, self.path, self.content = method, path, io.BytesIO(body)


def test_device_keys_are_answered_as_stored_but_discarded() -> None:
    """/keys/upload gets a 200 with the counts the client expects; nothing reaches Synapse."""
    guard = RequestGuard(LISTED)
    guard.putChild(b"client", JsonAnswer(200, {"from": "synapse"}))
    keys = {"one_time_keys": {"signed_curve25519:AAA": {}, "signed_curve25519:AAB": {}}, "device_keys": {}}
    request = FakeRequest(b"POST", f"{V3}/keys/upload".encode(), json.dumps(keys).encode())
    answer = guard.getChildWithDefault(b"client", request)
    assert isinstance(answer, JsonAnswer) and answer.code == 200
    assert json.loads(answer.body) == {"one_time_key_counts": {"signed_curve25519": 2}}
    assert discarded_keys_answer(None) == {"one_time_key_counts": {}}


def test_guard_answers_refusals_counts_them_and_passes_the_rest() -> None:
    """The guard renders the 403 with the reason, counts it, rewinds bodies it read, and
    hands other requests to the child Synapse mounted."""
    guard = RequestGuard(LISTED)
    child = JsonAnswer(200, {})
    guard.putChild(b"client", child)
    label = {"reason": R.STATUS_MESSAGE.value}
    before = REGISTRY.get_sample_value("carebridge_policy_refusals_total", label) or 0.0
    body = json.dumps({"presence": "online", "status_msg": "x"}).encode()
    refused = guard.getChildWithDefault(
        b"client", FakeRequest(b"PUT", f"{V3}/presence/@a:hs/status".encode(), body)
    )
    assert isinstance(refused, JsonAnswer) and refused.code == 403
    assert json.loads(refused.body)["org.carebridge.reason"] == R.STATUS_MESSAGE.value
    after = REGISTRY.get_sample_value("carebridge_policy_refusals_total", label)
    assert after == before + 1
    ok = FakeRequest(b"PUT", f"{V3}/presence/@a:hs/status".encode(), b'{"presence": "online"}')
    assert guard.getChildWithDefault(b"client", ok) is child
    assert ok.content.tell() == 0
    assert needs_body("POST", f"{V3}/pushers/set") and not needs_body("GET", f"{V3}/pushers/set")
