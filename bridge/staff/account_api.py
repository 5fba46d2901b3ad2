"""The web client's own endpoints on the bridge's public listener (same origin as the
client, so the CSP needs nothing more than ``connect-src 'self'``).

- ``GET /_carebridge/v1/account``: whether the signed-in person still has the initial
  password provisioning mailed them (the client then asks for a new one at once);
- ``POST /_carebridge/v1/password``: change the password (Synapse's own
  ``/account/password`` with the person's token and current password; every other session
  ends) and clear the initial-password mark;
- ``GET /_carebridge/v1/contacts``: every active colleague with name and groups.

Every request carries the person's Matrix access token (``Authorization: Bearer``);
Synapse's ``/account/whoami`` says whose it is, so only a signed-in member of the
organisation gets an answer (45 CFR 164.312(d), person or entity authentication).
Passwords travel through to Synapse and are never logged or stored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.core.matrix_errors import error_response
from bridge.db.directory import Directory
from bridge.db.initial_passwords import InitialPasswords

log = logging.getLogger(__name__)

PREFIX: Final = "/_carebridge/v1"
MAX_BODY: Final = 8 * 1024
MAX_PASSWORD: Final = 512


@dataclass(frozen=True, slots=True)
class AccountApiSettings:
    """Where the bridge reaches Synapse (internal URL) and its database."""

    synapse_url: str
    engine: AsyncEngine


_API_KEY: Final = web.AppKey("account_api", AccountApiSettings)
_HTTP_KEY: Final = web.AppKey("account_api_http", aiohttp.ClientSession)


def _error(status: int, errcode: str, message: str) -> web.Response:
    return error_response(status, errcode, message, headers=_NO_STORE)


_NO_STORE: Final = {"Cache-Control": "no-store"}


def _token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 1024:
        return None
    return token.strip()


async def _synapse(
    request: web.Request, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    api = request.app[_API_KEY]
    http = request.app[_HTTP_KEY]
    url = api.synapse_url.rstrip("/") + path
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.request(method, url, json=body, headers=headers) as answer:
            try:
                data = await answer.json(content_type=None)
            except (ValueError, aiohttp.ContentTypeError):
                data = {}
            return answer.status, data if isinstance(data, dict) else {}
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("account api: Synapse unreachable for %s (%s)", path, type(exc).__name__)
        raise web.HTTPBadGateway(
            text=json.dumps({"errcode": "M_UNKNOWN", "error": "The homeserver cannot be reached."}),
            content_type="application/json",
        ) from exc


async def _whoami(request: web.Request) -> tuple[str, str] | web.Response:
    token = _token(request)
    if token is None:
        return _error(401, "M_MISSING_TOKEN", "Sign in first.")
    status, data = await _synapse(request, "GET", "/_matrix/client/v3/account/whoami", token)
    user_id = data.get("user_id")
    if status != 200 or not isinstance(user_id, str):
        return _error(401, "M_UNKNOWN_TOKEN", "Your session has ended; sign in again.")
    return user_id, token


async def signed_in(request: web.Request) -> tuple[str, str] | web.Response:
    """(user_id, token) of the person making the request, or the 401 to answer."""
    return await _whoami(request)


def api_error(status: int, errcode: str, message: str) -> web.Response:
    """A Matrix-style error answer (never cached)."""
    return _error(status, errcode, message)


async def account(request: web.Request) -> web.Response:
    who = await _whoami(request)
    if isinstance(who, web.Response):
        return who
    user_id, _ = who
    initial = await InitialPasswords(request.app[_API_KEY].engine).has_initial(user_id)
    return web.json_response({"user_id": user_id, "initial_password": initial}, headers=_NO_STORE)


async def contacts(request: web.Request) -> web.Response:
    who = await _whoami(request)
    if isinstance(who, web.Response):
        return who
    snapshot = await Directory(request.app[_API_KEY].engine).snapshot()
    listed = [
        {"user_id": u.user_id, "display_name": u.display_name, "groups": list(u.groups)}
        for u in sorted(snapshot.users.values(), key=lambda u: u.display_name.lower())
        if u.active
    ]
    return web.json_response({"contacts": listed}, headers=_NO_STORE)


async def password(request: web.Request) -> web.Response:
    who = await _whoami(request)
    if isinstance(who, web.Response):
        return who
    user_id, token = who
    if request.content_length is not None and request.content_length > MAX_BODY:
        return _error(413, "M_TOO_LARGE", "The request is too large.")
    try:
        body = json.loads(await request.content.read(MAX_BODY + 1))
    except ValueError:
        return _error(400, "M_NOT_JSON", "The request must be JSON with current_password and new_password.")
    current = body.get("current_password") if isinstance(body, dict) else None
    new = body.get("new_password") if isinstance(body, dict) else None
    for name, value in (("current_password", current), ("new_password", new)):
        if not isinstance(value, str) or not value or len(value) > MAX_PASSWORD:
            wanted = f"{name} must be a non-empty string of at most {MAX_PASSWORD} characters."
            return _error(400, "M_BAD_JSON", wanted)
    if current == new:
        return _error(400, "M_BAD_JSON", "The new password must differ from the current one.")
    status, data = await _synapse(
        request,
        "POST",
        "/_matrix/client/v3/account/password",
        token,
        {
            "auth": {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": user_id},
                "password": current,
            },
            "new_password": new,
            "logout_devices": True,
        },
    )
    if status == 200:
        await InitialPasswords(request.app[_API_KEY].engine).clear(user_id)
        log.info("password changed by %s in the web client", user_id)
        return web.json_response({"ok": True}, headers=_NO_STORE)
    if status == 401:
        return _error(401, "M_FORBIDDEN", "The current password is not correct.")
    if status == 400:
        said = data.get("error")
        message = said if isinstance(said, str) else "The new password was not accepted."
        return _error(400, str(data.get("errcode", "M_UNKNOWN")), message)
    if status == 429:
        return _limited(data)
    log.warning("password change for %s: Synapse answered %d", user_id, status)
    return _error(502, "M_UNKNOWN", "The homeserver did not change the password; try again.")


def _limited(data: dict[str, Any]) -> web.Response:
    """Synapse's sign-in limit (shared with /login: too many wrong passwords for this
    account), passed on with its words and its wait."""
    said, wait = data.get("error"), data.get("retry_after_ms")
    message = said if isinstance(said, str) and said else "Too many attempts; wait and try again."
    body: dict[str, Any] = {"errcode": "M_LIMIT_EXCEEDED", "error": message}
    headers = dict(_NO_STORE)
    if isinstance(wait, int) and not isinstance(wait, bool) and wait > 0:
        body["retry_after_ms"] = wait
        headers["Retry-After"] = str(-(-wait // 1000))
    return web.json_response(body, status=429, headers=headers)


def add_account_api(app: web.Application, settings: AccountApiSettings) -> None:
    """Mount the endpoints (and their HTTP client to Synapse) on the web client's app."""
    app[_API_KEY] = settings

    async def http_client(app: web.Application) -> Any:
        app[_HTTP_KEY] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        yield
        await app[_HTTP_KEY].close()

    app.cleanup_ctx.append(http_client)
    app.router.add_get(f"{PREFIX}/account", account)
    app.router.add_get(f"{PREFIX}/contacts", contacts)
    app.router.add_post(f"{PREFIX}/password", password)
