"""The login/logout audit record: one custom event per login, logout or failed login.

The Synapse module sends it as the bot into the administrators' room (so it travels the
durable appservice pipe and is archived), and the bridge's sessions consumer reads it
back. Both sides use this module, so the wire format is defined once. Never a password or
an access token in here. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

RECORD_VERSION = 1
MAX_FIELD = 512


class Kind(StrEnum):
    """What happened."""

    LOGIN = "login"
    LOGOUT = "logout"
    FAILED_LOGIN = "failed_login"


class LogoutReason(StrEnum):
    """How a session ended (the `reason` of a logout record)."""

    LOGOUT = "logout"  # the person signed out of this device
    LOGOUT_ALL = "logout_all"  # the person signed out everywhere
    PASSWORD_CHANGE = "password_change"  # noqa: S105 - the person changed their password: other devices end
    DEVICE_DELETED = "device_deleted"  # the person removed the device from their device list
    ACCOUNT_DEACTIVATED = "account_deactivated"  # by the person or an administrator
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an administrator reset the password
    ADMIN_REVOKED = "admin_revoked"  # an administrator ended the session (admin API)
    AUTOMATIC = "automatic"  # Carebridge ended it (end-of-shift logout)
    SERVER = "server"  # Synapse ended it outside any request (e.g. stale device clean-up)
    UNKNOWN = "unknown"


class FailureReason(StrEnum):
    """Why a login attempt failed (the `reason` of a failed_login record)."""

    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason code, not a secret
    UNKNOWN_USER = "unknown_user"  # the name is NOT recorded: people type passwords there
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_LOCKED = "account_locked"
    OUTSIDE_ALLOWED_HOURS = "outside_allowed_hours"
    REJECTED = "rejected"  # refused after the password check, for another reason
    RATE_LIMITED = "rate_limited"  # refused by the sign-in limits (rc_login) before any check


@dataclass(frozen=True)
class SessionRecord:
    """One login, logout or failed login, as carried in the event content."""

    kind: Kind
    ts: int  # epoch milliseconds, as Synapse saw it
    user_id: str | None
    device_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    method: str | None = None  # login type, e.g. m.login.password
    reason: str | None = None  # LogoutReason / FailureReason value
    actor: str | None = None  # who ended the session, when not the person themselves
    detail: str | None = None  # e.g. "end_of_shift" for an automatic logout

    def content(self) -> dict[str, Any]:
        """The event content (None fields dropped)."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        data["kind"] = self.kind.value
        data["version"] = RECORD_VERSION
        return data


def _text(content: dict[str, Any], key: str) -> str | None:
    value = content.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value[:MAX_FIELD]


def parse_record(content: Any) -> SessionRecord:
    """Read a record back from event content; raises ValueError if it is not one."""
    if not isinstance(content, dict):
        raise ValueError("content is not an object")
    try:
        kind = Kind(str(content.get("kind")))
    except ValueError:
        raise ValueError("unknown kind") from None
    ts = content.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
        raise ValueError("ts is not a positive integer")
    user_id = _text(content, "user_id")
    if kind is not Kind.FAILED_LOGIN and not user_id:
        raise ValueError("user_id missing")
    return SessionRecord(
        kind=kind,
        ts=ts,
        user_id=user_id,
        device_id=_text(content, "device_id"),
        ip=_text(content, "ip"),
        user_agent=_text(content, "user_agent"),
        method=_text(content, "method"),
        reason=_text(content, "reason"),
        actor=_text(content, "actor"),
        detail=_text(content, "detail"),
    )
