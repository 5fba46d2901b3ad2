"""Pure: the session record wire format and how a logout's reason is told from its request."""

from __future__ import annotations

import pytest

from policy.session_reason import RequestFacts, classify_logout, is_login_request
from policy.session_record import Kind, LogoutReason, SessionRecord, parse_record

BOT = "@carebridge:test"
ME = "@nurse:test"
ADMIN = "@admin:test"


def req(method: str, url: str, requester: str | None = ME) -> RequestFacts:
    return RequestFacts(method=method, url=url, requester=requester)


@pytest.mark.parametrize(
    ("request_facts", "reason", "actor"),
    [
        (req("POST", "/_matrix/client/v3/logout"), LogoutReason.LOGOUT, None),
        (req("POST", "/_matrix/client/r0/logout/all"), LogoutReason.LOGOUT_ALL, None),
        (req("POST", "/_matrix/client/v3/account/password"), LogoutReason.PASSWORD_CHANGE, None),
        (req("POST", "/_matrix/client/v3/account/deactivate"), LogoutReason.ACCOUNT_DEACTIVATED, None),
        (req("DELETE", "/_matrix/client/v3/devices/ABCDEF"), LogoutReason.DEVICE_DELETED, None),
        (req("POST", "/_matrix/client/v3/delete_devices"), LogoutReason.DEVICE_DELETED, None),
        (req("POST", f"/_synapse/admin/v1/deactivate/{ME}", ADMIN), LogoutReason.ACCOUNT_DEACTIVATED, ADMIN),
        (req("POST", f"/_synapse/admin/v1/reset_password/{ME}", ADMIN), LogoutReason.PASSWORD_RESET, ADMIN),
        (req("DELETE", f"/_synapse/admin/v2/users/{ME}/devices/X", ADMIN), LogoutReason.ADMIN_REVOKED, ADMIN),
        (req("POST", f"/_synapse/admin/v2/users/{ME}/delete_devices", BOT), LogoutReason.ADMIN_REVOKED, BOT),
        (req("GET", "/_matrix/client/v3/sync"), LogoutReason.UNKNOWN, None),
        (None, LogoutReason.SERVER, None),
    ],
)
def test_logout_reasons(request_facts: RequestFacts | None, reason: LogoutReason, actor: str | None) -> None:
    cause = classify_logout(request_facts, ME, BOT)
    assert (cause.reason, cause.actor) == (reason, actor)


def test_end_of_shift_marker_is_believed_only_from_the_bot() -> None:
    url = f"/_synapse/admin/v2/users/{ME}/delete_devices?carebridge_reason=end_of_shift"
    cause = classify_logout(req("POST", url, BOT), ME, BOT)
    assert (cause.reason, cause.detail, cause.actor) == (LogoutReason.AUTOMATIC, "end_of_shift", BOT)
    assert classify_logout(req("POST", url, ADMIN), ME, BOT).reason is LogoutReason.ADMIN_REVOKED
    bogus = url.replace("end_of_shift", "whatever")
    assert classify_logout(req("POST", bogus, BOT), ME, BOT).reason is LogoutReason.ADMIN_REVOKED


def test_login_request_detection() -> None:
    assert is_login_request(req("POST", "/_matrix/client/v3/login", None))
    assert not is_login_request(req("POST", "/_matrix/client/v3/account/password"))
    assert not is_login_request(None)


def test_record_round_trip_drops_empty_fields() -> None:
    record = SessionRecord(Kind.LOGIN, 1_700_000_000_000, ME, "DEV", ip="10.0.0.1", method="m.login.password")
    content = record.content()
    assert content == {
        "kind": "login",
        "ts": 1_700_000_000_000,
        "user_id": ME,
        "device_id": "DEV",
        "ip": "10.0.0.1",
        "method": "m.login.password",
        "version": 1,
    }
    assert parse_record(content) == record


@pytest.mark.parametrize(
    "content",
    [
        None,
        {"kind": "party", "ts": 1, "user_id": ME},
        {"kind": "login", "ts": "yesterday", "user_id": ME},
        {"kind": "login", "ts": True, "user_id": ME},
        {"kind": "logout", "ts": 5},
        {"kind": "login", "ts": 5, "user_id": 7},
    ],
)
def test_malformed_records_are_refused(content: object) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_record(content)


def test_a_failed_login_may_have_no_user() -> None:
    assert parse_record({"kind": "failed_login", "ts": 5, "reason": "unknown_user"}).user_id is None
