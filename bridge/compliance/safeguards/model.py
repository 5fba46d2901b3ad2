"""The data of a compliance report: what each check reads (facts) and what it says (rows).

Everything here is plain, frozen data with no I/O. Facts hold ids, counts, times and
configuration values only: never a message body, a display name, a password or a token.
A fact group that could not be read is None, and `Facts.unreadable` says why (an error
type or a short reason), so a check can answer "could not check" instead of passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DAY_MS = 24 * 3600 * 1000


class Result(StrEnum):
    """A check's verdict."""

    PASS = "pass"  # noqa: S105 - a verdict, not a password
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Safeguard:
    """What a row is about: the citation, what Carebridge does, how it is checked, and the
    automated test (file::function) that proves the mechanism works."""

    id: str
    citation: str
    title: str
    does: str
    check: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    """What a check found: result, reason, and (when the data says so) since when it held
    or when it was last true (epoch ms)."""

    result: Result
    reason: str
    last_true_ms: int | None = None


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    safeguard: Safeguard
    result: Result
    reason: str
    checked_ms: int
    last_true_ms: int | None


@dataclass(frozen=True)
class KeyFacts:
    """The archive keyring, without the keys."""

    loaded: bool
    error: str | None
    from_env: bool
    file_private: bool | None  # None: keys come from the environment, or no file
    key_ids: tuple[str, ...]
    all_256_bit: bool


@dataclass(frozen=True)
class ArchiveFacts:
    """The archive table (metadata only: no row is decrypted)."""

    rows: int
    head_seq: int
    key_ids_used: tuple[str, ...]
    last_received_ms: int | None
    consumer_lag: Mapping[str, int]
    exports: int
    last_export_ms: int | None


@dataclass(frozen=True)
class VerifyFacts:
    """The result of `archive verify` run now."""

    ok: bool
    rows: int
    problems: tuple[str, ...]  # "kind at row N" only
    tail_checked: bool
    heads_checked: int
    newest_head_ms: int | None  # newest head the bot published in Synapse (origin_server_ts)


@dataclass(frozen=True)
class Account:
    """One account, as Synapse and the directory know it."""

    user_id: str
    synapse_admin: bool = False
    synapse_deactivated: bool = False
    user_type: str | None = None
    in_directory: bool = False
    role: str | None = None  # directory role: "admin" | "staff"
    active: bool | None = None  # directory active flag
    created_ms: int | None = None
    devices: int | None = None  # live devices (access tokens) in Synapse, when looked up
    open_sessions: int = 0  # sessions in the ledger with no logout
    ever_signed_in: bool = False
    initial_password: bool | None = None  # None: not tracked by this deployment


@dataclass(frozen=True)
class BackupFacts:
    """One recorded backup (the file may have moved off this machine since)."""

    created_ms: int
    includes_key: bool
    verified: bool
    file_present: bool


@dataclass(frozen=True)
class ActivityFacts:
    """Reports, alerts, sign-in records."""

    last_session_record_ms: int | None
    failed_logins_7d: int
    last_failed_login_ms: int | None
    last_alert_ms: int | None
    last_command_ms: int | None
    last_automatic_logout_ms: int | None
    scheduled_people: int


@dataclass(frozen=True)
class Facts:
    """Everything the checks read, gathered at `now_ms`."""

    now_ms: int
    organization: str
    carebridge_version: str
    synapse_version: str | None
    settings: Mapping[str, Any]
    homeserver: Mapping[str, Any] | None
    registration: Mapping[str, Any] | None
    production: bool
    keys: KeyFacts | None
    archive: ArchiveFacts | None
    verify: VerifyFacts | None
    accounts: tuple[Account, ...] | None
    bot_user_id: str
    admin_room_members: frozenset[str] | None
    backups: tuple[BackupFacts, ...] | None
    activity: ActivityFacts | None
    heads_log: Mapping[str, Any] | None = None  # newest entry of the heads log file, if any
    # What the running Synapse answers without a token: {"registration_open": bool,
    # "federation_served": bool}; a probe that got no clear answer is left out.
    live: Mapping[str, bool] = field(default_factory=dict)
    unreadable: Mapping[str, str] = field(default_factory=dict)

    def why(self, group: str) -> str:
        """Why a fact group is missing, for a 'could not check' reason."""
        return self.unreadable.get(group, "not available")


def humans(accounts: tuple[Account, ...]) -> list[Account]:
    """Accounts of people: not the bot, not appservice/support/bot user types."""
    return [a for a in accounts if a.user_type is None]


def ids(accounts: list[Account], limit: int = 5) -> str:
    """A short, stable list of user ids for a reason (user ids are not PHI)."""
    names = sorted(a.user_id for a in accounts)
    more = len(names) - limit
    return ", ".join(names[:limit]) + (f" and {more} more" if more > 0 else "")


def stamp(ms: int | None) -> str:
    """Epoch ms as 'YYYY-MM-DD HH:MM UTC' (or 'never')."""
    if ms is None:
        return "never"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(now_ms: int, ms: int) -> str:
    """A duration in words: '3 min', '5 h', '9 days'."""
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
