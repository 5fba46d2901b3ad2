"""Matrix errors both ways: Synapse's answers as mautrix.errors exceptions, and our answers.

The classes are mautrix's own (`MForbidden`, `MNotFound`, `MLimitExceeded`, ... under
`MatrixRequestError`), so an error from our SynapseHTTP client and one from a mautrix
IntentAPI are caught by the same `except`. This module only builds them from Synapse's
answers and adds `SynapseUnavailable` for a Synapse that cannot be reached at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web
from mautrix.errors import MatrixRequestError, make_request_error


class SynapseUnavailable(ConnectionError):
    """Synapse could not be reached at all (not running, wrong URL)."""


def error_response(
    status: int, errcode: str, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Our own answer to a request, as a Matrix error body {"errcode": ..., "error": ...}."""
    return web.json_response({"errcode": errcode, "error": message}, status=status, headers=headers)


def matrix_error(status: int, errcode: str, message: str) -> MatrixRequestError:
    """The mautrix exception for errcode (unknown errcodes: MatrixUnknownRequestError);
    its text reads "status errcode: message", as the CLI prints it."""
    error = make_request_error(status, message, errcode, message)
    error.args = (f"{status} {errcode}: {message}",)
    return error


def error_from_response(status: int, body: object) -> MatrixRequestError:
    """The exception for an error response (a body without an errcode is M_UNKNOWN)."""
    errcode, message = "M_UNKNOWN", f"HTTP {status}"
    if isinstance(body, dict):
        errcode = str(body.get("errcode") or errcode)
        message = str(body.get("error") or message)
    return matrix_error(status, errcode, message)


def retry_after_ms(body: object) -> int | None:
    """How long a rate-limited (M_LIMIT_EXCEEDED) answer asks us to wait, if it says."""
    raw = body.get("retry_after_ms") if isinstance(body, dict) else None
    return raw if isinstance(raw, int) else None
