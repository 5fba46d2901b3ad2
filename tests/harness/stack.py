"""Start a real Synapse (PyPI matrix-synapse) and the Carebridge bridge as subprocesses.

Everything lives in a temporary data directory written by the same `init_data_dir` that
`carebridge init` uses, with rate limits lifted (testing=True) and free loopback ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from nio import AsyncClient, LoginResponse
from sqlalchemy import select

from bridge.archive.keyring import Keyring
from bridge.archive.reader import iter_events
from bridge.archive.writer import ArchivedEvent
from bridge.core.registration import load_registration
from bridge.db.engine import create_engine
from bridge.db.tables import archive_events
from config.settings import Settings, load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    """Poll url until it answers 2xx; fail fast if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"process exited with {proc.returncode} while waiting for {url}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if 200 <= resp.status < 300:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def strong_password() -> str:
    """A password that satisfies the homeserver's password policy."""
    return "Pw-" + secrets.token_urlsafe(12) + "a1A!"


@dataclass
class Stack:
    """A running Synapse + bridge pair for integration tests."""

    root: Path
    extra_settings: dict[str, object] = field(default_factory=dict)
    database_url: str | None = None
    synapse_database_args: dict[str, object] | None = None  # Synapse on PostgreSQL
    synapse: subprocess.Popen[bytes] | None = None
    bridge: subprocess.Popen[bytes] | None = None
    settings: Settings | None = None
    as_token: str = ""
    hs_token: str = ""

    # --- lifecycle -------------------------------------------------------------------
    def init(self) -> None:
        opts = InitOptions(
            data_dir=self.root / "data",
            server_name="test.carebridge",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            turn_port=free_port(),
            database_url=self.database_url,
            synapse_database_args=self.synapse_database_args,
            testing=True,
            extra_settings=self.extra_settings,
        )
        self.config_path = init_data_dir(opts)
        self.settings = load_settings(self.config_path)
        reg = load_registration(self.settings.path(self.settings.bridge.registration))
        self.as_token, self.hs_token = reg.as_token, reg.hs_token

    @property
    def s(self) -> Settings:
        assert self.settings is not None
        return self.settings

    @property
    def hs_url(self) -> str:
        return self.s.synapse.url

    @property
    def bridge_url(self) -> str:
        return f"http://{self.s.bridge.host}:{self.s.bridge.port}"

    @property
    def server_name(self) -> str:
        return self.s.server_name

    def _spawn(self, argv: Sequence[str], log_name: str) -> subprocess.Popen[bytes]:
        log = self.s.data_dir / "logs" / log_name
        out = open(log, "ab")  # noqa: SIM115 - handle lives as long as the child
        return subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env={**os.environ})

    def start_synapse(self) -> None:
        hs_config = self.s.path(self.s.synapse.config)
        self.synapse = self._spawn(
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(hs_config)], "synapse.out"
        )
        wait_http(f"{self.hs_url}/health", 90, self.synapse, self.s.data_dir / "logs" / "synapse.out")

    def start_bridge(self) -> None:
        self.bridge = self._spawn([sys.executable, "-m", "bridge", "-c", str(self.config_path)], "bridge.out")
        wait_http(
            f"{self.bridge_url}/_carebridge/health", 90, self.bridge, self.s.data_dir / "logs" / "bridge.out"
        )

    def stop_bridge(self, kill: bool = False) -> None:
        if self.bridge is None:
            return
        if self.bridge.poll() is None:
            self.bridge.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            self.bridge.wait(30)
        self.bridge = None

    def stop_synapse(self, kill: bool = False) -> None:
        """Stop Synapse: SIGTERM (clean) or SIGKILL (a crash)."""
        if self.synapse is not None and self.synapse.poll() is None:
            if kill:
                self.synapse.kill()
            else:
                self.synapse.terminate()
            try:
                self.synapse.wait(30)
            except subprocess.TimeoutExpired:
                self.synapse.kill()
                self.synapse.wait(10)
        self.synapse = None

    def stop(self) -> None:
        self.stop_bridge()
        self.stop_synapse()

    # --- Synapse admin API (as the bot, which the module made a server admin) --------
    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.as_token}"}
        url = f"{self.hs_url}{path}"
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, url, json=body, headers=headers) as resp,
        ):
            data = await resp.json(content_type=None)
            if resp.status >= 400:
                raise AssertionError(f"admin {method} {path} -> {resp.status} {data}")
            return data

    async def wait_background_updates(self, timeout: float = 120.0) -> None:
        """Wait until Synapse has finished the schema updates it runs after creating a
        fresh database (some admin operations fail on SQLite until they are done)."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.admin("GET", "/_synapse/admin/v1/background_updates/status")
            if not status.get("current_updates"):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Synapse background updates still running: {status}")
            await asyncio.sleep(0.2)

    async def create_user(
        self, localpart: str | None = None, display_name: str | None = None, password: str | None = None
    ) -> tuple[str, str]:
        """Create an account through the admin API; returns (user_id, password)."""
        localpart = localpart or f"u{secrets.token_hex(4)}"
        password = password or strong_password()
        user_id = f"@{localpart}:{self.server_name}"
        body: dict[str, Any] = {"password": password, "admin": False}
        if display_name:
            body["displayname"] = display_name
        await self.admin("PUT", f"/_synapse/admin/v2/users/{user_id}", body)
        return user_id, password

    def allow_channel_creators(self, *user_ids: str) -> None:
        """Add people to policy.json's channel_creators (the Carebridge module refuses
        non-DM room creation from anyone else; provisioning writes this file from the org's
        `policy.channel_creators`). Plain staff in tests open DMs: room_create(is_direct=True)."""
        path = self.s.data_dir / "policy.json"
        doc = json.loads(path.read_text()) if path.exists() else {}
        doc["channel_creators"] = sorted({*doc.get("channel_creators", []), *user_ids})
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")

    async def login(self, user_id: str, password: str) -> AsyncClient:
        """A logged-in matrix-nio client (login response type asserted)."""
        client = AsyncClient(self.hs_url, user_id)
        resp = await client.login(password, device_name="carebridge-tests")
        assert isinstance(resp, LoginResponse), resp
        return client

    # --- the bridge database ---------------------------------------------------------
    def keyring(self) -> Keyring:
        return Keyring.load(self.s.path(self.s.archive.key_file))

    async def archived(self, room_id: str | None = None) -> list[ArchivedEvent]:
        """Every archived event (decrypted), optionally for one room."""
        engine = create_engine(self.s.database_url)
        try:
            where = archive_events.c.room_id == room_id if room_id else None
            return [e async for e in iter_events(engine, self.keyring(), where=where)]
        finally:
            await engine.dispose()

    async def bot_notices(self, room_id: str, starting: str) -> list[str]:
        """The bodies of the bot's archived messages in a room that start with `starting`."""
        return [
            str(e.event["content"].get("body"))
            for e in await self.archived(room_id)
            if e.event["sender"] == self.s.bot_user_id
            and e.event["type"] == "m.room.message"
            and str(e.event["content"].get("body", "")).startswith(starting)
        ]

    async def archived_ids(self) -> list[str]:
        engine = create_engine(self.s.database_url)
        try:
            async with engine.connect() as conn:
                return [r[0] for r in await conn.execute(select(archive_events.c.event_id))]
        finally:
            await engine.dispose()

    async def wait_archived(self, event_ids: Sequence[str], timeout: float = 15.0) -> list[str]:
        """Wait until all event ids are in the archive; returns the archived id list."""
        deadline = time.monotonic() + timeout
        while True:
            ids = await self.archived_ids()
            if set(event_ids) <= set(ids) or time.monotonic() > deadline:
                return ids
            await asyncio.sleep(0.2)

    def describe(self) -> str:
        return json.dumps({"hs": self.hs_url, "bridge": self.bridge_url, "root": str(self.root)})


@contextmanager
def running_stack(root: Path, **options: Any) -> Iterator[Stack]:
    """A fresh Synapse + bridge under `root` (Stack options passed through), stopped after."""
    running = Stack(root=root, **options)
    running.init()
    try:
        running.start_synapse()
        running.start_bridge()
        yield running
    finally:
        running.stop()
