"""Gathering the facts (all the I/O of a compliance report): the files in force, the
compliance database, `archive verify`, and Synapse's admin API as the bot.

Each group is read on its own; a group that fails is recorded in `Facts.unreadable` by
error type (never the message, which may carry a URL with a password) and its checks say
"could not check". Nothing read here is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.chain_key import chain_key_for
from bridge.archive.chain_walk import Progress
from bridge.archive.heads import PublishedHead, published_heads
from bridge.archive.verify import verify_archive
from bridge.compliance.safeguards import gather_db
from bridge.compliance.safeguards.gather_files import (
    heads_log_facts,
    key_facts,
    registration_config,
    settings_facts,
)
from bridge.compliance.safeguards.ledger import check_history, recorded_backups
from bridge.compliance.safeguards.model import Account, Facts, VerifyFacts
from bridge.core.clock import now_ms
from bridge.core.synapse_http import ADMIN, SynapseHTTP, seg
from config.homeserver import homeserver_config
from config.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class Gatherer:
    """Collects Facts for one deployment."""

    def __init__(
        self, settings: Settings, engine: AsyncEngine, as_token: str, progress: Progress | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.as_token = as_token
        self.progress = progress  # told the archive rows verified so far
        self.unreadable: dict[str, str] = {}

    async def _try(self, group: str, work: Awaitable[T]) -> T | None:
        try:
            return await work
        except Exception as exc:  # noqa: BLE001 - reported as "could not check", by type only
            self.unreadable[group] = type(exc).__name__
            log.warning("compliance facts: %s unreadable (%s)", group, type(exc).__name__)
            return None

    def _try_sync(self, group: str, work: Any) -> Any:
        try:
            return work()
        except Exception as exc:  # noqa: BLE001 - as _try
            self.unreadable[group] = type(exc).__name__
            return None

    async def facts(self) -> tuple[Facts, dict[str, int]]:
        """(facts, check history) as of now."""
        s = self.settings
        now = now_ms()
        homeserver = self._try_sync("homeserver", lambda: homeserver_config(s))
        activity = await self._try("activity", gather_db.activity_facts(self.engine, now))
        # Devices matter for accounts that should have none (deactivated, removed); every
        # account's are read only while the ledger has no sign-in at all (to tell "nobody
        # signed in" from "sign-ins are not recorded"): 5,000 people are 5,000 requests.
        every_device = activity is None or activity.last_session_record_ms is None
        async with SynapseHTTP(s.synapse.url, self.as_token, concurrency=8, timeout=60) as http:
            accounts = await self._try("accounts", self._accounts(http, every_device))
            members = await self._try("admin_room", self._admin_room_members(http))
            verify = await self._try("verify", self._verify(http))
            synapse_version = await self._try("synapse_version", self._synapse_version(http))
        live = await self._try("live", probe_synapse(s.synapse.url))
        facts = Facts(
            now_ms=now,
            organization=await self._organization(),
            carebridge_version=_package_version("carebridge"),
            synapse_version=synapse_version,
            settings=settings_facts(s),
            homeserver=homeserver.values if homeserver else None,
            registration=self._try_sync("registration", lambda: registration_config(s)),
            production=bool(homeserver and homeserver.production_overlay),
            keys=self._try_sync("keys", lambda: key_facts(s)),
            archive=await self._try("archive", gather_db.archive_facts(self.engine)),
            verify=verify,
            accounts=accounts,
            bot_user_id=s.bot_user_id,
            admin_room_members=members,
            backups=await self._try("backups", recorded_backups(self.engine)),
            activity=activity,
            heads_log=self._try_sync("heads_log", lambda: heads_log_facts(s)),
            live=live or {},
            unreadable=dict(self.unreadable),
        )
        history = await self._try("history", check_history(self.engine)) or {}
        return facts, history

    async def _organization(self) -> str:
        name = await self._try("organization", gather_db.organization_name(self.engine))
        return name or self.settings.organization_name

    async def _synapse_version(self, http: SynapseHTTP) -> str | None:
        data = await http.request("GET", f"{ADMIN}/v1/server_version")
        value = data.get("server_version")
        return str(value) if value else None

    async def _verify(self, http: SynapseHTTP) -> VerifyFacts:
        """`archive verify` now: the chain always (it needs no Synapse), against the heads
        published in Synapse when they can be read (else the tail is said to be unchecked)."""
        s = self.settings
        heads: list[PublishedHead] | None
        try:
            room_id = await http.resolve_alias(s.admin_room_alias)
            heads = [h async for h in published_heads(http, room_id, s.bot_user_id)]
        except Exception as exc:  # noqa: BLE001 - reported by type; the chain is still walked
            self.unreadable["published_heads"] = type(exc).__name__
            heads = None
        report = await verify_archive(
            self.engine,
            heads,
            s.path(s.archive.media_dir),
            progress=self.progress,
            chain_key=chain_key_for(s.path(s.archive.key_file), s.archive.key_env),
            heads_log=s.path(s.archive.heads_log),
        )
        return VerifyFacts(
            ok=report.ok,
            rows=report.rows,
            problems=tuple(f"{p.kind} at row {p.seq}" for p in report.problems),
            tail_checked=report.tail_checked,
            heads_checked=report.heads_checked,
            newest_head_ms=max((h.published_ts for h in heads or ()), default=None),
        )

    async def _admin_room_members(self, http: SynapseHTTP) -> frozenset[str]:
        room_id = await http.resolve_alias(self.settings.admin_room_alias)
        data = await http.request("GET", f"{ADMIN}/v1/rooms/{seg(room_id)}/members")
        return frozenset(str(m) for m in data.get("members", []))

    async def _synapse_users(self, http: SynapseHTTP) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        start = "0"
        while True:
            params = {"from": start, "limit": "500", "guests": "true", "deactivated": "true"}
            data = await http.request("GET", f"{ADMIN}/v2/users", params=params)
            users.extend(u for u in data.get("users", []) if isinstance(u, dict))
            if data.get("next_token") is None:
                return users
            start = str(data["next_token"])

    async def _devices(self, http: SynapseHTTP, user_id: str) -> int:
        data = await http.request("GET", f"{ADMIN}/v2/users/{seg(user_id)}/devices")
        return int(data.get("total", len(data.get("devices", []))))

    async def _accounts(self, http: SynapseHTTP, every_device: bool) -> tuple[Account, ...]:
        bot = self.settings.bot_user_id
        synapse = [u for u in await self._synapse_users(http) if u.get("name") != bot]
        people = await gather_db.directory_people(self.engine)

        async def devices_of(user: dict[str, Any]) -> int | None:
            known = people.get(str(user["name"]))
            gone = bool(user.get("deactivated")) or (known is not None and not known.active)
            return await self._devices(http, str(user["name"])) if gone or every_device else None

        devices = await asyncio.gather(*(devices_of(u) for u in synapse))
        accounts = []
        for user, count in zip(synapse, devices, strict=True):
            user_id = str(user["name"])
            known = people.get(user_id)
            accounts.append(
                Account(
                    user_id=user_id,
                    synapse_admin=bool(user.get("admin")),
                    synapse_deactivated=bool(user.get("deactivated")),
                    user_type=user.get("user_type") or ("guest" if user.get("is_guest") else None),
                    in_directory=known is not None,
                    role=known.role if known else None,
                    active=known.active if known else None,
                    created_ms=known.created_ms if known else user.get("creation_ts"),
                    devices=count,
                    open_sessions=known.open_sessions if known else 0,
                    ever_signed_in=known.ever_signed_in if known else False,
                    initial_password=known.initial_password if known else None,
                )
            )
        return tuple(accounts)


async def probe_synapse(base_url: str) -> dict[str, bool]:
    """Ask the running Synapse, as an anonymous client would, whether it takes registrations
    (an empty /register answers 403 when closed, 401 with the steps when open: nothing is
    created either way) and whether it answers the federation API on its client listener."""
    found: dict[str, bool] = {}
    base = base_url.rstrip("/")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        async with session.post(f"{base}/_matrix/client/v3/register", json={}) as resp:
            if resp.status in (401, 403):
                found["registration_open"] = resp.status == 401
        async with session.get(f"{base}/_matrix/federation/v1/version") as resp:
            if resp.status in (200, 400, 404):
                found["federation_served"] = resp.status == 200
    return found


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"
