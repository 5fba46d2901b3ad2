"""The sign-in limit every password check shares: `/login` and each re-authentication (pure).

A password is checked by `POST /login` and, with a valid token, by the user-interactive
authentication of `/account/password`, `/account/deactivate`, device deletion, adding an
address and `login/get_token` (the web client's password change goes through
`/account/password`). Synapse limits wrong passwords only at `/login`, per process; its
re-authentication limit never counts a wrong password (it answers 401 and tries again), so
an unlocked ward computer could guess a colleague's password without end. One limit covers
them all, per account (the account whose password is typed): `failed_attempts` of
carebridge.yaml's `sign_in:` (the same bucket Synapse applies to `/login`: `burst_count`
wrong passwords, then one more per `1 / per_second` seconds). Once the bucket is full every
attempt is refused, the right password too, until it has drained.

Each attempt is counted as wrong when it arrives (`reserve`) and given back when the
password proved right (`refund`), so parallel guesses cannot slip past the count.
45 CFR 164.308(a)(5)(ii)(C) log-in monitoring; 164.312(a)(1) access control; 164.312(d)
person or entity authentication.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PASSWORD_LOGIN = "m.login.password"  # noqa: S105 - a login type, not a secret
LIMIT_EXCEEDED = "M_LIMIT_EXCEEDED"
LOCKED_MESSAGE = (
    "Too many wrong passwords for this account. Wait {minutes} before trying again, or ask "
    "IT to check the account."
)
MAX_TYPED = 255

_CLIENT = r"/_matrix/client/(?:r0|v1|v3|unstable)"
# Synapse's endpoints that check a password: (method, endpoint name) by path.
_CHECKS = re.compile(
    r"^"
    + _CLIENT
    + r"/(?P<endpoint>login|login/get_token|account/password|account/deactivate|account/3pid/add"
    + r"|delete_devices|devices/[^/]+)/?$"
)
_METHODS = frozenset({"POST", "DELETE"})


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst_count` at once, refilled at `per_second` (rc_login's shape)."""

    per_second: float
    burst_count: int


# carebridge.yaml's default `sign_in.failed_attempts`: 5 wrong, then one try per ~5 minutes.
DEFAULT_FAILED_ATTEMPTS = Rate(per_second=0.0034, burst_count=5)


class SignInReason(StrEnum):
    """Why a password check was refused before Synapse saw it."""

    LOCKED = "sign-in-locked"  # the account's wrong-password bucket is full


class Check(StrEnum):
    """Where a password is being checked."""

    LOGIN = "login"
    REAUTH = "reauthentication"


@dataclass(frozen=True)
class PasswordAttempt:
    """A request that will check a password: where, and the account typed (as typed)."""

    check: Check
    endpoint: str  # e.g. "login", "account/password", "devices"
    typed_user: str

    @property
    def detail(self) -> str | None:
        """What the audit record says about where it happened (None for a sign-in)."""
        return None if self.check is Check.LOGIN else f"{self.check.value}:{self.endpoint}"


def might_check_password(method: str, path: str) -> bool:
    """Cheap test on every request: could this request check a password? (Then the
    guard reads its body; every other request goes on untouched.)"""
    return method in _METHODS and "/_matrix/client/" in path and _CHECKS.match(path) is not None


def _typed_user(auth: Mapping[str, Any]) -> str | None:
    """The user name as typed, or the e-mail address of a sign-in by address (the account
    it is bound to shares the same count: guessing by address gets no extra tries)."""
    identifier = auth.get("identifier")
    named: Mapping[str, Any] = identifier if isinstance(identifier, Mapping) else auth
    kind = named.get("type", "m.id.user") if named is identifier else None
    if kind in (None, "m.id.user") and isinstance(named.get("user"), str) and named.get("user"):
        user = named.get("user")
    elif kind in (None, "m.id.thirdparty") and named.get("medium") == "email":
        user = named.get("address")
    else:
        return None  # a phone number or an unknown identifier: no account of ours
    return user[:MAX_TYPED] if isinstance(user, str) and user else None


def is_email_address(typed: str) -> bool:
    """Whether what was typed is an e-mail address rather than a user name or id."""
    return "@" in typed and not typed.startswith("@")


def password_attempt(method: str, path: str, body: Mapping[str, Any] | None) -> PasswordAttempt | None:
    """The password check this request asks for, or None (no password in it)."""
    if body is None or not might_check_password(method, path):
        return None
    match = _CHECKS.match(path)
    assert match is not None
    endpoint = match.group("endpoint")
    if endpoint.startswith("devices/"):
        if method != "DELETE":
            return None
        endpoint = "devices"
    elif method != "POST":
        return None
    if endpoint == "login":
        auth: Any = body
        check = Check.LOGIN
    else:
        auth = body.get("auth")
        check = Check.REAUTH
    if not isinstance(auth, Mapping) or auth.get("type") != PASSWORD_LOGIN:
        return None
    typed = _typed_user(auth)
    return None if typed is None else PasswordAttempt(check, endpoint, typed)


@dataclass(frozen=True)
class Bucket:
    """Wrong passwords still counted against an account, as of `at_ms`."""

    level: float
    at_ms: int


EMPTY = Bucket(0.0, 0)


@dataclass(frozen=True)
class SignInVerdict:
    """Whether the attempt may go on, the bucket to store, and (refused) how long to wait."""

    allowed: bool
    bucket: Bucket
    retry_after_ms: int = 0


def drained(bucket: Bucket, rate: Rate, now_ms: int) -> float:
    """The bucket's level at `now_ms` (it drains at `rate.per_second`)."""
    elapsed = max(0, now_ms - bucket.at_ms) / 1000
    return max(0.0, bucket.level - elapsed * rate.per_second)


def reserve(bucket: Bucket, rate: Rate, now_ms: int) -> SignInVerdict:
    """Count one more attempt as wrong, unless the bucket is full (then refuse, and say
    when one attempt will be allowed again)."""
    level = drained(bucket, rate, now_ms)
    if level + 1 > rate.burst_count + 1e-9:
        wait_s = (level + 1 - rate.burst_count) / rate.per_second
        return SignInVerdict(False, Bucket(level, now_ms), max(1, math.ceil(wait_s * 1000)))
    return SignInVerdict(True, Bucket(level + 1, now_ms))


def refund(bucket: Bucket, rate: Rate, now_ms: int) -> Bucket:
    """The attempt proved right (or never checked a password): take it back."""
    return Bucket(max(0.0, drained(bucket, rate, now_ms) - 1), now_ms)


def locked_message(retry_after_ms: int) -> str:
    """What a person is told when the account is locked."""
    minutes = max(1, math.ceil(retry_after_ms / 60_000))
    return LOCKED_MESSAGE.format(minutes="1 minute" if minutes == 1 else f"{minutes} minutes")


def failed_status(check: Check) -> int:
    """The answer Synapse gives a wrong password: 403 at /login, 401 in re-authentication
    (a 403 there means the right password of another account than the token's)."""
    return 403 if check is Check.LOGIN else 401
