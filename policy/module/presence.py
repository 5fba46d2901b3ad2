"""Presence across the whole organisation: every colleague sees who is online.

Synapse normally shares presence only between people who share a room, so a client's
"contacts online" would miss colleagues one has not talked to yet. This presence router
makes every local account interested in every local account's presence (the user
directory is the "all contacts" list). Interest is an explicit set of active accounts (refreshed every
half minute), never Synapse's "all users" marker, whose sync path requires the router to
name every syncing user and fails the sync for one it missed. 45 CFR 164.308(a)(4): presence reveals nothing
beyond online / offline and never leaves the server (no federation).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from synapse.module_api import ModuleApi

from policy.module.guard import guarded

log = logging.getLogger("carebridge.module")

USERS_CACHE_S = 30.0
NOBODY: dict[str, set[Any]] = {}
NO_ONE: set[str] | str = set()


class PresenceRules:
    """Presence-router callbacks for an organisation-wide presence list."""

    def __init__(self, api: ModuleApi) -> None:
        self.api = api
        self._users: list[str] = []
        self._loaded = 0.0

    def register(self) -> None:
        """Register the presence router."""
        self.api.register_presence_router_callbacks(
            get_users_for_states=self.get_users_for_states,
            get_interested_users=self.get_interested_users,
        )
        self.api.register_account_validity_callbacks(on_user_registration=self.on_user_registration)

    @guarded(on_error=None)
    async def on_user_registration(self, user_id: str) -> None:
        """A new colleague: refresh the list at the next presence question."""
        self._loaded = 0.0

    @guarded(on_error=NO_ONE)
    async def get_interested_users(self, user_id: str) -> set[str] | str:
        """Local accounts receive every active colleague's presence."""
        return set(await self._active_users()) if self.api.is_mine(user_id) else set()

    @guarded(on_error=NOBODY)
    async def get_users_for_states(self, state_updates: Iterable[Any]) -> dict[str, set[Any]]:
        """Wake every active local account's sync with each local presence change."""
        local = {s for s in state_updates if self.api.is_mine(s.user_id)}
        if not local:
            return {}
        return {user: set(local) for user in await self._active_users()}

    async def _active_users(self) -> list[str]:
        if not self._loaded or time.monotonic() - self._loaded > USERS_CACHE_S:

            def query(txn: Any) -> list[str]:
                txn.execute("SELECT name FROM users WHERE deactivated = 0 AND appservice_id IS NULL")
                return [str(row[0]) for row in txn.fetchall()]

            self._users = await self.api.run_db_interaction("carebridge_presence_users", query)
            self._loaded = time.monotonic()
        return self._users
