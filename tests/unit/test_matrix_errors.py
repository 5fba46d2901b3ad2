"""Synapse's error answers become mautrix.errors exceptions by errcode, so one `except`
catches an error whether it came from our SynapseHTTP client or from a mautrix IntentAPI."""

from __future__ import annotations

from mautrix.errors import MatrixRequestError, MForbidden, MLimitExceeded, MNotFound, MTooLarge

from bridge.core.matrix_errors import error_from_response, matrix_error, retry_after_ms


def test_known_errcodes_map_to_the_mautrix_classes() -> None:
    forbidden = error_from_response(403, {"errcode": "M_FORBIDDEN", "error": "not an admin"})
    assert isinstance(forbidden, MForbidden)
    assert (forbidden.http_status, forbidden.errcode) == (403, "M_FORBIDDEN")
    assert forbidden.message == "not an admin"
    assert str(forbidden) == "403 M_FORBIDDEN: not an admin"
    assert isinstance(error_from_response(404, {"errcode": "M_NOT_FOUND"}), MNotFound)
    assert isinstance(matrix_error(413, "M_TOO_LARGE", "too big"), MTooLarge)


def test_unknown_errcodes_and_bodies_stay_request_errors_with_their_errcode() -> None:
    weak = error_from_response(400, {"errcode": "M_WEAK_PASSWORD", "error": "too short"})
    assert isinstance(weak, MatrixRequestError) and weak.errcode == "M_WEAK_PASSWORD"
    assert str(weak) == "400 M_WEAK_PASSWORD: too short"
    bare = error_from_response(502, None)
    assert isinstance(bare, MatrixRequestError)
    assert (bare.http_status, bare.errcode, str(bare)) == (502, "M_UNKNOWN", "502 M_UNKNOWN: HTTP 502")


def test_rate_limit_answers_carry_their_retry_delay() -> None:
    body = {"errcode": "M_LIMIT_EXCEEDED", "error": "slow down", "retry_after_ms": 250}
    assert isinstance(error_from_response(429, body), MLimitExceeded)
    assert retry_after_ms(body) == 250
    assert retry_after_ms({"errcode": "M_LIMIT_EXCEEDED"}) is None
    assert retry_after_ms("not json") is None
