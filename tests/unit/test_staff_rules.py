"""Pure staff-experience rules: rooms, respond-only, invites, room settings, files, m.direct."""

from __future__ import annotations

import pytest

from policy.direct import direct_additions, merge_direct
from policy.file_content import inspect_content
from policy.files import FilePolicy, decide_file, decide_upload_size, mime_allowed
from policy.invites import InviteeFacts, decide_invite, decide_third_party_invite
from policy.module.staff_config import StaffConfig, StaffConfigError
from policy.respond_only import ChannelRights, TargetFacts, decide_message, needs_target_lookup
from policy.room_settings import decide_publish, decide_state_change, shared_history_initial_state
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
    here = TargetFacts(in_room=True, sender=ALICE)
    reply = {"body": "ok", "m.relates_to": {"m.in_reply_to": {"event_id": "$a"}}}
    assert decide_message(BOB, MESSAGE, reply, RIGHTS, here).reason is Reason.REPLY
    thread = {"body": "ok", "m.relates_to": {"rel_type": "m.thread", "event_id": "$a"}}
    assert decide_message(BOB, MESSAGE, thread, RIGHTS, here).reason is Reason.THREAD
    assert needs_target_lookup(BOB, MESSAGE, thread, RIGHTS)
    elsewhere = decide_message(BOB, MESSAGE, reply, RIGHTS, TargetFacts(in_room=False))
    assert elsewhere.reason is Reason.RELATION_TARGET_UNKNOWN


def test_respond_only_edits_only_of_own_messages() -> None:
    edit = {"m.new_content": {"body": "x"}, "m.relates_to": {"rel_type": "m.replace", "event_id": "$r"}}
    assert decide_message(BOB, MESSAGE, edit, RIGHTS, TargetFacts(True, BOB)).allowed
    assert not decide_message(BOB, MESSAGE, edit, RIGHTS, TargetFacts(True, ALICE)).allowed


def test_respond_only_does_not_touch_posters_others_or_non_messages() -> None:
    body = {"body": "hi"}
    assert decide_message(ALICE, MESSAGE, body, RIGHTS).reason is Reason.NOT_RESPOND_ONLY
    assert decide_message(CAROL, MESSAGE, body, RIGHTS).reason is Reason.NOT_RESPOND_ONLY
    assert decide_message(BOB, "m.reaction", body, RIGHTS).reason is Reason.NOT_A_MESSAGE
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
    assert not decide_publish(ALICE, BOT).allowed
    state = shared_history_initial_state(
        [{"type": hv, "content": {"history_visibility": "invited"}}, {"type": "x"}]
    )
    assert [s["type"] for s in state] == ["x", hv] and state[1]["content"]["history_visibility"] == "shared"


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
