"""Carebridge's own Matrix event types and content keys, in one place (as mautrix has
`EventType`). Every `org.carebridge.*` name the module, the bridge and the CLI send or read
is defined here and nowhere else, so a record written by one part is found by the others.

Records (sent by the bot, archived like every event):
- `ACCOUNT_EVENT_TYPE` an account change (created, password changed, deactivated);
- `PROFILE_EVENT_TYPE` a change of a person's display name or avatar, as Synapse stored it;
- `SESSION_EVENT_TYPE` a sign-in, sign-out or failed sign-in (45 CFR 164.312(b));
- `ADMIN_ACTION_EVENT_TYPE` a call to Synapse's admin API that changed something, or
  one the module refused (policy/admin_api.py);
- `EXPORT_RECORD_TYPE` an export of archived messages, before and after it runs;
- `MEDIA_RECORD_TYPE` the digest of a file copied into the archive;
- `HEAD_EVENT_TYPE` a published chain head of the archive;
- `MALFORMED_EVENT_TYPE` the sealed wrapper of an event the bridge could not parse.

Room state: `CHANNEL_STATE_TYPE` a channel's rights (post / respond / closed).
Content keys: `KIND_KEY` (channel or dm, in `m.room.create`), `REASON_KEY` (why the
module refused), `CASE_KEY` (which case of that rule, e.g. the kind of active content in a
file), `CALL_KEY`, `MISSED_CALL_KEY`, `REFUSED_COMMAND_KEY` (on bot notices).
"""

from __future__ import annotations

from typing import Final

CAREBRIDGE_PREFIX: Final = "org.carebridge."

ACCOUNT_EVENT_TYPE: Final = "org.carebridge.account"
SESSION_EVENT_TYPE: Final = "org.carebridge.session"
ADMIN_ACTION_EVENT_TYPE: Final = "org.carebridge.admin_action"
PROFILE_EVENT_TYPE: Final = "org.carebridge.profile"
EXPORT_RECORD_TYPE: Final = "org.carebridge.export"
MEDIA_RECORD_TYPE: Final = "org.carebridge.media"
HEAD_EVENT_TYPE: Final = "org.carebridge.chain_head"
MALFORMED_EVENT_TYPE: Final = "org.carebridge.malformed"

CHANNEL_STATE_TYPE: Final = "org.carebridge.channel"

KIND_KEY: Final = "org.carebridge.kind"
REASON_KEY: Final = "org.carebridge.reason"
CASE_KEY: Final = "org.carebridge.case"
CALL_KEY: Final = "org.carebridge.call"
MISSED_CALL_KEY: Final = "org.carebridge.missed_call"
REFUSED_COMMAND_KEY: Final = "org.carebridge.refused_command"

# Roles on shift and urgent messages (issue 23).
# Records: `ROLE_HANDOVER_TYPE` who holds a role from when, by rota / by hand / taken
# (in the administrators' room, and as a notice key in each of the role's rooms);
# `URGENT_RECORD_TYPE` a step of an urgent message (alerted, read, forwarded, escalated),
# in the message's room; `AWAY_RECORD_TYPE` someone set or cleared "do not disturb".
# State: `ROLE_ROOM_STATE_TYPE` marks a role room (target role, requester).
# Content keys: `URGENT_KEY` (true on an urgent m.room.message: any client may set it),
# `FORWARDED_KEY` (on the bot's copy of a message sent to an empty role or escalated).
ROLE_HANDOVER_TYPE: Final = "org.carebridge.role.handover"
URGENT_RECORD_TYPE: Final = "org.carebridge.urgent.record"
AWAY_RECORD_TYPE: Final = "org.carebridge.away"
ROLE_ROOM_STATE_TYPE: Final = "org.carebridge.role_room"
URGENT_KEY: Final = "org.carebridge.urgent"
FORWARDED_KEY: Final = "org.carebridge.forwarded"
