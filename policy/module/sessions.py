"""Login, logout and failed-login records from inside Synapse, sent down the durable pipe.

Callbacks (all public module API):
- `on_user_login` (account validity): a successful login. It carries no device id, so the
  newest access token's device is read with `ModuleApi.run_db_interaction` (the token
  itself is never selected).
- `on_logged_out` (password auth provider): one call per access token removed, from
  /logout, /logout/all, a password change, device deletion, deactivation or the admin
  API; the request being served tells which (policy.session_reason). The token argument
  is never read, logged or recorded.
- `check_login_for_spam` (spam checker): runs after a correct password, before the
  device is made; refuses logins outside allowed hours when the person's schedule says
  so (policy.shifts.login_decision) with a message they can act on.
- an auth checker for `m.login.password` that never authenticates anyone (it returns
  None, so Synapse still checks the password itself): it notes the attempt (user, IP,
  time; the password is not touched). An attempt that neither logs in nor is refused by
  us within FAILED_LOGIN_SETTLE_MS is recorded as a failed login.
- `check_3pid_auth` (password auth provider), for a sign-in with the e-mail address
  (`m.id.thirdparty`): Synapse asks it before it looks the address up, so an address that
  belongs to nobody is still noted (as an unknown account, without the address); a known
  address then reaches the auth checker above with its account. It never authenticates.

Each record is first committed to the module's durable outbox (policy/module/outbox.py, a
0600 SQLite file in `outbox_dir`), then sent from there with
`create_and_send_event_into_room` as the bot into the administrators' room, so the
appservice receives it in a normal transaction (archived, retried while the bridge is
down). Sends that fail stay in the outbox, in order, and are retried every few seconds and
after a restart: a Synapse crash between a sign-in and its delivery loses nothing.
45 CFR 164.312(b) audit controls, 164.308(a)(5)(ii)(C) log-in monitoring.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from synapse.api.errors import Codes
from synapse.module_api import ModuleApi

from policy.event_types import SESSION_EVENT_TYPE
from policy.module.config import ModuleConfig
from policy.module.guard import guarded
from policy.module.login_hours import LoginHours
from policy.module.metrics import count_refusal
from policy.module.outbox import Record, SessionOutbox, outbox_path
from policy.session_reason import LogoutCause, RequestFacts, classify_logout, is_login_request
from policy.session_record import FailureReason, Kind, SessionRecord
from policy.sign_in_limit import PASSWORD_LOGIN, Check

log = logging.getLogger("carebridge.module")

SpamVerdict = Literal["NOT_SPAM"] | tuple[Codes, dict[str, Any]]
NOT_SPAM: SpamVerdict = "NOT_SPAM"
FAILED_LOGIN_SETTLE_MS = 10_000
RETRY_MS = 5_000
OUTBOX_MAX = 100_000
MAX_UA = 512


def current_request() -> RequestFacts | None:
    """Facts of the HTTP request Synapse is serving in this call chain (None outside one).

    Read from Synapse's logging context, which carries the client IP, user agent, method,
    redacted URL and authenticated user of the request (never its body or token).
    """
    from synapse.logging.context import current_context

    request = getattr(current_context(), "request", None)
    if request is None:
        return None
    return RequestFacts(
        method=str(request.method),
        url=str(request.url),
        requester=request.authenticated_entity or request.requester,
        ip=request.ip_address or None,
        user_agent=(request.user_agent or None) and str(request.user_agent)[:MAX_UA],
        request_id=request.request_id,
    )


def _newest_device(txn: Any, user_id: str) -> str | None:
    txn.execute("SELECT device_id FROM access_tokens WHERE user_id = ? ORDER BY id DESC LIMIT 1", (user_id,))
    row = txn.fetchone()
    return str(row[0]) if row and row[0] is not None else None


class PasswordCheck(StrEnum):
    """What the module saw of a password in a request the sign-in limit watches."""

    NOT_CHECKED = "not-checked"  # Synapse answered before checking it (bad request, limits)
    CHECKED = "checked"  # checked; wrong unless Synapse's answer says otherwise
    RIGHT = "right"  # a sign-in went on after the password (logged in, or refused for the hour)


def user_by_email(txn: Any, address: str) -> str | None:
    """The account an e-mail address is bound to (addresses are stored in lower case)."""
    txn.execute("SELECT user_id FROM user_threepids WHERE medium = ? AND address = ?", ("email", address))
    row = txn.fetchone()
    return str(row[0]) if row else None


@dataclass
class _Attempt:
    user_id: str | None  # None: no account has the e-mail address that was typed
    ts: int
    ip: str | None
    user_agent: str | None


class SessionRecorder:
    """Registers the session callbacks and delivers their records to the admins' room."""

    def __init__(self, config: ModuleConfig, api: ModuleApi) -> None:
        self.config = config
        self.api = api
        self.login_hours = LoginHours(config.policy_file)
        self._room_id: str | None = None
        self._outbox = SessionOutbox(outbox_path(config.outbox_dir, api.worker_name))
        if config.outbox_dir is None:
            log.warning("no outbox_dir configured: audit records wait for delivery in memory only")
        # Sessions the module itself ends (a password change that asked to keep them):
        # user id -> the cause to record instead of the (absent) request's.
        self.forced_causes: dict[str, LogoutCause] = {}
        self._flushing = False
        self._attempts: dict[str, _Attempt] = {}
        # Requests the sign-in limit watches (policy/module/sign_in_limit.py): request id ->
        # what became of the password in it (PasswordCheck).
        self._watched: dict[str, PasswordCheck] = {}
        api.register_account_validity_callbacks(on_user_login=self.on_user_login)
        api.register_password_auth_provider_callbacks(
            on_logged_out=self.on_logged_out,
            auth_checkers={("m.login.password", ("password",)): self.note_password_attempt},
            check_3pid_auth=self.note_3pid_attempt,
        )
        api.register_spam_checker_callbacks(check_login_for_spam=self.check_login_for_spam)
        api.looping_background_call(
            self.flush, RETRY_MS, desc="carebridge_session_outbox", run_on_all_instances=True
        )

    # --- callbacks -------------------------------------------------------------------
    @guarded(on_error=None)
    async def on_user_login(
        self, user_id: str, auth_provider_type: str | None, auth_provider_id: str | None
    ) -> None:
        """A login succeeded: record user, device, IP, client, time and method."""
        request = current_request()
        if request is not None and request.request_id is not None:
            self._attempts.pop(request.request_id, None)
            self._mark(request.request_id, PasswordCheck.RIGHT)
        device_id = await self.api.run_db_interaction("carebridge_newest_device", _newest_device, user_id)
        await self._emit(
            SessionRecord(
                kind=Kind.LOGIN,
                ts=self._now(),
                user_id=user_id,
                device_id=device_id,
                ip=request.ip if request else None,
                user_agent=request.user_agent if request else None,
                method=auth_provider_type or auth_provider_id,
            )
        )
        log.info("recorded login of %s device %s", user_id, device_id)

    @guarded(on_error=None)
    async def on_logged_out(self, user_id: str, device_id: str | None, access_token: str) -> None:
        """A session ended: record which device, when, and why (never the token)."""
        del access_token  # deliberately unused: tokens never leave Synapse
        request = current_request()
        cause = self.forced_causes.get(user_id) or classify_logout(request, user_id, self.config.bot_user_id)
        await self._emit(
            SessionRecord(
                kind=Kind.LOGOUT,
                ts=self._now(),
                user_id=user_id,
                device_id=device_id,
                ip=request.ip if request else None,
                user_agent=request.user_agent if request else None,
                reason=cause.reason.value,
                actor=cause.actor,
                detail=cause.detail,
            )
        )
        log.info("recorded logout of %s device %s (%s)", user_id, device_id, cause.reason.value)

    @guarded(on_error=None)
    async def note_password_attempt(self, username: str, login_type: str, login_dict: Any) -> None:
        """Note a password check; never authenticates (returns None) and never reads the
        password. A sign-in is settled by the timer below; a re-authentication inside
        another request is settled by the sign-in limit once Synapse has answered."""
        del login_type, login_dict
        user_id = username if username.startswith("@") else self.api.get_qualified_user_id(username)
        self._note_attempt(user_id.lower(), checked=True)
        return None

    @guarded(on_error=None)
    async def note_3pid_attempt(self, medium: str, address: str, password: str) -> None:
        """Note a sign-in by e-mail address before Synapse looks the address up; never
        authenticates (returns None) and never reads the password or keeps the address."""
        del medium, address, password
        self._note_attempt(None, checked=False)
        return None

    def _note_attempt(self, user_id: str | None, checked: bool) -> None:
        """Remember this login request's attempt (a later note for the same request names
        the account); it is settled once, FAILED_LOGIN_SETTLE_MS after the first note."""
        request = current_request()
        if request is None or request.request_id is None:
            return
        if checked:
            self._mark(request.request_id, PasswordCheck.CHECKED)
        if not is_login_request(request):
            return
        first = request.request_id not in self._attempts
        self._attempts[request.request_id] = _Attempt(user_id, self._now(), request.ip, request.user_agent)
        if first:
            self.api.delayed_background_call(
                FAILED_LOGIN_SETTLE_MS, self._settle, request.request_id, desc="carebridge_failed_login"
            )

    @guarded(on_error=NOT_SPAM)
    async def check_login_for_spam(
        self,
        user_id: str,
        device_id: str | None,
        initial_display_name: str | None,
        request_info: Collection[tuple[str | None, str]],
        auth_provider_id: str | None,
    ) -> SpamVerdict:
        """Refuse a login outside allowed hours (only for schedules with login_hours_only)."""
        del initial_display_name, auth_provider_id
        request = current_request()
        if request is not None and request.request_id is not None:
            self._attempts.pop(request.request_id, None)
            self._mark(request.request_id, PasswordCheck.RIGHT)  # refused later, for the hour
        decision = self.login_hours.decide(user_id, datetime.fromtimestamp(self._now() / 1000, UTC))
        if decision.allowed:
            return NOT_SPAM
        user_agent, ip = next(iter(request_info), (None, None))
        await self._emit(
            SessionRecord(
                kind=Kind.FAILED_LOGIN,
                ts=self._now(),
                user_id=user_id,
                device_id=device_id,
                ip=ip or (request.ip if request else None),
                user_agent=(user_agent or (request.user_agent if request else None) or None),
                reason=FailureReason.OUTSIDE_ALLOWED_HOURS.value,
            )
        )
        count_refusal(decision.reason)
        log.info("refused login of %s: %s", user_id, decision.reason)
        return Codes.FORBIDDEN, {"error": decision.message}

    # --- failed attempts -------------------------------------------------------------
    @guarded(on_error=None)
    async def _settle(self, request_id: str) -> None:
        attempt = self._attempts.pop(request_id, None)
        if attempt is None:
            return  # the login went through (or we refused it and recorded that)
        user_id: str | None = attempt.user_id
        info = await self.api.get_userinfo_by_id(user_id) if user_id is not None else None
        if info is None:
            reason, user_id = FailureReason.UNKNOWN_USER, None  # may be a mistyped password
        elif info.is_deactivated:
            reason = FailureReason.ACCOUNT_DEACTIVATED
        elif getattr(info, "locked", False):
            reason = FailureReason.ACCOUNT_LOCKED
        else:
            reason = FailureReason.WRONG_PASSWORD
        await self._emit(
            SessionRecord(
                kind=Kind.FAILED_LOGIN,
                ts=attempt.ts,
                user_id=user_id,
                ip=attempt.ip,
                user_agent=attempt.user_agent,
                reason=reason.value,
            )
        )
        log.info("recorded failed login (%s) for %s", reason.value, user_id or "an unknown user")

    def watch_password_check(self, request_id: str) -> None:
        """The sign-in limit wants to know whether this request checks a password."""
        self._watched[request_id] = PasswordCheck.NOT_CHECKED

    def password_check(self, request_id: str) -> PasswordCheck:
        """What became of the password in the request (and stop watching it)."""
        return self._watched.pop(request_id, PasswordCheck.NOT_CHECKED)

    def _mark(self, request_id: str, state: PasswordCheck) -> None:
        if request_id in self._watched:
            self._watched[request_id] = state

    @guarded(on_error=None)
    async def record_wrong_password(
        self,
        request_id: str,
        check: Check,
        user_id: str,
        ts: int,
        ip: str | None,
        user_agent: str | None,
        detail: str | None,
    ) -> None:
        """A wrong password, as the sign-in limit saw Synapse answer it: a sign-in is
        recorded at once as the timer would (if it has not yet); a re-authentication is
        a failed sign-in naming where it happened."""
        if check is Check.LOGIN:
            await self._settle(request_id)
            return
        await self._emit(
            SessionRecord(
                kind=Kind.FAILED_LOGIN,
                ts=ts,
                user_id=user_id,
                ip=ip,
                user_agent=user_agent,
                method=PASSWORD_LOGIN,
                reason=FailureReason.WRONG_PASSWORD.value,
                detail=detail,
            )
        )
        log.info("recorded a wrong password for %s (%s)", user_id, detail)

    @guarded(on_error=None)
    async def record_rate_limited(
        self, typed: str | None, ip: str | None, user_agent: str | None, detail: str | None = None
    ) -> None:
        """A password check refused for the sign-in limit (Synapse's rc_login, seen by
        policy/module/login_limits.py, or the module's own shared count): a failed login
        with reason rate_limited, naming the account only if it exists (what was typed in
        the user field may be a password). An e-mail address names the account it is
        bound to."""
        user_id: str | None = None
        if typed and "@" in typed and not typed.startswith("@"):
            user_id = await self.api.run_db_interaction(
                "carebridge_user_by_email", user_by_email, typed.strip().lower()
            )
        elif typed:
            try:
                candidate = typed if typed.startswith("@") else self.api.get_qualified_user_id(typed)
            except Exception:  # noqa: BLE001 - not a valid user name
                candidate = None
            if candidate and await self.api.get_userinfo_by_id(candidate.lower()) is not None:
                user_id = candidate.lower()
        await self._emit(
            SessionRecord(
                kind=Kind.FAILED_LOGIN,
                ts=self._now(),
                user_id=user_id,
                ip=ip,
                user_agent=user_agent,
                reason=FailureReason.RATE_LIMITED.value,
                detail=detail,
            )
        )
        log.info("recorded rate-limited sign-in for %s", user_id or "an unknown user")

    # --- delivery --------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.api.get_current_time_msec())

    async def _emit(self, record: SessionRecord) -> None:
        await self.emit(SESSION_EVENT_TYPE, record.content())

    async def emit(self, event_type: str, content: dict[str, Any]) -> None:
        """Queue one audit record for the administrators' room and try to deliver it."""
        if len(self._outbox) >= OUTBOX_MAX:
            log.error("session outbox holds %d undelivered records; is Synapse healthy?", OUTBOX_MAX)
        self._outbox.put(event_type, content)
        await self.flush()

    @guarded(on_error=None)
    async def flush(self) -> None:
        """Send stored records in order; stop at the first failure (retried later)."""
        if self._flushing:
            return
        self._flushing = True
        try:
            while (item := self._outbox.oldest()) is not None:
                record_id, record = item
                try:
                    await self._send(record)
                except Exception as exc:  # noqa: BLE001 - keep the record, retry later
                    log.warning(
                        "session record not sent yet (%s); %d waiting", type(exc).__name__, len(self._outbox)
                    )
                    self._room_id = None
                    return
                self._outbox.remove(record_id)
        finally:
            self._flushing = False

    async def _send(self, record: Record) -> None:
        if self._room_id is None:
            self._room_id, _ = await self.api.lookup_room_alias(self.config.admin_room_alias)
        await self.api.create_and_send_event_into_room(
            {
                "type": record[0],
                "room_id": self._room_id,
                "sender": self.config.bot_user_id,
                "content": record[1],
            }
        )
