"""Why a session ended, told from the request that ended it (pure).

Synapse's `on_logged_out` callback says which device's token went away but not why. The
module passes the facts of the request being served (method, path with query, the
authenticated user) and this maps them to a reason an auditor understands.
45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from policy.session_record import LogoutReason

# The bot marks the admin-API calls it makes for end-of-shift logout with this query
# parameter; it is believed only when the bot itself made the request.
REASON_PARAM = "carebridge_reason"
AUTOMATIC_DETAILS = frozenset({"end_of_shift"})
# The `carebridge` CLI names the operating-system account of the administrator running
# it (reset-password, deactivate); believed only on the bot's own admin-API calls.
OPERATOR_PARAM = "carebridge_operator"
_OPERATOR = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,63}$")

_CLIENT = r"^/_matrix/client/(?:r0|v1|v3|unstable)"
_ADMIN = r"^/_synapse/admin/v\d+"
_RULES: tuple[tuple[str | None, re.Pattern[str], LogoutReason], ...] = (
    ("POST", re.compile(_CLIENT + r"/logout/all/?$"), LogoutReason.LOGOUT_ALL),
    ("POST", re.compile(_CLIENT + r"/logout/?$"), LogoutReason.LOGOUT),
    ("POST", re.compile(_CLIENT + r"/account/password/?$"), LogoutReason.PASSWORD_CHANGE),
    ("POST", re.compile(_CLIENT + r"/account/deactivate/?$"), LogoutReason.ACCOUNT_DEACTIVATED),
    ("DELETE", re.compile(_CLIENT + r"/devices/[^/]+/?$"), LogoutReason.DEVICE_DELETED),
    ("POST", re.compile(_CLIENT + r"/delete_devices/?$"), LogoutReason.DEVICE_DELETED),
    ("POST", re.compile(_ADMIN + r"/deactivate/[^/]+/?$"), LogoutReason.ACCOUNT_DEACTIVATED),
    ("POST", re.compile(_ADMIN + r"/reset_password/[^/]+/?$"), LogoutReason.PASSWORD_RESET),
    (None, re.compile(_ADMIN + r"/"), LogoutReason.ADMIN_REVOKED),
)


@dataclass(frozen=True)
class RequestFacts:
    """What the module can tell about the HTTP request being served (no tokens, no bodies)."""

    method: str
    url: str  # path and query, as Synapse logs it (access tokens already redacted)
    requester: str | None  # the authenticated user making the request
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class LogoutCause:
    """The reason code, who caused it (if not the person), and an optional detail."""

    reason: LogoutReason
    actor: str | None = None
    detail: str | None = None


def classify_logout(request: RequestFacts | None, user_id: str, bot_user_id: str) -> LogoutCause:
    """Map the request that ended `user_id`'s session to a LogoutCause.

    No request (a background job inside Synapse) is SERVER. An admin-API call by the bot
    carrying `carebridge_reason=end_of_shift` is AUTOMATIC; other admin-API calls are the
    administrator's action (reset, deactivation or revocation), with the actor recorded.
    """
    if request is None:
        return LogoutCause(LogoutReason.SERVER)
    parts = urlsplit(request.url)
    path = parts.path
    actor = request.requester if request.requester and request.requester != user_id else None
    for method, pattern, reason in _RULES:
        if (method is None or method == request.method.upper()) and pattern.search(path):
            if reason is LogoutReason.ADMIN_REVOKED and request.requester == bot_user_id:
                detail = _marker(parts.query)
                if detail is not None:
                    return LogoutCause(LogoutReason.AUTOMATIC, actor, detail)
            if request.requester == bot_user_id:
                actor = operator_from_query(parts.query) or actor
            return LogoutCause(reason, actor)
    return LogoutCause(LogoutReason.UNKNOWN, actor)


def _marker(query: str) -> str | None:
    values = parse_qs(query).get(REASON_PARAM, [])
    return values[0] if values and values[0] in AUTOMATIC_DETAILS else None


def operator_from_query(query: str) -> str | None:
    """`os-user:NAME` when the bot's request names the CLI operator's OS account."""
    values = parse_qs(query).get(OPERATOR_PARAM, [])
    return f"os-user:{values[0]}" if values and _OPERATOR.match(values[0]) else None


def is_login_request(request: RequestFacts | None) -> bool:
    """True while serving POST /login (as opposed to a re-authentication elsewhere)."""
    if request is None or request.method.upper() != "POST":
        return False
    return re.search(_CLIENT + r"/login/?$", urlsplit(request.url).path) is not None


def is_create_room_request(request: RequestFacts | None) -> bool:
    """True while serving POST /createRoom."""
    if request is None or request.method.upper() != "POST":
        return False
    return re.search(_CLIENT + r"/createRoom/?$", urlsplit(request.url).path) is not None


def is_password_change_request(request: RequestFacts | None) -> bool:
    """True while serving POST /account/password."""
    if request is None or request.method.upper() != "POST":
        return False
    return re.search(_CLIENT + r"/account/password/?$", urlsplit(request.url).path) is not None
