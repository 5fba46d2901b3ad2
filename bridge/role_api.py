"""The web client's role endpoints on the public listener (beside bridge/staff/account_api.py,
whose sign-in check they share; the roles feature does the work):

- ``GET /_carebridge/v1/roles``: every role, who holds it now and until when, its backup,
  and whether the signed-in person may take it;
- ``POST /_carebridge/v1/roles/{name}/room``: the signed-in person's conversation with the
  role (created, with the current holders in it, on first use): message or call it there;
- ``POST /_carebridge/v1/roles/{name}/take`` and ``.../release``: take the role for the
  rest of the shift (only where the org file allows it) or give it up;
- ``GET`` / ``PUT /_carebridge/v1/away``: do not disturb, with an optional forward-to.

Every request carries the person's Matrix access token (checked with Synapse's whoami);
malformed input gets a 400 that says what was expected. 45 CFR 164.312(d).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from aiohttp import web

from bridge.roles.feature import RolesFeature
from bridge.roles.service import RoleError, RoleService
from bridge.staff.account_api import PREFIX, api_error, signed_in

_FEATURE: Final = web.AppKey("roles_feature", RolesFeature)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_BODY: Final = 4 * 1024
_NO_STORE: Final = {"Cache-Control": "no-store"}


def _service(request: web.Request) -> RoleService:
    return request.app[_FEATURE].service()


async def _who(request: web.Request) -> str | web.Response:
    who = await signed_in(request)
    return who if isinstance(who, web.Response) else who[0]


def _refused(exc: RoleError) -> web.Response:
    return api_error(exc.status, exc.errcode, str(exc))


async def list_roles(request: web.Request) -> web.Response:
    """Every role with its holders now."""
    user = await _who(request)
    if isinstance(user, web.Response):
        return user
    return web.json_response({"roles": await _service(request).overview(user)}, headers=_NO_STORE)


async def role_room(request: web.Request) -> web.Response:
    """Open (or create) the person's conversation with a role."""
    user = await _who(request)
    if isinstance(user, web.Response):
        return user
    name = request.match_info["name"]
    if not _NAME.fullmatch(name):
        return api_error(400, "M_INVALID_PARAM", "A role name is lower-case letters, digits and . _ -")
    try:
        room_id = await _service(request).open_room(name, user)
    except RoleError as exc:
        return _refused(exc)
    return web.json_response({"room_id": room_id}, headers=_NO_STORE)


async def take_or_release(request: web.Request) -> web.Response:
    """Self-assignment."""
    user = await _who(request)
    if isinstance(user, web.Response):
        return user
    name, action = request.match_info["name"], request.match_info["action"]
    if not _NAME.fullmatch(name):
        return api_error(400, "M_INVALID_PARAM", "A role name is lower-case letters, digits and . _ -")
    service = _service(request)
    try:
        text = await (service.take(name, user) if action == "take" else service.release(name, user, user))
    except RoleError as exc:
        return _refused(exc)
    return web.json_response({"ok": True, "message": text}, headers=_NO_STORE)


async def get_away(request: web.Request) -> web.Response:
    """The person's do-not-disturb state."""
    user = await _who(request)
    if isinstance(user, web.Response):
        return user
    return web.json_response(await _service(request).away_state(user), headers=_NO_STORE)


async def put_away(request: web.Request) -> web.Response:
    """Set or clear do not disturb: {"away": bool, "forward_to": "@x:y" | null, "until_ts": ms | null}."""
    user = await _who(request)
    if isinstance(user, web.Response):
        return user
    if request.content_length is not None and request.content_length > MAX_BODY:
        return api_error(413, "M_TOO_LARGE", "The request is too large.")
    try:
        body: Any = json.loads(await request.content.read(MAX_BODY + 1))
    except ValueError:
        return api_error(400, "M_NOT_JSON", 'The request must be JSON: {"away": true, "forward_to": null}.')
    if not isinstance(body, dict) or not isinstance(body.get("away"), bool):
        return api_error(400, "M_BAD_JSON", '"away" must be true or false.')
    forward = body.get("forward_to")
    until = body.get("until_ts")
    if forward is not None and not isinstance(forward, str):
        return api_error(400, "M_BAD_JSON", '"forward_to" must be a user id or null.')
    if until is not None and (not isinstance(until, int) or isinstance(until, bool)):
        return api_error(400, "M_BAD_JSON", '"until_ts" must be epoch milliseconds or null.')
    try:
        text = await _service(request).set_away(user, body["away"], forward, until)
    except RoleError as exc:
        return _refused(exc)
    return web.json_response({"ok": True, "message": text}, headers=_NO_STORE)


def add_roles_api(app: web.Application, feature: RolesFeature) -> None:
    """Mount the role endpoints (after add_account_api: they share its Synapse client)."""
    app[_FEATURE] = feature
    app.router.add_get(f"{PREFIX}/roles", list_roles)
    app.router.add_post(f"{PREFIX}/roles/{{name}}/room", role_room)
    app.router.add_post(f"{PREFIX}/roles/{{name}}/{{action:take|release}}", take_or_release)
    app.router.add_get(f"{PREFIX}/away", get_away)
    app.router.add_put(f"{PREFIX}/away", put_away)
