"""Synapse callbacks for account life cycle: deactivation and password changes.

- `check_can_deactivate_user`: staff cannot deactivate (or erase) their own account
  (POST /account/deactivate); only an administrator, through the admin API that
  `carebridge user deactivate` calls (which never erases). Synapse answers the refusal
  with 403 M_FORBIDDEN "Deactivation of this user is forbidden" (the callback cannot
  choose the text).
- `on_user_deactivation_status_changed`: every deactivation (and reactivation) becomes an
  `org.carebridge.account` record sent as the bot into the administrators' room, so it is
  archived and the bridge marks the person deactivated in the directory. An erasure an
  administrator made through the admin API anyway is recorded (`erased: true`).
- A password change ends every other session, also when the client sent
  `logout_devices: false`: the password re-authentication inside POST /account/password
  is noticed (an auth checker that never authenticates anyone), and once the stored
  password hash changes, every session of that person except the one that changed it is
  ended and recorded as `password_change`.
45 CFR 164.308(a)(5)(ii)(D) password management, 164.312(b) audit controls,
164.312(c)(1) integrity (nothing is erased).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from synapse.module_api import ModuleApi

from policy.account_record import AccountRecord
from policy.event_types import ACCOUNT_EVENT_TYPE
from policy.module.config import ModuleConfig
from policy.module.guard import guarded
from policy.module.metrics import count_refusal
from policy.module.sessions import SessionRecorder, current_request
from policy.session_reason import LogoutCause, is_password_change_request
from policy.session_record import LogoutReason
from policy.staff_decision import Reason

log = logging.getLogger("carebridge.module")

POLL_MS = 200
POLL_FOR_MS = 30_000


def _password_digest(txn: Any, user_id: str) -> str | None:
    txn.execute("SELECT password_hash FROM users WHERE name = ?", (user_id,))
    row = txn.fetchone()
    if row is None or row[0] is None:
        return None
    return hashlib.sha256(str(row[0]).encode()).hexdigest()


def _devices(txn: Any, user_id: str) -> list[tuple[str, int]]:
    """(device id, when its token was last validated) of every session (never the token)."""
    txn.execute(
        "SELECT device_id, COALESCE(last_validated, 0) FROM access_tokens "
        "WHERE user_id = ? AND device_id IS NOT NULL",
        (user_id,),
    )
    return [(str(r[0]), int(r[1])) for r in txn.fetchall()]


def _erased(txn: Any, user_id: str) -> bool:
    txn.execute("SELECT 1 FROM erased_users WHERE user_id = ?", (user_id,))
    return txn.fetchone() is not None


class AccountRules:
    """Deactivation and password-change callbacks of the Carebridge module."""

    def __init__(self, config: ModuleConfig, api: ModuleApi, sessions: SessionRecorder) -> None:
        self.config = config
        self.api = api
        self.sessions = sessions

    def register(self) -> None:
        """Register the callbacks with Synapse."""
        self.api.register_third_party_rules_callbacks(
            check_can_deactivate_user=self.check_can_deactivate_user,
            on_user_deactivation_status_changed=self.on_user_deactivation_status_changed,
        )
        self.api.register_password_auth_provider_callbacks(
            auth_checkers={("m.login.password", ("password",)): self.note_password_change},
        )

    # --- deactivation ------------------------------------------------------------------
    @guarded(on_error=False)
    async def check_can_deactivate_user(self, user_id: str, by_admin: bool) -> bool:
        """Only an administrator (admin API) deactivates an account; never the person."""
        if by_admin:
            return True
        log.info("refused self-deactivation of %s", user_id)
        count_refusal(str(Reason.SELF_DEACTIVATION))
        return False

    @guarded(on_error=None)
    async def on_user_deactivation_status_changed(
        self, user_id: str, deactivated: bool, by_admin: bool
    ) -> None:
        """Record the change in the administrators' room (archived, read by the bridge)."""
        request = current_request()
        erased = deactivated and await self.api.run_db_interaction("carebridge_erased", _erased, user_id)
        if erased:
            count_refusal(str(Reason.ERASE_DETECTED))
            log.warning("account %s was deactivated WITH erasure by an administrator", user_id)
        record = AccountRecord(
            kind="deactivated" if deactivated else "reactivated",
            ts=int(self.api.get_current_time_msec()),
            user_id=user_id,
            by_admin=by_admin,
            actor=request.requester if request is not None else None,
            erased=bool(erased),
        )
        await self.sessions.emit(ACCOUNT_EVENT_TYPE, record.content())
        log.info("recorded %s of %s", record.kind, user_id)

    # --- password change ---------------------------------------------------------------
    @guarded(on_error=None)
    async def note_password_change(self, username: str, login_type: str, login_dict: Any) -> None:
        """Inside POST /account/password: watch for the new password hash (never read the
        password; never authenticate anyone: returns None)."""
        del login_type, login_dict
        request = current_request()
        if not is_password_change_request(request) or request is None or not request.requester:
            return None
        user_id = request.requester
        before = await self.api.run_db_interaction("carebridge_pw_digest", _password_digest, user_id)
        started = int(self.api.get_current_time_msec())
        self.api.delayed_background_call(
            POLL_MS, self._watch, user_id, before, started, desc="carebridge_password_change"
        )
        return None

    @guarded(on_error=None)
    async def _watch(self, user_id: str, before: str | None, started: int) -> None:
        now = int(self.api.get_current_time_msec())
        after = await self.api.run_db_interaction("carebridge_pw_digest", _password_digest, user_id)
        if after == before:
            if now - started < POLL_FOR_MS:
                self.api.delayed_background_call(
                    POLL_MS, self._watch, user_id, before, started, desc="carebridge_password_change"
                )
            return
        record = AccountRecord(
            kind="password_changed", ts=now, user_id=user_id, by_admin=False, actor=user_id
        )
        await self.sessions.emit(ACCOUNT_EVENT_TYPE, record.content())
        log.info("recorded password change of %s", user_id)
        await self._end_other_sessions(user_id, started)

    async def _end_other_sessions(self, user_id: str, started: int) -> None:
        """End every session but the one that re-authenticated for the change (its token
        was validated after `started`); Synapse already did this unless asked not to."""
        sessions = await self.api.run_db_interaction("carebridge_pw_devices", _devices, user_id)
        keep = {device for device, validated in sessions if validated >= started}
        others = sorted({device for device, _ in sessions} - keep)
        if not others:
            return
        count_refusal(str(Reason.PASSWORD_SESSIONS_KEPT))
        self.sessions.forced_causes[user_id] = LogoutCause(LogoutReason.PASSWORD_CHANGE)
        try:
            # ModuleApi.invalidate_access_token would do the same, but in Synapse 1.163 it
            # reads the Requester it gets back as a dict and fails; the device handler it
            # calls is what Synapse's own password change uses.
            await self.api._device_handler.delete_devices(user_id, others)
        finally:
            self.sessions.forced_causes.pop(user_id, None)
        log.info("password change of %s: ended %d other session(s)", user_id, len(others))
