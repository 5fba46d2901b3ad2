"""The admin API allow-list (pure): Carebridge's own calls pass, everything else is refused,
the variants Carebridge never uses are refused, records keep only safe parameters, and
every admin API path in bridge/ and provisioning/ is on the list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bridge.core.room_ops import admin_room_path
from policy.admin_api import (
    ENDPOINTS,
    AdminActionRecord,
    AdminApiReason,
    action_parameters,
    decide_admin_request,
    find_endpoint,
)

REPO = Path(__file__).resolve().parents[2]
USER = "%40nurse%3Aclinic.example"
ROOM = "%21abc%3Aclinic.example"


@pytest.mark.parametrize(
    ("method", "path", "name", "target"),
    [
        ("GET", "/_synapse/admin/v1/server_version", "server_version", None),
        ("GET", f"/_synapse/admin/v2/users/{USER}", "users.get", "@nurse:clinic.example"),
        (
            "GET",
            "/_synapse/admin/v2/users/@carebridge:clinic.example",
            "users.get",
            "@carebridge:clinic.example",
        ),
        ("HEAD", "/_synapse/admin/v2/users", "users.list", None),
        ("PUT", f"/_synapse/admin/v2/users/{USER}", "users.put", "@nurse:clinic.example"),
        ("POST", f"/_synapse/admin/v1/reset_password/{USER}", "reset_password", "@nurse:clinic.example"),
        (
            "POST",
            f"/_synapse/admin/v2/users/{USER}/delete_devices",
            "users.delete_devices",
            "@nurse:clinic.example",
        ),
        ("GET", admin_room_path("!abc:clinic.example", "members"), "rooms.members", "!abc:clinic.example"),
        (
            "POST",
            admin_room_path("!abc:clinic.example", "make_room_admin"),
            "rooms.make_room_admin",
            "!abc:clinic.example",
        ),
        ("GET", "/_synapse/admin/v1/media/clinic.example/abc", "media.get", "clinic.example"),
    ],
)
def test_carebridge_calls_are_found(method: str, path: str, name: str, target: str | None) -> None:
    call = find_endpoint(method, path)
    assert call is not None and call.endpoint.name == name and call.target == target


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/_synapse/admin/v1/users/{USER}/login"),
        ("POST", f"/_synapse/admin/v1/purge_history/{ROOM}"),
        ("POST", f"/_synapse/admin/v1/purge_history/{ROOM}/$event"),
        ("DELETE", f"/_synapse/admin/v1/rooms/{ROOM}"),
        ("DELETE", f"/_synapse/admin/v2/rooms/{ROOM}"),
        ("DELETE", "/_synapse/admin/v1/media/clinic.example/abc"),  # GET of the same path is allowed
        ("POST", "/_synapse/admin/v1/media/delete"),
        ("POST", "/_synapse/admin/v1/media/quarantine/clinic.example/abc"),
        ("POST", f"/_synapse/admin/v1/user/{USER}/redact"),
        ("POST", "/_synapse/admin/v1/event_reports/3/redact"),
        ("GET", "/_synapse/admin/v1/register"),
        ("GET", f"/_synapse/admin/v1/rooms/{ROOM}"),  # room details: Carebridge never asks
        ("DELETE", f"/_synapse/admin/v2/users/{USER}/devices/ABC"),
        ("GET", f"/_synapse/admin/v2/users/{USER}/"),  # trailing slash: not Carebridge's shape
        ("GET", f"/_synapse/admin/v2/users/{USER}/devices/../../../v1/purge_history"),
        ("GET", "/_synapse/admin/v3/users"),
        ("GET", "/_synapse/admin/"),
        ("GET", "/_synapse/admin"),
    ],
)
def test_everything_else_is_refused(method: str, path: str) -> None:
    decision, _ = decide_admin_request(method, path, None)
    assert not decision.allowed and decision.reason == AdminApiReason.NOT_ALLOWED
    assert decision.errcode == "M_FORBIDDEN" and "organisation's policy" in (decision.message or "")


def test_variants_carebridge_never_uses_are_refused() -> None:
    reset = f"/_synapse/admin/v1/reset_password/{USER}"
    assert (
        decide_admin_request("POST", reset, {"logout_devices": False})[0].reason
        == AdminApiReason.KEEPS_SESSIONS
    )
    assert decide_admin_request("POST", reset, {"logout_devices": True})[0].allowed
    assert decide_admin_request("POST", reset, {"new_password": "x"})[0].allowed
    put = f"/_synapse/admin/v2/users/{USER}"
    assert (
        decide_admin_request("PUT", put, {"password": "x", "logout_devices": False})[0].reason
        == AdminApiReason.KEEPS_SESSIONS
    )
    deactivate = f"/_synapse/admin/v1/deactivate/{USER}"
    assert decide_admin_request("POST", deactivate, {"erase": True})[0].reason == AdminApiReason.ERASES
    assert decide_admin_request("POST", deactivate, {"erase": False})[0].allowed
    assert decide_admin_request("OPTIONS", "/_synapse/admin/v1/purge_history/x", None)[0].allowed


def test_records_keep_flags_and_field_names_never_values() -> None:
    put = find_endpoint("PUT", f"/_synapse/admin/v2/users/{USER}")
    assert put is not None
    params = action_parameters(put, {"password": "Secret-1!", "displayname": "Dr. Who", "admin": False})
    assert params == {"fields": ["admin", "displayname", "password"], "admin": False}
    reset = find_endpoint("POST", f"/_synapse/admin/v1/reset_password/{USER}")
    assert reset is not None
    assert action_parameters(reset, {"new_password": "Secret-1!"}) == {"logout_devices": True}
    record = AdminActionRecord(1, "@carebridge:x", "users.put", "PUT", "@nurse:x", 200, params, "os-user:kim")
    content = record.content()
    assert "Secret-1!" not in str(content) and "Dr. Who" not in str(content)
    assert content["body"] == "Admin API: @carebridge:x (run by os-user:kim) users.put @nurse:x -> 200"


def test_the_list_is_indexed_without_clashes() -> None:
    names = [e.name for e in ENDPOINTS]
    assert len(names) == len(set(names))


_ADMIN_LITERAL = re.compile(r'f?"(?:/_synapse/admin|\{ADMIN\})/(v\d+/[^"?]*)')


def _on_the_list(written: str) -> bool:
    """Whether a path as written in the code (with {expressions}) can only be calls on the
    list: an {expression} may stand for an id or for a fixed word the list has there."""
    version, _, rest = re.sub(r"\{[^}]*\}", "\0", written).partition("/")
    segments = [s.replace("\0\0", "\0") for s in rest.split("/")]
    for endpoint in ENDPOINTS:
        wanted = endpoint.pattern.split("/")
        if endpoint.version != version or len(wanted) != len(segments):
            continue
        if all(seg == "\0" or want in (seg, "{id}") for seg, want in zip(segments, wanted, strict=True)):
            return True
    return False


def test_every_admin_call_in_the_code_is_on_the_list() -> None:
    """Any `/_synapse/admin/...` path written in bridge/ or provisioning/ must be on the
    list: a new admin call needs its line in policy/admin_api.py, or the module refuses it
    in production."""
    found = 0
    for folder in ("bridge", "provisioning"):
        for source in (REPO / folder).rglob("*.py"):
            for match in _ADMIN_LITERAL.finditer(source.read_text()):
                assert _on_the_list(match.group(1)), (
                    f"{source.relative_to(REPO)}: {match.group(0)} is not listed"
                )
                found += 1
    assert found >= 15, found
    assert not _on_the_list("v1/purge_history/{seg(room)}")
    assert not _on_the_list("v1/users/{seg(user)}/login")
