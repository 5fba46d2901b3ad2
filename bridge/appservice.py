"""The appservice endpoint Synapse delivers transactions to, made durable.

mautrix's AppService answers 200 before its handlers finish and remembers txnIds only in
memory; Carebridge keeps mautrix for the client side (intents, room creation) but replaces
the transaction endpoint: the hs_token is compared in constant time, the events are
committed with the txnId in one database transaction, and only then does Synapse get 200.
A failed write answers 500 so Synapse retries the same transaction later.

What the endpoint trusts: not the txnId (Synapse on SQLite reuses ids after a restart; each
event is checked by event id instead), and not the events' shape (an odd event is archived
as a malformed record, see bridge.archive.intake, and the transaction still answered 200: a 4xx
would be retried forever and stall every room). Only a body that is not JSON gets 400.
Every answer given to an authenticated delivery is reported to `on_answer`, and every
authenticated ping to `on_reached`, so readiness can tell when Synapse's deliveries are
failing and knows at once that Synapse reaches the bridge again.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

from aiohttp import web
from mautrix.appservice import AppService

from bridge.archive.intake import NotJson, parse_body
from bridge.archive.writer import ArchiveWriter, IngestResult
from bridge.core.matrix_errors import error_response

log = logging.getLogger(__name__)

# Synapse sends at most 100 events of at most 64 KiB each per transaction, plus ephemeral
# data and to-device messages: 16 MiB leaves room for all of it. aiohttp's own limit
# (client_max_size, 1 MiB by default) must be raised to this too, or it refuses first.
MAX_TXN_BYTES = 16 * 1024 * 1024
AIOHTTP_PARAMS = {"client_max_size": MAX_TXN_BYTES}


def presented_token(request: web.Request) -> str | None:
    """The hs_token from the Authorization header (or the legacy access_token query)."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None
    return request.rel_url.query.get("access_token")


class CarebridgeAppService(AppService):
    """mautrix AppService whose transaction endpoint archives before acknowledging."""

    archive: ArchiveWriter | None = None
    on_committed: Callable[[IngestResult], None] | None = None
    on_answer: Callable[[int], None] | None = None
    on_reached: Callable[[], None] | None = None

    def _auth_error(self, request: web.Request) -> web.Response | None:
        token = presented_token(request)
        if token is None:
            return error_response(401, "M_UNAUTHORIZED", "Missing homeserver token")
        if not hmac.compare_digest(token.encode(), self.hs_token.encode()):
            log.warning("refused appservice request with a wrong hs_token from %s", request.remote)
            return error_response(403, "M_FORBIDDEN", "Invalid homeserver token")
        return None

    async def _http_handle_transaction(self, request: web.Request) -> web.Response:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        response = await self._transaction(request)
        if self.on_answer is not None:
            self.on_answer(response.status)
        return response

    async def _transaction(self, request: web.Request) -> web.Response:
        txn_id = request.match_info["transaction_id"]
        if not txn_id or len(txn_id) > 255:
            return error_response(400, "M_INVALID_PARAM", "Bad transaction id")
        if request.content_length is not None and request.content_length > MAX_TXN_BYTES:
            return error_response(413, "M_TOO_LARGE", "Transaction too large")
        if self.archive is None:
            return error_response(503, "M_UNKNOWN", "Bridge is starting")
        try:
            intake = parse_body(await request.read(), int(time.time() * 1000))
        except NotJson:
            return error_response(400, "M_NOT_JSON", "Body is not JSON")
        except web.HTTPRequestEntityTooLarge:  # a body without Content-Length, past the limit
            return error_response(413, "M_TOO_LARGE", "Transaction too large")
        if intake.malformed:
            log.warning(
                "transaction %s: %d malformed event(s) archived as raw records", txn_id, intake.malformed
            )
        try:
            result = await self.archive.ingest_transaction(txn_id, intake.events)
        except Exception:
            log.exception("archiving transaction %s failed; Synapse will retry", txn_id)
            return error_response(500, "M_UNKNOWN", "Archive write failed; retry later")
        if result.replayed:
            log.info("transaction id %s seen before: %d new events archived", txn_id, len(result.appended))
        else:
            # DEBUG: one line per transaction is a hot-path cost (and noise) at INFO.
            log.debug("transaction %s committed: %d new events", txn_id, len(result.appended))
        if result.appended and self.on_committed is not None:
            self.on_committed(result)
        return web.json_response({})

    async def _http_ping(self, request: web.Request) -> web.Response:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        if self.on_reached is not None:
            self.on_reached()
        return web.json_response({})
