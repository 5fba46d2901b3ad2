"""Matrix error responses as exception classes (by errcode), so callers catch what they mean."""

from __future__ import annotations


class SynapseUnavailable(ConnectionError):
    """Synapse could not be reached at all (not running, wrong URL)."""


class MatrixError(Exception):
    """An error answer from Synapse: HTTP status, Matrix errcode and Synapse's message."""

    errcode = "M_UNKNOWN"

    def __init__(self, status: int, errcode: str, message: str, retry_after_ms: int | None = None) -> None:
        super().__init__(f"{status} {errcode}: {message}")
        self.status = status
        self.errcode = errcode
        self.message = message
        self.retry_after_ms = retry_after_ms


class MForbidden(MatrixError):
    """M_FORBIDDEN: not allowed (e.g. the bot is not a server admin)."""


class MUnknownToken(MatrixError):
    """M_UNKNOWN_TOKEN: the access token is not valid."""


class MMissingToken(MatrixError):
    """M_MISSING_TOKEN: no access token was sent."""


class MNotFound(MatrixError):
    """M_NOT_FOUND: no such user, room or alias."""


class MUserInUse(MatrixError):
    """M_USER_IN_USE: the user id is taken."""


class MRoomInUse(MatrixError):
    """M_ROOM_IN_USE: the room alias is taken."""


class MLimitExceeded(MatrixError):
    """M_LIMIT_EXCEEDED: rate limited; retry_after_ms says when to try again."""


class MBadJson(MatrixError):
    """M_BAD_JSON / M_NOT_JSON: the request body was refused."""


class MInvalidParam(MatrixError):
    """M_INVALID_PARAM / M_MISSING_PARAM: a parameter was missing or wrong."""


class MWeakPassword(MatrixError):
    """M_WEAK_PASSWORD: the password does not meet the homeserver's policy."""


class MInvalidUsername(MatrixError):
    """M_INVALID_USERNAME: not a valid Matrix localpart."""


class MUnrecognized(MatrixError):
    """M_UNRECOGNIZED: the endpoint does not exist (wrong Synapse version?)."""


ERRCODES: dict[str, type[MatrixError]] = {
    "M_FORBIDDEN": MForbidden,
    "M_UNKNOWN_TOKEN": MUnknownToken,
    "M_MISSING_TOKEN": MMissingToken,
    "M_NOT_FOUND": MNotFound,
    "M_USER_IN_USE": MUserInUse,
    "M_ROOM_IN_USE": MRoomInUse,
    "M_LIMIT_EXCEEDED": MLimitExceeded,
    "M_BAD_JSON": MBadJson,
    "M_NOT_JSON": MBadJson,
    "M_INVALID_PARAM": MInvalidParam,
    "M_MISSING_PARAM": MInvalidParam,
    "M_WEAK_PASSWORD": MWeakPassword,
    "M_PASSWORD_TOO_SHORT": MWeakPassword,
    "M_PASSWORD_NO_DIGIT": MWeakPassword,
    "M_PASSWORD_NO_UPPERCASE": MWeakPassword,
    "M_PASSWORD_NO_LOWERCASE": MWeakPassword,
    "M_PASSWORD_NO_SYMBOL": MWeakPassword,
    "M_PASSWORD_IN_DICTIONARY": MWeakPassword,
    "M_INVALID_USERNAME": MInvalidUsername,
    "M_UNRECOGNIZED": MUnrecognized,
}


def error_from_response(status: int, body: object) -> MatrixError:
    """The exception for an error response (unknown errcodes become MatrixError)."""
    errcode, message, retry = "M_UNKNOWN", f"HTTP {status}", None
    if isinstance(body, dict):
        errcode = str(body.get("errcode") or errcode)
        message = str(body.get("error") or message)
        raw_retry = body.get("retry_after_ms")
        retry = int(raw_retry) if isinstance(raw_retry, int) else None
    cls = ERRCODES.get(errcode, MatrixError)
    return cls(status, errcode, message, retry)
