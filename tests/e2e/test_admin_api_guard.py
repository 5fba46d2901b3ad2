"""The bot's token is not a master key: through a real Synapse, every admin API endpoint
Carebridge does not call is refused for every token (403 M_FORBIDDEN, the organisation's
words), the ones it calls still work and, when they change something, are archived as
`org.carebridge.admin_action` records (as is a refused attempt by a valid token)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import aiohttp
from nio import RoomCreateResponse, RoomSendResponse

from policy.admin_api import AdminApiReason
from policy.event_types import ADMIN_ACTION_EVENT_TYPE, REASON_KEY
from tests.compliance_helpers import wait_for
from tests.harness.stack import Stack, strong_password


async def raw(stack: Stack, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, stack.hs_url + path, json=body, headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def admin_actions(stack: Stack) -> list[dict[str, Any]]:
    return [
        e.event["content"]
        for e in await stack.archived()
        if e.event["type"] == ADMIN_ACTION_EVENT_TYPE and e.event["sender"] == stack.s.bot_user_id
    ]


async def test_admin_endpoints_carebridge_never_calls_are_refused_for_every_token(stack: Stack) -> None:
    """Login as a user, purge history, room delete v1/v2, media delete/quarantine, a user's
    redaction, event-report redaction, shared-secret registration: 403 for the bot's token
    (a server admin) and for a staff member made server admin; nothing happened."""
    user_id, password = await stack.create_user()
    staff = await stack.login(user_id, password)
    try:
        room = await staff.room_create(is_direct=True)
        assert isinstance(room, RoomCreateResponse), room
        sent = await staff.room_send(room.room_id, "m.room.message", {"msgtype": "m.text", "body": "obs"})
        assert isinstance(sent, RoomSendResponse), sent
        await stack.admin("PUT", f"/_synapse/admin/v2/users/{quote(user_id)}", {"admin": True})
        room_q, user_q = quote(room.room_id), quote(user_id)
        refused: list[tuple[str, str, Any]] = [
            ("POST", f"/_synapse/admin/v1/users/{user_q}/login", {}),
            ("POST", f"/_synapse/admin/v1/purge_history/{room_q}", {"delete_local_events": True}),
            ("DELETE", f"/_synapse/admin/v1/rooms/{room_q}", {"purge": True}),
            ("DELETE", f"/_synapse/admin/v2/rooms/{room_q}", {"purge": True}),
            ("POST", f"/_synapse/admin/v1/shutdown_room/{room_q}", {}),
            ("DELETE", f"/_synapse/admin/v1/media/{stack.server_name}/abcdef", None),
            ("POST", f"/_synapse/admin/v1/media/delete?before_ts={2**40}", None),
            ("POST", f"/_synapse/admin/v1/media/quarantine/{stack.server_name}/abcdef", None),
            ("POST", f"/_synapse/admin/v1/room/{room_q}/media/quarantine", None),
            ("DELETE", f"/_synapse/admin/v1/users/{user_q}/media", None),
            ("POST", f"/_synapse/admin/v1/user/{user_q}/redact", {"rooms": [room.room_id]}),
            ("POST", "/_synapse/admin/v1/event_reports/1/redact", {}),
            ("GET", "/_synapse/admin/v1/register", None),
            ("POST", f"/_synapse/admin/v1/users/{user_q}/shadow_ban", None),
        ]
        for token in (stack.as_token, staff.access_token):
            for method, path, body in refused:
                status, answer = await raw(stack, method, path, token, body)
                assert status == 403, (method, path, status, answer)
                assert answer["errcode"] == "M_FORBIDDEN", answer
                assert "organisation's policy" in answer["error"], answer
                assert answer[REASON_KEY] == AdminApiReason.NOT_ALLOWED, answer
        # Nothing happened: the message is still there, the room still exists.
        members = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_q}/members")
        assert user_id in members["members"]
        page = await stack.admin("GET", f"/_synapse/admin/v1/rooms/{room_q}/messages?dir=b&limit=50")
        assert sent.event_id in {e["event_id"] for e in page["chunk"]}
    finally:
        await stack.admin("PUT", f"/_synapse/admin/v2/users/{quote(user_id)}", {"admin": False})
        await staff.close()


async def test_a_reset_that_keeps_sessions_and_an_erasing_deactivation_are_refused(stack: Stack) -> None:
    """The variants Carebridge never uses: a password reset with logout_devices false (the
    token holder could sign in unnoticed) and a deactivation that erases."""
    user_id, _ = await stack.create_user()
    user_q = quote(user_id)
    status, answer = await raw(
        stack,
        "POST",
        f"/_synapse/admin/v1/reset_password/{user_q}",
        stack.as_token,
        {"new_password": strong_password(), "logout_devices": False},
    )
    assert (status, answer[REASON_KEY]) == (403, AdminApiReason.KEEPS_SESSIONS), answer
    status, answer = await raw(
        stack,
        "PUT",
        f"/_synapse/admin/v2/users/{user_q}",
        stack.as_token,
        {"password": strong_password(), "logout_devices": False},
    )
    assert (status, answer[REASON_KEY]) == (403, AdminApiReason.KEEPS_SESSIONS), answer
    status, answer = await raw(
        stack, "POST", f"/_synapse/admin/v1/deactivate/{user_q}", stack.as_token, {"erase": True}
    )
    assert (status, answer[REASON_KEY]) == (403, AdminApiReason.ERASES), answer
    account = await stack.admin("GET", f"/_synapse/admin/v2/users/{user_q}")
    assert account["deactivated"] is False


async def test_carebridge_admin_calls_work_and_are_archived_as_admin_actions(stack: Stack) -> None:
    """A password reset (as `carebridge user reset-password` makes it, naming the OS
    operator) is answered 200 and archived with who, what, whom, the status and the safe
    parameters, never the password; a refused login-as by the bot's token is archived too."""
    user_id, _ = await stack.create_user()
    user_q = quote(user_id)
    new_password = strong_password()
    await stack.admin(
        "POST",
        f"/_synapse/admin/v1/reset_password/{user_q}?carebridge_operator=kim.it",
        {"new_password": new_password, "logout_devices": True},
    )
    status, _ = await raw(stack, "POST", f"/_synapse/admin/v1/users/{user_q}/login", stack.as_token, {})
    assert status == 403

    def mine(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if r.get("target") == user_id and r["endpoint"] != "users.put"]

    # (a refused call names its target too: whom the token holder tried to sign in as)

    records = await wait_for(
        lambda: admin_actions(stack), lambda r: len(mine(r)) >= 2, timeout=30, what="admin action records"
    )
    reset, login_as = sorted(mine(records), key=lambda r: r["ts"])
    assert reset["endpoint"] == "reset_password" and reset["method"] == "POST", reset
    assert reset["actor"] == stack.s.bot_user_id and reset["status"] == 200, reset
    assert reset["operator"] == "os-user:kim.it", reset
    assert reset["parameters"] == {"logout_devices": True}, reset
    assert login_as["status"] == 403 and login_as["endpoint"] == "v1/users/login", login_as
    assert login_as["parameters"] == {"refused": AdminApiReason.NOT_ALLOWED}, login_as
    assert new_password not in str(records)
    # The account creation by the harness (PUT v2/users) is an admin action too: fields named,
    # values left out.
    created = [r for r in records if r.get("target") == user_id and r["endpoint"] == "users.put"]
    assert created and "password" in created[0]["parameters"]["fields"], created
    assert created[0]["parameters"]["admin"] is False
