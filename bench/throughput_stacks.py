"""The homeservers bench/throughput.py compares, all from the same generated config:
bare (no module, no registration), Carebridge (module, registration and bridge) and,
with --appservice-only, Synapse with the registration but no module, its transactions
answered 200 at once by a trivial appservice (to tell Synapse's own appservice cost
from Carebridge's)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import yaml
from aiohttp import web
from nio import AsyncClient, JoinResponse, RoomCreateResponse, RoomSendResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.db.engine import create_engine
from bridge.db.tables import archive_events, as_transactions, consumer_cursors
from tests.harness.stack import Stack, strong_password

POLL_S = 0.1
WAIT_S = 120.0


class BenchStack:
    """One Synapse (and, for Carebridge, its bridge) with SENDERS people in one room."""

    def __init__(self, root: Path, carebridge: bool, appservice_only: bool = False) -> None:
        self.name = "carebridge" if carebridge else "appservice" if appservice_only else "bare"
        self.carebridge = carebridge
        self.appservice_only = appservice_only and not carebridge
        self._trivial: web.AppRunner | None = None
        self.trivial_txns = 0
        self.trivial_events = 0
        self.stack = Stack(root=root)
        self.secret = secrets.token_urlsafe(32)
        self.clients: list[AsyncClient] = []
        self.room_id = ""
        self.synapse_proc: psutil.Process | None = None
        self.bridge_proc: psutil.Process | None = None
        self._engine: AsyncEngine | None = None

    def _write_config(self) -> None:
        path = self.stack.s.path(self.stack.s.synapse.config)
        config = yaml.safe_load(path.read_text())
        # The copies without the module create accounts with the shared secret.
        config["registration_shared_secret"] = self.secret
        if not self.carebridge:
            del config["modules"]
            if not self.appservice_only:
                del config["app_service_config_files"]
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    async def start(self, senders: int) -> None:
        self.stack.init()
        self._write_config()
        if self.appservice_only:
            await self._start_trivial_appservice()
        self.stack.start_synapse()
        assert self.stack.synapse is not None
        self.synapse_proc = psutil.Process(self.stack.synapse.pid)
        if self.carebridge:
            self.stack.start_bridge()
            assert self.stack.bridge is not None
            self.bridge_proc = psutil.Process(self.stack.bridge.pid)
            self._engine = create_engine(self.stack.s.database_url)
        async with aiohttp.ClientSession() as http:
            for i in range(senders):
                self.clients.append(await self._account(http, f"bench{i}"))
        if self.carebridge:
            self.stack.allow_channel_creators(self.clients[0].user_id)
        room = await self.clients[0].room_create(name="bench", invite=[c.user_id for c in self.clients[1:]])
        assert isinstance(room, RoomCreateResponse), room
        self.room_id = room.room_id
        for client in self.clients[1:]:
            assert isinstance(await client.join(self.room_id), JoinResponse)

    async def _start_trivial_appservice(self) -> None:
        """Answer every transaction (and ping) with 200 {} on the bridge's address."""

        async def ok(_request: web.Request) -> web.Response:
            return web.json_response({})

        async def txn(request: web.Request) -> web.Response:
            body = await request.json()
            self.trivial_txns += 1
            self.trivial_events += len(body.get("events", []))
            return web.json_response({})

        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_put("/_matrix/app/v1/transactions/{txn}", txn)
        app.router.add_post("/_matrix/app/v1/ping", ok)
        self._trivial = web.AppRunner(app, access_log=None)
        await self._trivial.setup()
        await web.TCPSite(self._trivial, self.stack.s.bridge.host, self.stack.s.bridge.port).start()

    async def _account(self, http: aiohttp.ClientSession, localpart: str) -> AsyncClient:
        """A signed-in sender. Carebridge's module refuses shared-secret registration (it
        is not on its admin API list), so there the bot creates the account (as
        provisioning does) and the person signs in; elsewhere shared-secret registration."""
        if self.carebridge:
            user_id, password = await self.stack.create_user(localpart)
            return await self.stack.login(user_id, password)
        return await self._register(http, localpart)

    async def _register(self, http: aiohttp.ClientSession, localpart: str) -> AsyncClient:
        """Shared-secret registration (Synapse's admin register API), no login round."""
        url = f"{self.stack.hs_url}/_synapse/admin/v1/register"
        async with http.get(url) as resp:
            nonce = (await resp.json())["nonce"]
        password = strong_password()
        mac = hmac.new(
            self.secret.encode(),
            b"\0".join([nonce.encode(), localpart.encode(), password.encode(), b"notadmin"]),
            hashlib.sha1,
        ).hexdigest()
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": False, "mac": mac}
        async with http.post(url, json=body) as resp:
            data: dict[str, Any] = await resp.json()
            assert resp.status == 200, data
        client = AsyncClient(self.stack.hs_url, data["user_id"])
        client.access_token = data["access_token"]
        client.user_id = data["user_id"]
        client.device_id = data["device_id"]
        return client

    async def send(self, sender: int, body: str) -> tuple[str, float]:
        """Send one text message; (event id, latency in seconds)."""
        start = time.perf_counter()
        resp = await self.clients[sender].room_send(
            self.room_id, "m.room.message", {"msgtype": "m.text", "body": body}
        )
        latency = time.perf_counter() - start
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id, latency

    async def wait_handled(self, event_ids: list[str]) -> None:
        """Carebridge: until every event is archived and every consumer saved its cursor
        past it (so the window holds all the bridge's work for them)."""
        if self._engine is None:
            return
        deadline = time.monotonic() + WAIT_S
        t = archive_events
        while True:
            async with self._engine.connect() as conn:
                found, top = (
                    await conn.execute(
                        select(func.count(), func.max(t.c.seq)).where(t.c.event_id.in_(event_ids))
                    )
                ).one()
                lowest = await conn.scalar(select(func.min(consumer_cursors.c.seq)))
            if found == len(set(event_ids)) and lowest is not None and lowest >= top:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {found}/{len(event_ids)} archived, cursors at {lowest}")
            await asyncio.sleep(POLL_S)

    async def wait_dispatcher_caught_up(self) -> None:
        """Every consumer's saved cursor at the archive head."""
        assert self._engine is not None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            async with self._engine.connect() as conn:
                head = await conn.scalar(select(func.max(archive_events.c.seq)))
                lowest = await conn.scalar(select(func.min(consumer_cursors.c.seq)))
            if lowest is not None and head is not None and lowest >= head:
                return
            await asyncio.sleep(POLL_S)
        raise TimeoutError("consumers did not catch up")

    async def archive_times(self, event_ids: list[str]) -> dict[str, tuple[int, int]]:
        """event id -> (received_ts, origin_ts) of its archive row, in ms."""
        assert self._engine is not None
        t = archive_events
        out: dict[str, tuple[int, int]] = {}
        async with self._engine.connect() as conn:
            for i in range(0, len(event_ids), 500):
                query = select(t.c.event_id, t.c.received_ts, t.c.origin_ts).where(
                    t.c.event_id.in_(event_ids[i : i + 500])
                )
                out.update({r[0]: (int(r[1]), int(r[2])) for r in await conn.execute(query)})
        return out

    async def write_seconds(self) -> tuple[float, float]:
        """(sum, count) of the bridge's archive-write histogram (time to answer Synapse)."""
        found = {"sum": 0.0, "count": 0.0}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.stack.bridge_url}/metrics") as resp,
        ):
            for line in (await resp.text()).splitlines():
                for key in found:
                    if line.startswith(f"carebridge_archive_write_seconds_{key} "):
                        found[key] = float(line.split()[1])
        return found["sum"], found["count"]

    async def events_per_transaction(self) -> float:
        """Mean events per appservice transaction the bridge received from Synapse."""
        assert self._engine is not None
        c = as_transactions.c
        async with self._engine.connect() as conn:
            count, events = (
                await conn.execute(
                    select(func.count(), func.sum(c.event_count)).where(
                        c.txn_id.not_like("rss-%"), c.txn_id.not_like("one-%")
                    )
                )
            ).one()
        return float(events or 0) / max(1, int(count))

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        if self._engine is not None:
            await self._engine.dispose()
        self.stack.stop()
        if self._trivial is not None:
            await self._trivial.cleanup()


async def feed_transactions(
    stack: BenchStack, n: int, first: int, per_txn: int = 100, tag: str = "rss"
) -> None:
    """PUT n synthetic message events straight to the bridge's transaction endpoint."""
    s = stack.stack
    url = f"{s.bridge_url}/_matrix/app/v1/transactions/"
    headers = {"Authorization": f"Bearer {s.hs_token}"}
    room = f"!rss-bench:{s.server_name}"
    async with aiohttp.ClientSession(headers=headers) as http:
        for start in range(first, first + n, per_txn):
            events = [
                {
                    "event_id": f"${tag}{i}-{secrets.token_urlsafe(16)}",
                    "room_id": room,
                    "sender": f"@bench{i % 16}:{s.server_name}",
                    "type": "m.room.message",
                    "origin_server_ts": int(time.time() * 1000),
                    "content": {"msgtype": "m.text", "body": f"observation {i}: {secrets.token_hex(24)}"},
                    "unsigned": {"age": 5},
                }
                for i in range(start, min(start + per_txn, first + n))
            ]
            async with http.put(f"{url}{tag}-{start}", json={"events": events}) as resp:
                assert resp.status == 200, await resp.text()
