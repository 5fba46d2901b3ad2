"""The one HTTP client for Synapse, as the Carebridge bot (appservice token, server admin).

Used by the bridge (reconciliation, media copies, chain heads) and, through
provisioning.org.admin_api.SynapseClient which adds typed admin methods, by the CLI. Errors
come back as mautrix.errors exceptions by errcode (built in bridge.core.matrix_errors); rate
limits are retried; requests other than GET are counted (so an idempotent re-apply can prove
it wrote nothing). Paths are never logged with bodies, and the token never leaves the header.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import Counter
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import aiohttp
from mautrix.errors import MLimitExceeded, MNotFound
from mautrix.types import RoomID

from bridge.core.matrix_errors import SynapseUnavailable, error_from_response, matrix_error, retry_after_ms

MAX_DOWNLOAD = 1024 * 1024 * 1024
RATE_LIMIT_RETRIES = 5


def seg(value: str) -> str:
    """URL-quote one path segment (room ids, event ids, user ids)."""
    return quote(value, safe="")


def _body(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


ADMIN = "/_synapse/admin"
CLIENT = "/_matrix/client/v3"


class SynapseHTTP:
    """JSON requests and media downloads against Synapse with a bearer token."""

    def __init__(self, base_url: str, token: str, concurrency: int = 16, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._concurrency = concurrency
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self.writes = 0
        self.reads = 0
        self.write_kinds: Counter[str] = Counter()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._concurrency),
                timeout=self._timeout,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        kind: str = "",
    ) -> Any:
        """One JSON request; retries when rate limited; raises MatrixRequestError subclasses,
        or SynapseUnavailable when Synapse cannot be reached."""
        if method != "GET":
            self.writes += 1
            self.write_kinds[kind or path.split("/")[3]] += 1
        else:
            self.reads += 1
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                async with self._get_session().request(
                    method, self.base_url + path, json=body, params=params
                ) as resp:
                    raw = await resp.read()
                    if resp.status < 400:
                        return json.loads(raw) if raw else {}
                    answer = _body(raw)
                    error = error_from_response(resp.status, answer)
            except aiohttp.ClientConnectionError as exc:
                raise SynapseUnavailable(f"cannot reach Synapse at {self.base_url}: {exc}") from None
            if isinstance(error, MLimitExceeded) and attempt < RATE_LIMIT_RETRIES:
                await asyncio.sleep((retry_after_ms(answer) or 500) / 1000)
                continue
            raise error
        raise AssertionError("unreachable")

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send a timeline event as the bot; returns its event id."""
        txn = secrets.token_hex(12)
        path = f"/_matrix/client/v3/rooms/{seg(room_id)}/send/{seg(event_type)}/{txn}"
        result = await self.request("PUT", path, content, kind="event.send")
        return str(result["event_id"])

    async def resolve_alias(self, alias: str) -> RoomID:
        """The room id an alias points to (MNotFound when it points nowhere)."""
        result = await self.request("GET", f"/_matrix/client/v3/directory/room/{seg(alias)}")
        return RoomID(str(result["room_id"]))

    async def find_alias(self, alias: str) -> RoomID | None:
        """The room id an alias points to, or None when it points nowhere."""
        try:
            return await self.resolve_alias(alias)
        except MNotFound:
            return None

    async def download_media(self, mxc: str, limit: int = MAX_DOWNLOAD) -> tuple[bytes, str | None]:
        """Download an mxc:// file through the authenticated media API; (bytes, content type)."""
        server, media_id = parse_mxc(mxc)
        path = f"/_matrix/client/v1/media/download/{seg(server)}/{seg(media_id)}"
        async with self._get_session().get(self.base_url + path, params={"allow_redirect": "false"}) as resp:
            if resp.status >= 400:
                raise error_from_response(resp.status, _body(await resp.read()))
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise matrix_error(413, "M_TOO_LARGE", "media larger than the archive limit")
                chunks.append(chunk)
            return b"".join(chunks), resp.headers.get("Content-Type")


def parse_mxc(mxc: str) -> tuple[str, str]:
    """Split mxc://server/media_id; raises ValueError for anything else."""
    if not mxc.startswith("mxc://"):
        raise ValueError("not an mxc:// URI")
    server, _, media_id = mxc[len("mxc://") :].partition("/")
    if not server or not media_id or "/" in media_id:
        raise ValueError("malformed mxc:// URI")
    return server, media_id
