"""Synapse's admin API: only the calls Carebridge makes itself are allowed (pure).

The appservice token in registration.yaml is a Synapse server admin (provisioning and the
bridge need the admin API). Unchecked, whoever holds it could sign in as any person
(`users/<id>/login`), purge a room's history, delete rooms or media, redact a person's
events, register accounts with the shared secret, or reset a password without ending the
person's sessions. So the module refuses, for every token, every admin endpoint that is
not on this list: the calls found in `provisioning/` and `bridge/` (and two read-only
diagnostics an operator needs after an upgrade). Of those, the ones that change something
are recorded as archived admin actions (`org.carebridge.admin_action` in the
administrators' room), with the safe parameters only (never a password or a name).
45 CFR 164.312(a)(1) access control (least privilege), 164.312(b) audit controls,
164.312(c)(1) integrity (history cannot be purged through the back door).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

from policy.decision import Decision

ADMIN_PREFIX = "/_synapse/admin/"
RECORD_VERSION = 1
MAX_FIELD = 255


class AdminApiReason(StrEnum):
    """Why an admin request was allowed or refused (the refusal counter's label)."""

    READ = "admin-read"
    ACTION = "admin-action"
    NOT_ALLOWED = "admin-endpoint-not-allowed"
    KEEPS_SESSIONS = "admin-password-keeps-sessions"
    ERASES = "admin-deactivate-erases"


MESSAGES = {
    AdminApiReason.NOT_ALLOWED: (
        "This administration request is refused by your organisation's policy: Carebridge "
        "allows only the admin API calls it makes itself (history, rooms, media and sign-ins "
        "cannot be removed or taken over through the admin API)."
    ),
    AdminApiReason.KEEPS_SESSIONS: (
        "Refused by your organisation's policy: a password set by an administrator ends "
        "every session of the account (logout_devices cannot be false)."
    ),
    AdminApiReason.ERASES: (
        "Refused by your organisation's policy: accounts are deactivated without erasing "
        "(erase cannot be true); their messages stay part of the record."
    ),
}


@dataclass(frozen=True)
class AdminEndpoint:
    """One admin API call Carebridge makes: method, path shape, and whether it changes
    something (then it is recorded)."""

    name: str
    method: str
    version: str
    pattern: str  # after /_synapse/admin/<version>/ ; {id} is one path segment
    recorded: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """(method, version, first path segment): the index the check looks up."""
        return self.method, self.version, self.pattern.split("/", 1)[0]

    def compiled(self) -> re.Pattern[str]:
        """The full path pattern; `target` is the first {id} (the user or room acted on)."""
        parts = self.pattern.split("/")
        out, named = [], False
        for part in parts:
            if part == "{id}":
                out.append(r"[^/]+" if named else r"(?P<target>[^/]+)")
                named = True
            else:
                out.append(re.escape(part))
        return re.compile("^" + re.escape(f"{ADMIN_PREFIX}{self.version}/") + "/".join(out) + "$")


# Every admin API call in provisioning/ and bridge/ (grep `/_synapse/admin`), and nothing else.
ENDPOINTS: tuple[AdminEndpoint, ...] = (
    AdminEndpoint("server_version", "GET", "v1", "server_version"),
    AdminEndpoint("background_updates", "GET", "v1", "background_updates/status"),
    AdminEndpoint("users.list", "GET", "v2", "users"),
    AdminEndpoint("users.get", "GET", "v2", "users/{id}"),
    AdminEndpoint("users.devices", "GET", "v2", "users/{id}/devices"),
    AdminEndpoint("rooms.list", "GET", "v1", "rooms"),
    AdminEndpoint("rooms.state", "GET", "v1", "rooms/{id}/state"),
    AdminEndpoint("rooms.members", "GET", "v1", "rooms/{id}/members"),
    AdminEndpoint("rooms.messages", "GET", "v1", "rooms/{id}/messages"),
    AdminEndpoint("media.get", "GET", "v1", "media/{id}/{id}"),
    AdminEndpoint("users.put", "PUT", "v2", "users/{id}", recorded=True),
    AdminEndpoint("deactivate", "POST", "v1", "deactivate/{id}", recorded=True),
    AdminEndpoint("reset_password", "POST", "v1", "reset_password/{id}", recorded=True),
    AdminEndpoint("users.delete_devices", "POST", "v2", "users/{id}/delete_devices", recorded=True),
    AdminEndpoint("rooms.join", "POST", "v1", "join/{id}", recorded=True),
    AdminEndpoint("rooms.make_room_admin", "POST", "v1", "rooms/{id}/make_room_admin", recorded=True),
)

_INDEX: dict[tuple[str, str, str], tuple[tuple[AdminEndpoint, re.Pattern[str]], ...]] = {}
for _endpoint in ENDPOINTS:
    _INDEX[_endpoint.key] = (*_INDEX.get(_endpoint.key, ()), (_endpoint, _endpoint.compiled()))


@dataclass(frozen=True)
class AdminCall:
    """An allowed admin request: which endpoint, and the user or room it acts on."""

    endpoint: AdminEndpoint
    target: str | None


def find_endpoint(method: str, path: str) -> AdminCall | None:
    """The allowed endpoint this request is (None: not on Carebridge's list). One dict
    look-up and at most two short regular expressions."""
    method = "GET" if method == "HEAD" else method
    rest = path[len(ADMIN_PREFIX) :] if path.startswith(ADMIN_PREFIX) else None
    if rest is None:
        return None
    version, _, tail = rest.partition("/")
    first = tail.split("/", 1)[0]
    for endpoint, pattern in _INDEX.get((method, version, first), ()):
        match = pattern.match(path)
        if match is not None:
            target = match.groupdict().get("target")
            return AdminCall(endpoint, unquote(target)[:MAX_FIELD] if target else None)
    return None


def _refuse(reason: AdminApiReason) -> Decision:
    return Decision(False, reason, MESSAGES[reason])


def decide_admin_request(
    method: str, path: str, body: Mapping[str, Any] | None
) -> tuple[Decision, AdminCall | None]:
    """Allowed (with the endpoint) or refused. `path` is undecoded, without the query;
    `body` the JSON object of a recorded call (None when absent or not JSON)."""
    if method == "OPTIONS":
        return Decision(True, AdminApiReason.READ), None  # CORS pre-flight: Synapse answers, nothing runs
    call = find_endpoint(method, path)
    if call is None:
        return _refuse(AdminApiReason.NOT_ALLOWED), None
    if not call.endpoint.recorded:
        return Decision(True, AdminApiReason.READ), call
    if body is not None:
        if call.endpoint.name in {"reset_password", "users.put"} and body.get("logout_devices") is False:
            return _refuse(AdminApiReason.KEEPS_SESSIONS), call
        if call.endpoint.name == "deactivate" and body.get("erase") is True:
            return _refuse(AdminApiReason.ERASES), call
    return Decision(True, AdminApiReason.ACTION), call


def action_parameters(call: AdminCall, body: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters of a recorded call that are safe to archive: flags and counts, the
    names of the fields a user update sets, never their values (a password, a name)."""
    if body is None:
        return {}
    name = call.endpoint.name
    params: dict[str, Any] = {}
    if name == "users.put":
        params["fields"] = sorted(str(k)[:64] for k in body)[:20]
        for flag in ("admin", "deactivated", "locked"):
            if isinstance(body.get(flag), bool):
                params[flag] = body[flag]
    elif name == "reset_password":
        params["logout_devices"] = body.get("logout_devices", True) is not False
    elif name == "deactivate":
        params["erase"] = body.get("erase") is True
    elif name == "users.delete_devices":
        devices = body.get("devices")
        params["devices"] = len(devices) if isinstance(devices, list) else 0
    elif name in {"rooms.join", "rooms.make_room_admin"}:
        user = body.get("user_id")
        if isinstance(user, str):
            params["user_id"] = user[:MAX_FIELD]
    return params


@dataclass(frozen=True)
class AdminActionRecord:
    """One admin API call that changed something, as archived (event content)."""

    ts: int
    actor: str | None  # the account whose token made the call
    endpoint: str
    method: str
    target: str | None  # the user or room acted on
    status: int  # Synapse's answer
    parameters: Mapping[str, Any]
    operator: str | None = None  # the OS account of the CLI's operator (the bot's calls)
    ip: str | None = None

    def content(self) -> dict[str, Any]:
        """The event content, with one line for people reading the room."""
        data: dict[str, Any] = {
            "version": RECORD_VERSION,
            "ts": self.ts,
            "actor": self.actor,
            "endpoint": self.endpoint,
            "method": self.method,
            "target": self.target,
            "status": self.status,
            "parameters": dict(self.parameters),
        }
        if self.operator:
            data["operator"] = self.operator
        if self.ip:
            data["ip"] = self.ip
        who = self.actor or "an unauthenticated caller"
        if self.operator:
            who += f" (run by {self.operator})"
        on = f" {self.target}" if self.target else ""
        data["body"] = f"Admin API: {who} {self.endpoint}{on} -> {self.status}"
        return {k: v for k, v in data.items() if v is not None}
