"""Pure staff-experience rules: rooms, respond-only, invites, room settings, files, m.direct."""

from __future__ import annotations

from typing import Any

import pytest

from policy.direct import direct_additions, merge_direct
from policy.file_content import inspect_content
from policy.files import FilePolicy, decide_file, decide_upload_size, mime_allowed
from policy.invites import InviteeFacts, decide_invite, decide_third_party_invite
from policy.module.staff_config import StaffConfig, StaffConfigError
from policy.respond_only import (
    ChannelRights,
    TargetFacts,
    decide_message,
    decide_read_only,
    targets_to_look_up,
)
from policy.room_request import sanitise_room_config, sanitised_initial_state
from policy.room_settings import decide_alias, decide_publish, decide_state_change
from policy.rooms import RoomKind, RoomRequest, classify, creation_power_override, decide_room_creation
from policy.staff_decision import Reason

BOT = "@carebridge:hs"
ALICE, BOB, CAROL = "@alice:hs", "@bob:hs", "@carol:hs"


def req(**config: object) -> RoomRequest:
    return RoomRequest.from_config(config, BOT)


@pytest.mark.parametrize(
    ("config", "kind"),
    [
        ({"is_direct": True, "invite": [BOB]}, RoomKind.DM),
        ({"is_direct": True, "invite": [BOB, CAROL], "name": "handover"}, RoomKind.DM),
        ({"is_direct": True, "preset": "trusted_private_chat", "invite": [BOB]}, RoomKind.DM),
        ({"is_direct": True, "invite": [BOB], "room_alias_name": "x"}, RoomKind.CHANNEL),
        ({"is_direct": True, "invite": [BOB], "visibility": "public"}, RoomKind.CHANNEL),
        ({"is_direct": True, "invite": [BOB], "preset": "public_chat"}, RoomKind.CHANNEL),
        ({"is_direct": True, "invite": [f"@u{i}:hs" for i in range(10)]}, RoomKind.CHANNEL),
        ({"is_direct": True, "invite_3pid": [{"address": "a@b"}]}, RoomKind.CHANNEL),
        ({"name": "ICU", "invite": [BOB]}, RoomKind.CHANNEL),
        ({}, RoomKind.CHANNEL),
        ({"creation_content": {}, "initial_state": []}, RoomKind.CHANNEL),  # room upgrade
    ],
)
def test_dm_or_channel(config: dict[str, object], kind: RoomKind) -> None:
    assert classify(req(**config)) is kind


def test_bot_is_not_counted_as_dm_invitee() -> None:
    assert req(is_direct=True, invite=[BOB, BOT]).invitees == (BOB,)


def test_room_creation_rights() -> None:
    channel = req(name="ICU")
    dm = req(is_direct=True, invite=[BOB])
    assert decide_room_creation(ALICE, dm, frozenset(), BOT).reason is Reason.DM
    refused = decide_room_creation(ALICE, channel, frozenset({BOB}), BOT)
    assert not refused.allowed and refused.reason is Reason.CHANNEL_NOT_CREATOR
    assert refused.message and "direct message" in refused.message
    assert decide_room_creation(BOB, channel, frozenset({BOB}), BOT).reason is Reason.CHANNEL_BY_CREATOR
    assert decide_room_creation(BOT, channel, frozenset(), BOT).reason is Reason.BOT


def test_creation_power_override_puts_bot_above_creator() -> None:
    override = creation_power_override(ALICE, BOT, {"users": {ALICE: 100, BOB: 100}, "events_default": 0})
    assert override["users"] == {ALICE: 99, BOB: 99, BOT: 100}
    assert override["events_default"] == 0
    assert override["events"]["m.room.power_levels"] == 99


RIGHTS = ChannelRights.from_content({"name": "icu", "post": [ALICE], "respond": [BOB, ALICE]})
MESSAGE = "m.room.message"


def test_respond_only_top_level_refused_reply_and_thread_allowed() -> None:
    top = decide_message(BOB, MESSAGE, {"msgtype": "m.text", "body": "hi"}, RIGHTS)
    assert not top.allowed and top.reason is Reason.TOP_LEVEL_BY_RESPONDER
    here = {"$a": TargetFacts(in_room=True, sender=ALICE, event_type=MESSAGE)}
    reply = {"body": "ok", "m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}}
    assert decide_message(BOB, MESSAGE, reply, RIGHTS, here).reason is Reason.REPLY
    thread = {"body": "ok", "m.relates_to": {"rel_type": "m.thread", "event_id": "$a"}}
    assert decide_message(BOB, MESSAGE, thread, RIGHTS, here).reason is Reason.THREAD
    assert targets_to_look_up(BOB, MESSAGE, thread, RIGHTS) == ("$a",)
    elsewhere = decide_message(BOB, MESSAGE, reply, RIGHTS, {"$a": TargetFacts(in_room=False)})
    assert elsewhere.reason is Reason.RELATION_TARGET_UNKNOWN


def test_respond_only_replies_only_to_messages_and_sends_nothing_else() -> None:
    """Replies/threads on state or membership events, custom types and calls are refused;
    a reaction to a message is allowed."""
    reply = {"body": "ok", "m.relates_to": {"m.in_reply_to": {"event_id": "$c"}}}
    for target in (
        TargetFacts(True, ALICE, "m.room.create", is_state=True),
        TargetFacts(True, ALICE, "m.room.member", is_state=True),
        TargetFacts(True, ALICE, "m.room.message", is_state=True),
        TargetFacts(True, ALICE, "org.example.custom"),
    ):
        refused = decide_message(BOB, MESSAGE, reply, RIGHTS, {"$c": target})
        assert refused.reason is Reason.RELATION_TARGET_NOT_MESSAGE, target
    thread_on_state = {"m.relates_to": {"rel_type": "m.thread", "event_id": "$c"}}
    state = {"$c": TargetFacts(True, ALICE, "m.room.power_levels", is_state=True)}
    assert not decide_message(BOB, MESSAGE, thread_on_state, RIGHTS, state).allowed
    for event_type in ("m.call.invite", "org.example.custom", "m.poll.start", "m.room.encrypted"):
        assert decide_message(BOB, event_type, reply, RIGHTS).reason is Reason.NOT_A_REPLY_BY_RESPONDER
    reaction = {"m.relates_to": {"rel_type": "m.annotation", "event_id": "$m", "key": "+1"}}
    message = {"$m": TargetFacts(True, ALICE, MESSAGE)}
    assert decide_message(BOB, "m.reaction", reaction, RIGHTS, message).reason is Reason.REACTION
    assert not decide_message(BOB, "m.reaction", {"body": "x"}, RIGHTS).allowed


def test_read_only_member_told_in_the_organisations_words() -> None:
    """Someone the power levels keep from writing gets a sentence, not a power level."""
    levels = {"users": {ALICE: 10}, "users_default": 0, "events_default": 10}
    refused = decide_read_only(CAROL, levels, RIGHTS)
    assert refused.reason is Reason.READ_ONLY_MEMBER and "read this channel" in (refused.message or "")
    assert decide_read_only(ALICE, levels, RIGHTS).allowed, "a writer keeps Synapse's answer for the rest"
    closed = ChannelRights.from_content({"post": [ALICE], "closed": True})
    assert decide_read_only(CAROL, levels, closed).reason is Reason.CHANNEL_CLOSED
    assert decide_read_only(CAROL, levels, None).allowed


def test_respond_only_edits_only_of_own_messages() -> None:
    edit = {"m.new_content": {"body": "x"}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$r"}}
    assert decide_message(BOB, MESSAGE, edit, RIGHTS, {"$r": TargetFacts(True, BOB, MESSAGE)}).allowed
    assert not decide_message(BOB, MESSAGE, edit, RIGHTS, {"$r": TargetFacts(True, ALICE, MESSAGE)}).allowed


def test_respond_only_does_not_touch_posters_others_or_non_messages() -> None:
    body = {"body": "hi"}
    assert decide_message(ALICE, MESSAGE, body, RIGHTS).reason is Reason.NOT_RESPOND_ONLY
    assert decide_message(CAROL, MESSAGE, body, RIGHTS).reason is Reason.NOT_RESPOND_ONLY
    assert decide_message(BOB, MESSAGE, body, None).reason is Reason.NOT_A_CHANNEL
    encrypted = decide_message(BOB, "m.room.encrypted", {"ciphertext": "..."}, RIGHTS)
    assert not encrypted.allowed


def test_invites() -> None:
    assert decide_invite(InviteeFacts(local=True, exists=True, deactivated=False)).allowed
    assert decide_invite(InviteeFacts(False, False, False)).reason is Reason.INVITEE_REMOTE
    assert decide_invite(InviteeFacts(True, False, False)).reason is Reason.INVITEE_UNKNOWN
    assert decide_invite(InviteeFacts(True, True, True)).reason is Reason.INVITEE_DEACTIVATED
    assert not decide_third_party_invite().allowed


def test_room_settings() -> None:
    hv = "m.room.history_visibility"
    assert not decide_state_change(ALICE, hv, {"history_visibility": "joined"}, BOT).allowed
    assert decide_state_change(ALICE, hv, {"history_visibility": "shared"}, BOT).allowed
    assert decide_state_change(BOT, hv, {"history_visibility": "joined"}, BOT).allowed
    assert not decide_state_change(ALICE, "m.room.join_rules", {"join_rule": "public"}, BOT).allowed
    assert decide_state_change(ALICE, "m.room.join_rules", {"join_rule": "invite"}, BOT).allowed
    assert decide_state_change(ALICE, "m.room.topic", {"topic": "x"}, BOT).allowed
    planted = decide_state_change(ALICE, "org.carebridge.channel", {"post": [], "respond": [BOB]}, BOT)
    assert planted.reason is Reason.CAREBRIDGE_STATE
    assert decide_state_change(BOT, "org.carebridge.channel", {}, BOT).allowed
    assert not decide_publish(ALICE, BOT).allowed
    state = sanitised_initial_state(
        [
            {"type": hv, "content": {"history_visibility": "invited"}},
            {"type": "x", "content": {}},
            {"type": "m.room.topic", "content": {"topic": "ward"}},
            {"type": "m.room.name", "state_key": "other", "content": {"name": "n"}},
        ]
    )
    by_type = {s["type"]: s["content"] for s in state}
    assert list(by_type) == ["m.room.topic", "m.room.join_rules", hv, "m.room.guest_access"]
    assert (
        by_type[hv] == {"history_visibility": "shared"}
        and by_type["m.room.join_rules"]["join_rule"] == "invite"
    )


def test_room_request_rewritten_to_the_rules_room() -> None:
    """A channel request loses public preset/visibility and client creation content; a DM
    also loses power-level overrides; key names refused are reported."""
    channel: dict[str, Any] = {
        "preset": "public_chat",
        "visibility": "public",
        "creation_content": {"type": "m.space"},
    }
    assert sanitise_room_config(channel, RoomKind.CHANNEL) == ["preset", "visibility", "creation_content"]
    assert (channel["preset"], channel["visibility"]) == ("private_chat", "private")
    assert channel["creation_content"] == {"m.federate": False, "org.carebridge.kind": "channel"}
    dm: dict[str, Any] = {"is_direct": True, "power_level_content_override": {"users_default": 100}}
    assert sanitise_room_config(dm, RoomKind.DM) == ["power_level_content_override"]
    assert "power_level_content_override" not in dm and dm["preset"] == "private_chat"


def test_alias_only_at_channel_creation_or_by_the_bot() -> None:
    assert decide_alias(BOT, BOT, creating_room=False).allowed
    assert decide_alias(ALICE, BOT, creating_room=True).allowed
    refused = decide_alias(ALICE, BOT, creating_room=False)
    assert refused.reason is Reason.ALIAS_REFUSED and "Only channels have an address" in (
        refused.message or ""
    )


POLICY = FilePolicy(
    1024 * 1024, ("image/*", "application/pdf", "text/csv"), "Max {max_upload_mb} MB!", "Nope."
)
PDF = b"%PDF-1.7\n" + b"x" * 64
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 64


def test_upload_size_limit_and_message() -> None:
    assert decide_upload_size(POLICY, 1024 * 1024).allowed
    over = decide_upload_size(POLICY, 1024 * 1024 + 1)
    assert not over.allowed and over.message == "Max 1 MB!" and over.errcode == "M_TOO_LARGE"


def test_upload_types_by_content() -> None:
    assert inspect_content(PDF).mime == "application/pdf"
    assert inspect_content("naïve,csv\n1,2\n".encode()).mime == "text/plain"
    assert inspect_content(b"\x00\x01\x02").mime == "application/octet-stream"
    assert decide_file(POLICY, b"a,b\n1,2\n").allowed  # text counts as text/csv
    refused = decide_file(POLICY, ELF)
    assert not refused.allowed and refused.message == "Nope."
    assert mime_allowed(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ["application/vnd.openxmlformats-officedocument.*"],
    )


def test_staff_module_config() -> None:
    parsed = StaffConfig.parse(
        {"files": {"max_bytes": 10, "allowed_types": ["image/*"]}, "max_dm_invitees": 3}
    )
    assert parsed.files.max_bytes == 10 and parsed.max_dm_invitees == 3
    assert StaffConfig.parse(None).files.max_bytes == 50 * 1024 * 1024
    for bad in (
        {"filez": {}},
        {"files": {"max_bytes": -1}},
        {"files": {"allowed_types": []}},
        {"max_dm_invitees": 0},
    ):
        with pytest.raises(StaffConfigError):
            StaffConfig.parse(bad)


def test_m_direct_merge_only_adds() -> None:
    current = {BOB: ["!old"], "junk": 3}
    merged = merge_direct(current, {BOB: ["!dm"], CAROL: ["!dm"]})
    assert merged == {BOB: ["!old", "!dm"], CAROL: ["!dm"]}
    assert merge_direct(merged, {BOB: ["!dm"]}) == merged
    assert direct_additions([ALICE, BOB, CAROL], ALICE, "!dm") == {BOB: ["!dm"], CAROL: ["!dm"]}
