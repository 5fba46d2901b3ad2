"""Channel rights as power levels (pure): who Synapse lets send, and what nobody may do."""

from __future__ import annotations

from policy.channel_power import (
    BOT_LEVEL,
    can_send_messages,
    channel_power_levels,
    channel_state_content,
    closed_power_levels,
    power_levels_match,
)

BOT = "@carebridge:x"


def test_readers_cannot_send_writers_can_and_nobody_redacts() -> None:
    access = {"@p:x": "post", "@r:x": "respond", "@a:x": "read", "@b:x": "read", "@adm:x": "post"}
    levels = channel_power_levels(BOT, access, admins={"@adm:x"})
    assert [u for u in access if can_send_messages(levels, u)] == ["@p:x", "@r:x", "@adm:x"]
    assert levels["users"][BOT] == BOT_LEVEL and levels["users"]["@adm:x"] == 50
    assert levels["redact"] == BOT_LEVEL and levels["events"]["m.room.redaction"] == BOT_LEVEL
    assert levels["events"]["m.room.power_levels"] == BOT_LEVEL
    assert levels["events"]["org.carebridge.channel"] == BOT_LEVEL
    assert max(v for u, v in levels["users"].items() if u != BOT) < levels["redact"]


def test_large_writer_majority_is_compact() -> None:
    access = {f"@w{i}:x": "post" for i in range(2000)} | {"@reader:x": "read"}
    levels = channel_power_levels(BOT, access)
    assert levels["users_default"] == 10 and set(levels["users"]) == {"@reader:x", BOT}
    assert not can_send_messages(levels, "@reader:x") and can_send_messages(levels, "@w1999:x")


def test_closed_channel_is_read_only_for_everyone_but_keeps_members() -> None:
    levels = channel_power_levels(BOT, {"@p:x": "post", "@a:x": "read"})
    closed = closed_power_levels(levels)
    assert not can_send_messages(closed, "@p:x") and can_send_messages(closed, BOT)
    assert closed["users"] == levels["users"] and closed["invite"] == BOT_LEVEL
    assert channel_power_levels(BOT, {"@p:x": "post"}, closed=True)["events_default"] == BOT_LEVEL


def test_match_ignores_keys_we_do_not_manage() -> None:
    desired = channel_power_levels(BOT, {"@p:x": "post"})
    assert power_levels_match({**desired, "m.future": 1}, desired)
    assert not power_levels_match({**desired, "events_default": 0}, desired)
    assert not power_levels_match(None, desired)


def test_channel_state_lists_posters_and_responders() -> None:
    content = channel_state_content("icu", {"@b:x": "post", "@a:x": "respond", "@c:x": "read"})
    assert content == {"name": "icu", "post": ["@b:x"], "respond": ["@a:x"], "closed": False}
