"""The sign-in limit at every password check (policy/sign_in_limit.py), in front of Synapse.

Synapse gives a module no say before a password is checked (an auth checker that raises
is ignored) and no callback when a re-authentication fails. So the request guard sends
every request that carries a password (`/login`, and the user-interactive `auth` of
`/account/password`, `/account/deactivate`, device deletion, ...) through `check` first:

1. the account typed is looked up (no account: Synapse answers, limited per address);
2. its wrong-password bucket is read and, unless full, this attempt is counted (one
   transaction in Synapse's database); full: 429 `M_LIMIT_EXCEEDED` with
   `retry_after_ms`, and a failed sign-in record with reason `rate_limited`;
3. when Synapse has answered, the attempt is given back if the password was right (the
   session recorder's auth checker saw it checked, and Synapse did not answer 401 in a
   re-authentication / 403 at `/login`); a wrong one stays counted and is recorded as a
   failed sign-in (`wrong_password`; a re-authentication names its endpoint in `detail`).

Where the count lives: the table `carebridge_sign_in_failures` in **Synapse's own
database**, the one store every Synapse worker shares and that survives a restart. Synapse's
`rc_login` counters live in each process's memory, so behind a load balancer (or after a
restart) a guesser would get a fresh five tries; this count does not reset. Only accounts
that exist get a row (what people type as a user name may be a password), and fully drained
rows are deleted. 45 CFR 164.308(a)(5)(ii)(C) log-in monitoring; 164.312(a)(1) access control.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Any

from twisted.web.resource import Resource

from policy.event_types import REASON_KEY
from policy.module.checked_resource import CheckedResource
from policy.module.metrics import count_refusal
from policy.module.request_guard import JsonAnswer, json_body
from policy.module.sessions import PasswordCheck, SessionRecorder, user_by_email
from policy.sign_in_limit import (
    LIMIT_EXCEEDED,
    Bucket,
    PasswordAttempt,
    Rate,
    SignInReason,
    SignInVerdict,
    drained,
    failed_status,
    is_email_address,
    locked_message,
    might_check_password,
    password_attempt,
    refund,
    reserve,
)

if TYPE_CHECKING:
    from synapse.module_api import ModuleApi

log = logging.getLogger("carebridge.module")

TABLE = "carebridge_sign_in_failures"
PRUNE_MS = 3600_000
MAX_BODY = 64 * 1024
MAX_UA = 512
LOST_SETTLE_MS = 10_000
CONFLICT_RETRIES = 20
CONFLICTS = frozenset({"40001", "40P01"})  # serialization failure, deadlock (PostgreSQL)


# The statements name the table literally (TABLE above); parameters use Synapse's `?` style.
_CREATE = (
    "CREATE TABLE IF NOT EXISTS carebridge_sign_in_failures (user_id TEXT NOT NULL PRIMARY KEY,"
    " level DOUBLE PRECISION NOT NULL, at_ms BIGINT NOT NULL)"
)
_INSERT = (
    "INSERT INTO carebridge_sign_in_failures (user_id, level, at_ms) VALUES (?, 0, ?)"
    " ON CONFLICT (user_id) DO NOTHING"
)
_SELECT = "SELECT level, at_ms FROM carebridge_sign_in_failures WHERE user_id = ?"
_UPDATE = "UPDATE carebridge_sign_in_failures SET level = ?, at_ms = ? WHERE user_id = ?"
_DELETE = "DELETE FROM carebridge_sign_in_failures WHERE user_id = ?"
_ALL = "SELECT user_id, level, at_ms FROM carebridge_sign_in_failures"


def _create(txn: Any) -> None:
    txn.execute(_CREATE)


def _read(txn: Any, user_id: str, now: int) -> Bucket:
    txn.execute(_INSERT, (user_id, now))
    txn.execute(_SELECT, (user_id,))
    level, at_ms = txn.fetchone()
    return Bucket(float(level), int(at_ms))


def _store(txn: Any, user_id: str, bucket: Bucket) -> None:
    if bucket.level <= 0:
        txn.execute(_DELETE, (user_id,))
    else:
        txn.execute(_UPDATE, (bucket.level, bucket.at_ms, user_id))


def _reserve_txn(txn: Any, user_id: str, rate: Rate, now: int) -> SignInVerdict:
    verdict = reserve(_read(txn, user_id, now), rate, now)
    _store(txn, user_id, verdict.bucket)
    return verdict


def _refund_txn(txn: Any, user_id: str, rate: Rate, now: int) -> None:
    _store(txn, user_id, refund(_read(txn, user_id, now), rate, now))


def _prune_txn(txn: Any, rate: Rate, now: int) -> int:
    txn.execute(_ALL)
    rows = txn.fetchall()
    gone = [row[0] for row in rows if drained(Bucket(float(row[1]), int(row[2])), rate, now) <= 0]
    for user_id in gone:
        txn.execute(_DELETE, (user_id,))
    return len(gone)


def client_facts(request: Any) -> tuple[str | None, str | None]:
    """(client address, user agent) of a SynapseRequest."""
    ip = request.get_client_ip_if_available() or None
    agent = request.getHeader("User-Agent")
    return ip, (str(agent)[:MAX_UA] if agent else None)


class SignInLimiter:
    """Counts wrong passwords per account across /login and every re-authentication."""

    def __init__(self, api: ModuleApi, recorder: SessionRecorder, rate: Rate) -> None:
        self.api = api
        self.recorder = recorder
        self.rate = rate
        self._table_ready = False
        if api.should_run_background_tasks():
            api.looping_background_call(self.prune, PRUNE_MS, desc="carebridge_sign_in_prune")

    # --- the guard's entry point -------------------------------------------------------
    def wrap(self, child: Resource, request: Any, method: str, path: str, failed: Resource) -> Resource:
        """`child` itself, or a CheckedResource when the request carries a password."""
        if not might_check_password(method, path):
            return child
        attempt = password_attempt(method, path, json_body(request))
        if attempt is None:
            return child
        return CheckedResource(child, lambda req: self.check(req, attempt), failed, "sign_in_limit")

    async def check(self, request: Any, attempt: PasswordAttempt) -> Resource | None:
        """Refuse (429) if the account's bucket is full; otherwise count the attempt and
        settle it when Synapse has answered."""
        user_id = await self._account(attempt.typed_user)
        if user_id is None:
            return None
        now = self._now()
        verdict: SignInVerdict = await self._db(
            "carebridge_sign_in_reserve", _reserve_txn, user_id, self.rate, now
        )
        ip, agent = client_facts(request)
        if not verdict.allowed:
            count_refusal(SignInReason.LOCKED.value)
            log.info("refused a password check for %s: locked for %d ms", user_id, verdict.retry_after_ms)
            record = self.recorder.record_rate_limited
            self.api.run_as_background_process(
                "carebridge_sign_in_locked", record, user_id, ip, agent, attempt.detail
            )
            return locked_answer(verdict.retry_after_ms)
        request_id = str(request.get_request_id())
        self.recorder.watch_password_check(request_id)
        args = (request, request_id, attempt, user_id, now, ip, agent)
        finished = request.notifyFinish()
        finished.addCallback(lambda _: self._settle_soon(args, 0))
        # The client went away: Synapse still answers (and sets the code); read it later.
        finished.addErrback(lambda _: self._settle_soon(args, LOST_SETTLE_MS))
        return None

    # --- after Synapse answered --------------------------------------------------------
    def _settle_soon(self, args: tuple[Any, ...], delay: int) -> None:
        if delay:
            self.api.delayed_background_call(delay, self._settle, *args, desc="carebridge_sign_in_settle")
        else:
            self.api.run_as_background_process("carebridge_sign_in_settle", self._settle, *args)

    async def _settle(
        self,
        request: Any,
        request_id: str,
        attempt: PasswordAttempt,
        user_id: str,
        ts: int,
        ip: str | None,
        agent: str | None,
    ) -> None:
        seen = self.recorder.password_check(request_id)
        status = int(getattr(request, "code", 0) or 0)
        if seen is PasswordCheck.CHECKED and status == failed_status(attempt.check):
            record = self.recorder.record_wrong_password
            await record(request_id, attempt.check, user_id, ts, ip, agent, attempt.detail)
            return
        await self._db("carebridge_sign_in_refund", _refund_txn, user_id, self.rate, self._now())

    # --- helpers -------------------------------------------------------------------------
    async def _account(self, typed: str) -> str | None:
        if is_email_address(typed):
            found = await self.api.run_db_interaction(
                "carebridge_user_by_email", user_by_email, typed.strip().lower()
            )
            return str(found).lower() if found else None
        try:
            user_id = (typed if typed.startswith("@") else self.api.get_qualified_user_id(typed)).lower()
        except Exception:  # noqa: BLE001 - not a valid user name: no account to protect
            return None
        info = await self.api.get_userinfo_by_id(user_id)
        return None if info is None else user_id

    async def _db(self, desc: str, func: Any, *args: Any) -> Any:
        """Run one transaction; on PostgreSQL, parallel attempts on one account conflict
        (Synapse's transactions are REPEATABLE READ) and Synapse's own five quick retries
        can run out, so a conflict is tried again after a short random pause."""
        if not self._table_ready:
            await self.api.run_db_interaction("carebridge_sign_in_table", _create)
            self._table_ready = True
        for attempt in range(CONFLICT_RETRIES):
            try:
                return await self.api.run_db_interaction(desc, func, *args)
            except Exception as exc:
                if getattr(exc, "pgcode", None) not in CONFLICTS or attempt == CONFLICT_RETRIES - 1:
                    raise
                await self.api.sleep((5 + secrets.randbelow(45)) / 1000)
        raise AssertionError("unreachable")

    async def prune(self) -> None:
        """Delete the rows of accounts whose bucket has drained (hourly, one process)."""
        try:
            removed = await self._db("carebridge_sign_in_prune", _prune_txn, self.rate, self._now())
        except Exception as exc:  # noqa: BLE001 - tried again next hour
            log.warning("could not prune the sign-in counts: %s", type(exc).__name__)
            return
        if removed:
            log.info("pruned %d drained sign-in counts", removed)

    def _now(self) -> int:
        return int(self.api.get_current_time_msec())


def locked_answer(retry_after_ms: int) -> Resource:
    """The 429 a locked account's password check gets (the same errcode as /login's)."""
    seconds = max(1, (retry_after_ms + 999) // 1000)
    return JsonAnswer(
        429,
        {
            "errcode": LIMIT_EXCEEDED,
            "error": locked_message(retry_after_ms),
            "retry_after_ms": retry_after_ms,
            REASON_KEY: SignInReason.LOCKED.value,
        },
        headers={b"Retry-After": str(seconds).encode("ascii")},
    )
