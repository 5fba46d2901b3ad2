"""Client-Server API requests refused before Synapse handles them: side channels and
outbound requests a client chooses.

Synapse has no module callback for these, so the module's request guard
(policy/module/request_guard.py) asks this rule about every request and answers a
refusal itself. Each rule names its HIPAA safeguard:

- To-device messages (`PUT /sendToDevice/{type}/{txn}`, any type, `m.room.encrypted`
  too) carry text between people outside every room, so the archive never sees them
  (45 CFR 164.312(b) audit controls). One-to-one calls signal with `m.call.*` events in
  the direct message, which are archived, so calls need none.
- Encryption keys: end-to-end encryption is off (the archive must read every message).
  Device and one-time keys (`/keys/upload`) are answered as accepted but **discarded**,
  never stored: apps such as Hydrogen and Element upload them at sign-in and stop if
  that fails, and keys nobody can query cannot start an encrypted session nor carry
  text to a colleague. Cross-signing and key-backup uploads are refused.
- Identity servers: a request naming one (`id_server`, a 3PID invite, binding an
  address) would make Synapse contact a server the client chose (45 CFR 164.312(e)(1)
  transmission security).
- Sign-in e-mail addresses (the account's `email` 3PID) are bound by provisioning from
  the organisation file, through Synapse's admin API, so staff can sign in with them
  (`m.id.thirdparty`). A client may neither add nor remove one (`/account/3pid`,
  `/account/3pid/add`, `/account/3pid/delete`): an address someone could change would let
  them take over or lock out a colleague's sign-in name (45 CFR 164.312(d) person or
  entity authentication). Password resets by e-mail (`/account/password/email/
  requestToken`) and registration tokens are refused too: administrators reset passwords.
- Push gateways: a pusher may only point at a gateway the organisation lists, and only
  with `format: event_id_only` (otherwise Synapse sends the sender's display name and
  the room's name, even with `push.include_content: false`); e-mail pushers are refused
  (they would mail message content).
- Custom profile fields and presence status messages: every colleague can read them
  and they are never archived (45 CFR 164.502(b) minimum necessary). Display names are
  administrator-managed (set through the admin API by provisioning), so a client's own
  change is refused too; an avatar may be set (it is written into each room's
  membership event, which is archived), but only as a picture on this server, never
  free text (policy/profiles.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from policy.decision import Decision
from policy.profiles import decide_avatar_url

CLIENT = r"^/_matrix/client/(?:r0|v3|unstable|api/v1)"
TO_DEVICE = re.compile(CLIENT + r"/sendToDevice/")
DEVICE_KEYS = re.compile(CLIENT + r"/keys/upload(?:/[^/]*)?$")
KEY_UPLOADS = re.compile(CLIENT + r"/(?:keys/(?:device_signing/upload|signatures/upload)|room_keys/)")
IDENTITY = re.compile(CLIENT + r"/account/3pid/(?:bind|unbind|[a-z]+/requestToken)$")
THREEPID_CHANGE = re.compile(CLIENT + r"/account/3pid(?:/add|/delete)?$")
EMAILED_TOKEN = re.compile(CLIENT + r"/(?:account/password|register)/[a-z]+/requestToken$")
INVITE = re.compile(CLIENT + r"/rooms/[^/]+/invite$")
PROFILE_FIELD = re.compile(
    r"^/_matrix/client/(?:r0|v3|unstable/uk\.tcpip\.msc4133)/profile/[^/]+/(?P<field>[^/]+)$"
)
PRESENCE = re.compile(CLIENT + r"/presence/[^/]+/status$")
PUSHERS = re.compile(CLIENT + r"/pushers/set$")
STAFF_SETTABLE_FIELDS = frozenset({"avatar_url"})
WRITES = frozenset({"PUT", "POST"})


class RequestReason(StrEnum):
    """Why a client request was refused (the `reason` label of the refusal counter)."""

    TO_DEVICE = "to-device-message"
    ENCRYPTION_KEYS = "encryption-keys"
    DEVICE_KEYS_DISCARDED = "device-keys-discarded"
    IDENTITY_SERVER = "identity-server"
    THREEPID_CHANGE = "sign-in-address-admin-managed"
    EMAILED_TOKEN = "password-reset-by-administrators"  # noqa: S105 - a reason label, not a secret
    PUSH_GATEWAY = "push-gateway-not-listed"
    PUSH_CONTENT = "push-format-not-event-id-only"
    PROFILE_FIELD = "profile-admin-managed"
    STATUS_MESSAGE = "presence-status-message"


MESSAGES = {
    RequestReason.TO_DEVICE: (
        "Carebridge carries messages only in rooms, where they are kept in the compliance "
        "archive; messages sent straight to a device are not accepted. Send it in a direct "
        "message instead."
    ),
    RequestReason.ENCRYPTION_KEYS: (
        "End-to-end encryption is turned off at your organisation (messages are protected on "
        "the server and kept in the compliance archive), so encryption keys are not accepted."
    ),
    RequestReason.DEVICE_KEYS_DISCARDED: "Encryption keys are not stored: end-to-end encryption is off.",
    RequestReason.IDENTITY_SERVER: (
        "Carebridge does not contact identity servers: invite colleagues by their account, "
        "not by e-mail address or phone number."
    ),
    RequestReason.THREEPID_CHANGE: (
        "Your sign-in e-mail address is set by your administrators from the staff list; "
        "ask them to change it."
    ),
    RequestReason.EMAILED_TOKEN: (
        "Passwords are not reset by e-mail here: ask your administrator for a new initial "
        "password, or change yours in Settings while you are signed in."
    ),
    RequestReason.PUSH_GATEWAY: (
        "Notifications can only go through the push services your organisation allows; "
        "ask IT which app to use on your phone."
    ),
    RequestReason.PUSH_CONTENT: (
        "Notifications carry no message details here: the app must register for event ids "
        "only (pusher data format event_id_only)."
    ),
    RequestReason.PROFILE_FIELD: "Your profile is managed by your administrators; ask them to change it.",
    RequestReason.STATUS_MESSAGE: (
        "Status messages are not available here: colleagues see only whether you are online."
    ),
}


def _refuse(reason: RequestReason) -> Decision:
    return Decision(False, reason, MESSAGES[reason])


def _sets_avatar(method: str, path: str) -> bool:
    field = PROFILE_FIELD.match(path)
    return method == "PUT" and field is not None and field.group("field") == "avatar_url"


def needs_body(method: str, path: str) -> bool:
    """Whether `decide_client_request` needs the JSON body of this request."""
    if method not in WRITES:
        return False
    return _sets_avatar(method, path) or any(p.match(path) for p in (INVITE, PRESENCE, PUSHERS, DEVICE_KEYS))


def discarded_keys_answer(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """What `/keys/upload` answers when its keys are discarded: the one-time key counts the
    client would expect had they been stored (so it does not retry at once)."""
    counts: dict[str, int] = {}
    keys = body.get("one_time_keys") if body is not None else None
    if isinstance(keys, Mapping):
        for key_id in keys:
            algorithm = str(key_id).split(":", 1)[0]
            counts[algorithm] = counts.get(algorithm, 0) + 1
    return {"one_time_key_counts": counts}


def decide_client_request(
    method: str,
    path: str,
    body: Mapping[str, Any] | None,
    push_gateways: frozenset[str],
    server_name: str = "",
) -> Decision | None:
    """A refusal for a request Carebridge does not allow, or None to let Synapse handle it.
    (`device-keys-discarded` is answered 200 with `discarded_keys_answer`, see above.)

    `path` is the request path without the query string; `body` the parsed JSON object
    when `needs_body` said so (None if it was not JSON: Synapse answers that itself).
    An avatar must be a picture on `server_name` (policy/profiles.py).
    """
    if method not in WRITES:
        return None
    if TO_DEVICE.match(path):
        return _refuse(RequestReason.TO_DEVICE)
    if KEY_UPLOADS.match(path):
        return _refuse(RequestReason.ENCRYPTION_KEYS)
    if DEVICE_KEYS.match(path) and method == "POST":
        return _refuse(RequestReason.DEVICE_KEYS_DISCARDED)
    if IDENTITY.match(path):
        return _refuse(RequestReason.IDENTITY_SERVER)
    if THREEPID_CHANGE.match(path) and method == "POST":
        return _refuse(RequestReason.THREEPID_CHANGE)
    if EMAILED_TOKEN.match(path) and method == "POST":
        return _refuse(RequestReason.EMAILED_TOKEN)
    field = PROFILE_FIELD.match(path)
    if field is not None and method == "PUT" and field.group("field") not in STAFF_SETTABLE_FIELDS:
        return _refuse(RequestReason.PROFILE_FIELD)
    if body is None:
        return None
    if _sets_avatar(method, path):
        avatar = decide_avatar_url(body.get("avatar_url"), server_name)
        return None if avatar.allowed else avatar
    if INVITE.match(path) and ({"id_server", "medium", "address"} & set(body)):
        return _refuse(RequestReason.IDENTITY_SERVER)
    if PRESENCE.match(path):
        status = body.get("status_msg")
        if isinstance(status, str) and status.strip():
            return _refuse(RequestReason.STATUS_MESSAGE)
    if PUSHERS.match(path) and body.get("kind") is not None:
        data = body.get("data")
        url = data.get("url") if isinstance(data, Mapping) else None
        if body.get("kind") != "http" or not isinstance(url, str) or url not in push_gateways:
            return _refuse(RequestReason.PUSH_GATEWAY)
        if not isinstance(data, Mapping) or data.get("format") != "event_id_only":
            return _refuse(RequestReason.PUSH_CONTENT)
    return None
