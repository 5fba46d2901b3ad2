"""Helpers for the compliance integration tests: read the bridge's ledger, wait for rows."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from mautrix.appservice import AppServiceAPI, ASStateStore, IntentAPI
from mautrix.client.state_store import MemoryStateStore
from mautrix.types import UserID
from sqlalchemy import select

from bridge.db.directory import Directory, DirectoryUser
from bridge.db.engine import create_engine
from bridge.db.tables import failed_logins, sessions
from policy.event_types import SESSION_EVENT_TYPE
from provisioning.org.policy_file import policy_document, policy_path, render_policy, write_policy_if_changed
from tests.harness.stack import Stack


async def ledger(stack: Stack, user_id: str | None) -> tuple[list[Any], list[Any]]:
    """(sessions rows, failed_logins rows) of one user, oldest first."""
    engine = create_engine(stack.s.database_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(sessions).where(sessions.c.user_id == user_id).order_by(sessions.c.id)
                )
            ).all()
            cond = (
                failed_logins.c.user_id.is_(None) if user_id is None else failed_logins.c.user_id == user_id
            )
            failed = (
                await conn.execute(select(failed_logins).where(cond).order_by(failed_logins.c.id))
            ).all()
        return list(rows), list(failed)
    finally:
        await engine.dispose()


async def wait_for(
    probe: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 30.0, what: str = "condition"
) -> Any:
    """Poll the async `probe` until `done(result)`; fail with the last result after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {result!r}")
        await asyncio.sleep(0.3)


async def session_records(stack: Stack, user_id: str) -> list[dict[str, Any]]:
    """Contents of the archived org.carebridge.session events about `user_id`."""
    return [
        e.event["content"]
        for e in await stack.archived()
        if e.event["type"] == SESSION_EVENT_TYPE and e.event["content"].get("user_id") == user_id
    ]


async def client_api(
    stack: Stack, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    """A raw client-server API call (for endpoints matrix-nio lacks)."""
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{stack.hs_url}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def admin_room_id(stack: Stack) -> str:
    """The administrators' room, as the running bridge reports it."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{stack.bridge_url}/_carebridge/health") as resp,
    ):
        return str((await resp.json())["admin_room"])


class _StateStore(MemoryStateStore, ASStateStore):
    def __init__(self) -> None:
        MemoryStateStore.__init__(self)
        ASStateStore.__init__(self)


def bot_intent(stack: Stack, session: aiohttp.ClientSession) -> IntentAPI:
    """The appservice bot's mautrix intent, built as the bridge builds it."""
    api = AppServiceAPI(
        base_url=stack.hs_url,
        bot_mxid=UserID(f"@carebridge:{stack.server_name}"),
        token=stack.as_token,
        state_store=_StateStore(),
        client_session=session,
        log=logging.getLogger("tests.bot"),  # type: ignore[arg-type]
    )
    return api.bot_intent()


def shift_around_now(now: datetime | None = None) -> dict[str, Any]:
    """A daily shift that began up to two hours ago (never before today's UTC midnight: a
    shift that began yesterday is yesterday's in a day report) and ends in three: someone
    signing in now is late (after the grace, at most 15 minutes, always before now), and
    stays so for a whole test (no boundary nearby)."""
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(now - timedelta(hours=2), midnight)
    since = int((now - start).total_seconds() // 60)
    return {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": f"{start:%H:%M}",
        "end": f"{now + timedelta(hours=3):%H:%M}",
        "grace_minutes": max(0, min(15, since - 2)),
    }


async def register(
    stack: Stack, people: list[tuple[str, str, str | None]], schedules: dict[str, dict[str, Any]]
) -> None:
    """Put people (user id, role, schedule) and shifts in the organisation directory, as
    `carebridge user add` / `provision apply` would, and rewrite policy.json from it."""
    engine = create_engine(stack.s.database_url)
    try:
        directory = Directory(engine)
        now = int(time.time() * 1000)
        current = {n: s.model_dump(mode="json") for n, s in (await directory.schedules()).items()}
        await directory.replace_schedules({**current, **schedules}, now)
        if await directory.setting("organization") is None:
            await directory.save_settings({"organization": {"name": "Test", "timezone": "UTC"}}, now)
        users = []
        for user_id, role, schedule in people:
            name = user_id[1:].split(":")[0]
            users.append(
                DirectoryUser(
                    UserID(user_id),
                    name,
                    name.title(),
                    f"{name}@clinic.example",
                    role,
                    (),
                    schedule,
                    True,
                    "cli",
                    now,
                    now,
                )
            )
        await directory.upsert_users(users)
        document = policy_document(await directory.snapshot(), f"@carebridge:{stack.server_name}")
        write_policy_if_changed(policy_path(stack.s.data_dir), render_policy(document))
    finally:
        await engine.dispose()
