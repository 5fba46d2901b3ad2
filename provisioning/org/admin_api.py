"""Synapse admin API (and the bits of the client API the bot needs), typed, over aiohttp.

Authenticated with the appservice `as_token`: requests act as the Carebridge bot, which
the Carebridge module makes a Synapse server admin. Every request that is not a GET is
counted in `writes`, so an idempotent re-apply can prove it wrote nothing. Errors come
back as mautrix.errors exceptions, by Matrix errcode. Nothing here logs
request bodies (they hold passwords and names).
"""

from __future__ import annotations

import logging
import os
import pwd
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mautrix.errors import MNotFound
from mautrix.types import RoomID, UserID

from bridge.core.synapse_http import ADMIN, CLIENT, SynapseHTTP, seg
from policy.session_reason import OPERATOR_PARAM

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SynapseUser:
    """A local account as Synapse's admin API lists it."""

    user_id: UserID
    displayname: str | None
    admin: bool
    deactivated: bool
    user_type: str | None = None
    creation_ts: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SynapseUser:
        return cls(
            user_id=UserID(data["name"]),
            displayname=data.get("displayname"),
            admin=bool(data.get("admin")),
            deactivated=bool(data.get("deactivated")),
            user_type=data.get("user_type"),
            creation_ts=data.get("creation_ts"),
        )


def email_threepids(email: str) -> list[dict[str, str]]:
    """The account's sign-in e-mail address as Synapse's admin API takes it (`threepids`):
    bound as the `email` 3PID, so the person can sign in with it (`m.id.thirdparty`).
    Sent in Synapse's canonical form (lower case) so a re-apply compares equal."""
    return [{"medium": "email", "address": email.strip().casefold()}]


class SynapseClient(SynapseHTTP):
    """The bot's Synapse connection with typed admin-API methods (see SynapseHTTP)."""

    # --- who am I --------------------------------------------------------------------
    async def whoami(self) -> UserID:
        """The bot's user id (checks the token works)."""
        data = await self.request("GET", f"{CLIENT}/account/whoami")
        return UserID(data["user_id"])

    async def check_admin(self, user_id: str) -> None:
        """Raise MForbidden if the bot is not a server admin (the module grants it)."""
        await self.request("GET", f"{ADMIN}/v2/users/{seg(user_id)}")

    # --- users -----------------------------------------------------------------------
    async def list_users(self, page_size: int = 1000) -> list[SynapseUser]:
        """Every local account, deactivated ones included (paged)."""
        users: list[SynapseUser] = []
        start = "0"
        while True:
            params = {"from": start, "limit": str(page_size), "guests": "false", "deactivated": "true"}
            data = await self.request("GET", f"{ADMIN}/v2/users", params=params)
            users.extend(SynapseUser.from_json(u) for u in data.get("users", []))
            next_token = data.get("next_token")
            if next_token is None:
                return users
            start = str(next_token)

    async def get_user(self, user_id: str) -> SynapseUser | None:
        """One account, or None if it does not exist."""
        try:
            data = await self.request("GET", f"{ADMIN}/v2/users/{seg(user_id)}")
        except MNotFound:
            return None
        return SynapseUser.from_json(data)

    async def create_user(self, user_id: str, password: str, displayname: str, email: str | None) -> None:
        """Create an account (never a server admin) with its initial password."""
        body: dict[str, Any] = {"password": password, "displayname": displayname, "admin": False}
        if email:
            body["threepids"] = email_threepids(email)
        await self.request("PUT", f"{ADMIN}/v2/users/{seg(user_id)}", body, kind="user.create")

    async def update_user(
        self,
        user_id: str,
        displayname: str | None = None,
        email: str | None = None,
        admin: bool | None = None,
    ) -> None:
        """Change display name, email and/or the server-admin flag of an existing account."""
        body: dict[str, Any] = {}
        if displayname is not None:
            body["displayname"] = displayname
        if email is not None:
            body["threepids"] = email_threepids(email)
        if admin is not None:
            body["admin"] = admin
        if body:
            await self.request("PUT", f"{ADMIN}/v2/users/{seg(user_id)}", body, kind="user.update")

    async def reactivate_user(self, user_id: str, password: str, displayname: str, email: str | None) -> None:
        """Bring a deactivated account back with a new initial password."""
        body: dict[str, Any] = {
            "deactivated": False,
            "password": password,
            "displayname": displayname,
            "admin": False,
        }
        if email:
            body["threepids"] = email_threepids(email)
        await self.request("PUT", f"{ADMIN}/v2/users/{seg(user_id)}", body, kind="user.reactivate")

    async def deactivate_user(self, user_id: str, operator: str | None = None) -> None:
        """Deactivate without erasing: sessions end, the user leaves rooms, messages stay.
        `operator` (an OS account name) is recorded as who closed the sessions."""
        await self.request(
            "POST",
            f"{ADMIN}/v1/deactivate/{seg(user_id)}{_operator_query(operator)}",
            {"erase": False},
            kind="user.deactivate",
        )

    async def reset_password(
        self, user_id: str, password: str, logout_devices: bool = True, operator: str | None = None
    ) -> None:
        """Set a new password; by default every session of the user ends (closed by
        `operator`, an OS account name, when given)."""
        await self.request(
            "POST",
            f"{ADMIN}/v1/reset_password/{seg(user_id)}{_operator_query(operator)}",
            {"new_password": password, "logout_devices": logout_devices},
            kind="user.reset_password",
        )

    # --- rooms -----------------------------------------------------------------------
    async def force_join(self, room_id: str, user_id: str) -> None:
        """Join a local user to a room (Synapse invites them first for invite-only rooms)."""
        await self.request("POST", f"{ADMIN}/v1/join/{seg(room_id)}", {"user_id": user_id}, kind="room.join")

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        """Every current state event of a room (admin API)."""
        data = await self.request("GET", f"{ADMIN}/v1/rooms/{seg(room_id)}/state")
        return list(data.get("state", []))

    async def create_room(
        self,
        alias_localpart: str,
        name: str,
        topic: str,
        power_levels: dict[str, Any],
        initial_state: list[dict[str, Any]],
    ) -> RoomID:
        """Create a private room as the bot, with its alias, power levels and state."""
        body = {
            "preset": "private_chat",
            "visibility": "private",
            "room_alias_name": alias_localpart,
            "name": name,
            "topic": topic,
            "power_level_content_override": power_levels,
            "initial_state": initial_state,
        }
        data = await self.request("POST", f"{CLIENT}/createRoom", body, kind="room.create")
        return RoomID(data["room_id"])

    async def send_state(
        self, room_id: str, event_type: str, content: dict[str, Any], state_key: str = ""
    ) -> str:
        """Set a state event as the bot; returns the event id."""
        path = f"{CLIENT}/rooms/{seg(room_id)}/state/{seg(event_type)}/{seg(state_key)}"
        data = await self.request("PUT", path, content, kind="room.state")
        return str(data.get("event_id", ""))

    async def kick(self, room_id: str, user_id: str, reason: str) -> None:
        """Remove a member from a room (history stays; they can no longer read on)."""
        await self.request(
            "POST",
            f"{CLIENT}/rooms/{seg(room_id)}/kick",
            {"user_id": user_id, "reason": reason},
            kind="room.kick",
        )


def _operator_query(operator: str | None) -> str:
    return f"?{OPERATOR_PARAM}={quote(operator)}" if operator else ""


def os_operator() -> str:
    """The operating-system account running this command (from the process uid)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return f"uid{os.getuid()}"


__all__ = ["SynapseClient", "SynapseUser"]
