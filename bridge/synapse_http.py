"""A small HTTP client for Synapse as the Carebridge bot (appservice token, server admin).

Used by the bridge (reconciliation, media copies, chain heads) and by the CLI (verify,
publish-head). Paths are logged, never bodies; the token never leaves the header.
"""

from __future__ import annotations

import json
import logging
import secrets
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 1024 * 1024 * 1024


class SynapseHTTPError(Exception):
    """Synapse answered with an error (status and errcode kept; the message is not PHI-safe)."""

    def __init__(self, status: int, errcode: str, path: str) -> None:
        super().__init__(f"{status} {errcode} from {path.split('?')[0]}")
        self.status = status
        self.errcode = errcode


def seg(value: str) -> str:
    """URL-quote one path segment (room ids, event ids, user ids)."""
    return quote(value, safe="")


class SynapseHTTP:
    """JSON requests and media downloads against Synapse with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SynapseHTTP:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Authorization": f"Bearer {self._token}"}
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
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """One JSON request; raises SynapseHTTPError for a non-2xx answer."""
        async with self._get_session().request(
            method, self.base_url + path, params=params, json=body
        ) as resp:
            raw = await resp.read()
            if resp.status >= 400:
                errcode = "M_UNKNOWN"
                try:
                    errcode = str(json.loads(raw).get("errcode", errcode))
                except (ValueError, AttributeError):
                    pass
                raise SynapseHTTPError(resp.status, errcode, path)
            return json.loads(raw) if raw else {}

    async def send_event(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        """Send a timeline event as the bot; returns its event id."""
        txn = secrets.token_hex(12)
        path = f"/_matrix/client/v3/rooms/{seg(room_id)}/send/{seg(event_type)}/{txn}"
        result = await self.request("PUT", path, body=content)
        return str(result["event_id"])

    async def resolve_alias(self, alias: str) -> str:
        """The room id an alias points to."""
        result = await self.request("GET", f"/_matrix/client/v3/directory/room/{seg(alias)}")
        return str(result["room_id"])

    async def download_media(self, mxc: str, limit: int = MAX_DOWNLOAD) -> tuple[bytes, str | None]:
        """Download an mxc:// file through the authenticated media API; (bytes, content type)."""
        server, media_id = parse_mxc(mxc)
        path = f"/_matrix/client/v1/media/download/{seg(server)}/{seg(media_id)}"
        async with self._get_session().get(self.base_url + path, params={"allow_redirect": "false"}) as resp:
            if resp.status >= 400:
                errcode = "M_UNKNOWN"
                try:
                    errcode = str((await resp.json(content_type=None)).get("errcode", errcode))
                except (ValueError, AttributeError, aiohttp.ContentTypeError):
                    pass
                raise SynapseHTTPError(resp.status, errcode, path)
            chunks = []
            size = 0
            async for chunk in resp.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > limit:
                    raise SynapseHTTPError(413, "M_TOO_LARGE", path)
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
