"""Account records from the Synapse module: a deactivation shows in the directory, and a
password the person changed (in any client) clears their initial-password mark.

A Dispatcher consumer. The module sends an `org.carebridge.account` event as the bot into
the administrators' room for every deactivation (or reactivation), whoever made it; the
event itself is archived like every other, and this marks the person deactivated in the
directory, so `carebridge user list` shows it even when the admin API was used directly.
Idempotent: applying a record twice changes nothing. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bridge.archive.writer import ArchivedEvent
from bridge.core.clock import now_ms
from bridge.db.directory import Directory
from bridge.db.initial_passwords import InitialPasswords
from policy.account_record import parse_account_record
from policy.event_types import ACCOUNT_EVENT_TYPE

log = logging.getLogger(__name__)


class AccountLedger:
    """Keeps directory_users.active in step with Synapse's deactivations."""

    def __init__(
        self,
        directory: Directory,
        bot_user_id: str,
        admin_room: Callable[[], str | None],
        initial_passwords: InitialPasswords | None = None,
    ) -> None:
        self.directory = directory
        self.initial_passwords = initial_passwords or InitialPasswords(directory.engine)
        self.bot_user_id = bot_user_id
        self.admin_room = admin_room

    async def handle(self, archived: ArchivedEvent) -> None:
        """Dispatcher entry point: apply an account record sent by the module."""
        event = archived.event
        if event.get("type") != ACCOUNT_EVENT_TYPE:
            return
        if event.get("sender") != self.bot_user_id or event.get("room_id") != self.admin_room():
            log.warning("ignored an account record not sent by the module: event %s", event.get("event_id"))
            return
        try:
            record = parse_account_record(event.get("content"))
        except ValueError as exc:
            log.warning("malformed account record %s: %s", event.get("event_id"), exc)
            return
        if record.kind == "password_changed":
            await self.initial_passwords.clear(record.user_id)
            log.info("%s chose their own password (event %s)", record.user_id, event.get("event_id"))
            return
        row = await self.directory.user(record.user_id)
        if row is None:
            log.info("account record for %s, who is not in the directory", record.user_id)
            return
        if record.kind == "deactivated" and row.active:
            ts = now_ms()
            await self.directory.upsert_users(
                [replace(row, active=False, updated_ts=ts, deactivated_ts=record.ts)]
            )
            log.info("marked %s deactivated (event %s)", record.user_id, event.get("event_id"))
