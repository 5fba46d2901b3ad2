"""The sign-in limit's pure rules: which requests check a password and for whom, and the
wrong-password bucket (the same arithmetic as Synapse's rc_login.failed_attempts)."""

from __future__ import annotations

from typing import Any

import pytest

from config.settings import SignInSettings
from policy.sign_in_limit import (
    DEFAULT_FAILED_ATTEMPTS,
    EMPTY,
    Bucket,
    Check,
    PasswordAttempt,
    Rate,
    failed_status,
    is_email_address,
    locked_message,
    might_check_password,
    password_attempt,
    refund,
    reserve,
)

RATE = Rate(per_second=0.0034, burst_count=5)
ID = {"type": "m.id.user", "user": "@nurse:clinic.example"}


def auth(**extra: Any) -> dict[str, Any]:
    return {"auth": {"type": "m.login.password", "identifier": ID, "password": "x", **extra}}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        (
            "POST",
            "/_matrix/client/v3/login",
            {"type": "m.login.password", "identifier": ID, "password": "x"},
            PasswordAttempt(Check.LOGIN, "login", "@nurse:clinic.example"),
        ),
        (
            "POST",
            "/_matrix/client/r0/login",
            {"type": "m.login.password", "user": "nurse", "password": "x"},
            PasswordAttempt(Check.LOGIN, "login", "nurse"),
        ),
        (
            "POST",
            "/_matrix/client/v3/account/password",
            auth(),
            PasswordAttempt(Check.REAUTH, "account/password", "@nurse:clinic.example"),
        ),
        (
            "POST",
            "/_matrix/client/v3/account/deactivate",
            auth(),
            PasswordAttempt(Check.REAUTH, "account/deactivate", "@nurse:clinic.example"),
        ),
        (
            "POST",
            "/_matrix/client/v3/delete_devices",
            auth(),
            PasswordAttempt(Check.REAUTH, "delete_devices", "@nurse:clinic.example"),
        ),
        (
            "DELETE",
            "/_matrix/client/v3/devices/ABCDEF",
            auth(),
            PasswordAttempt(Check.REAUTH, "devices", "@nurse:clinic.example"),
        ),
        (
            "POST",
            "/_matrix/client/v1/login/get_token",
            auth(),
            PasswordAttempt(Check.REAUTH, "login/get_token", "@nurse:clinic.example"),
        ),
        (
            "POST",
            "/_matrix/client/v3/account/3pid/add",
            {"auth": {"type": "m.login.password", "user": "nurse"}},
            PasswordAttempt(Check.REAUTH, "account/3pid/add", "nurse"),
        ),
    ],
)
def test_requests_that_check_a_password_name_the_account(
    method: str, path: str, body: dict[str, Any], expected: PasswordAttempt
) -> None:
    assert might_check_password(method, path)
    assert password_attempt(method, path, body) == expected


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1", {"body": "hi"}),  # the message path
        ("POST", "/_matrix/client/v3/account/password", {"new_password": "x"}),  # first UIA step: no auth
        ("POST", "/_matrix/client/v3/account/password", {"auth": {"type": "m.login.dummy"}}),
        ("POST", "/_matrix/client/v3/login", {"type": "m.login.token", "token": "t"}),
        ("POST", "/_matrix/client/v3/login", {"type": "m.login.password", "password": "x"}),  # nobody named
        (
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "password": "x",
                "identifier": {"type": "m.id.thirdparty", "medium": "msisdn", "address": "4412345"},
            },
        ),
        ("POST", "/_matrix/client/v3/devices/ABC", auth()),  # devices/{id} checks only on DELETE
        ("GET", "/_matrix/client/v3/login", None),
        ("POST", "/_matrix/client/v3/account/password", None),  # not JSON
        ("POST", "/_matrix/client/v3/account/password", {"auth": "nope"}),
        ("POST", "/_matrix/client/v3/login", {"type": "m.login.password", "user": 7, "password": "x"}),
    ],
)
def test_requests_without_a_password_check_go_on_untouched(method: str, path: str, body: Any) -> None:
    assert password_attempt(method, path, body) is None


def test_a_sign_in_by_e_mail_address_names_the_address() -> None:
    """The address is resolved to its account by the module, so guessing by address and
    by user name share one count (no extra tries by switching)."""
    body = {
        "type": "m.login.password",
        "password": "x",
        "identifier": {"type": "m.id.thirdparty", "medium": "email", "address": "Nurse@Ward.example"},
    }
    found = password_attempt("POST", "/_matrix/client/v3/login", body)
    assert found is not None and found.typed_user == "Nurse@Ward.example"
    legacy = {"type": "m.login.password", "password": "x", "medium": "email", "address": "a@b.example"}
    found = password_attempt("POST", "/_matrix/client/v3/login", legacy)
    assert found is not None and found.typed_user == "a@b.example"
    assert (
        is_email_address("a@b.example")
        and not is_email_address("@jdoe:ward")
        and not is_email_address("jdoe")
    )


def test_the_cheap_test_skips_every_message_and_sync_request() -> None:
    for method, path in [
        ("PUT", "/_matrix/client/v3/rooms/!r:x/send/m.room.message/1"),
        ("GET", "/_matrix/client/v3/sync"),
        ("POST", "/_matrix/client/v3/rooms/!r:x/receipt/m.read/$e"),
        ("POST", "/_matrix/media/v3/upload"),
    ]:
        assert not might_check_password(method, path)


def test_five_wrong_then_locked_for_one_drain_interval() -> None:
    bucket, now = EMPTY, 1_000_000
    for _ in range(5):
        verdict = reserve(bucket, RATE, now)
        assert verdict.allowed
        bucket = verdict.bucket
    locked = reserve(bucket, RATE, now)
    assert not locked.allowed
    assert locked.retry_after_ms == pytest.approx(1000 / RATE.per_second, abs=2)
    # The right password is refused too while locked (the bucket does not change)...
    assert reserve(locked.bucket, RATE, now + locked.retry_after_ms - 1000).allowed is False
    # ...and one attempt is allowed again once one has drained.
    assert reserve(locked.bucket, RATE, now + locked.retry_after_ms).allowed


def test_a_right_password_is_given_back() -> None:
    bucket = Bucket(3.0, 0)
    back = refund(bucket, RATE, 0)
    assert back == Bucket(2.0, 0)
    assert refund(Bucket(0.5, 0), RATE, 0).level == 0.0


def test_the_bucket_drains_at_the_rate() -> None:
    full = Bucket(5.0, 0)
    assert reserve(full, RATE, 0).allowed is False
    one_drained = int(1000 / RATE.per_second) + 1
    assert reserve(full, RATE, one_drained).allowed is True


def test_failed_status_and_message() -> None:
    assert failed_status(Check.LOGIN) == 403
    assert failed_status(Check.REAUTH) == 401
    assert "Wait 5 minutes" in locked_message(290_000)
    assert "Wait 1 minute " in locked_message(10_000)


def test_carebridge_yaml_default_is_the_module_default() -> None:
    rate = SignInSettings().failed_attempts
    assert (rate.per_second, rate.burst_count) == (
        DEFAULT_FAILED_ATTEMPTS.per_second,
        DEFAULT_FAILED_ATTEMPTS.burst_count,
    )
