"""Carebridge's own Matrix event types and content keys, in one place (as mautrix has
`EventType`). Every `org.carebridge.*` name the module, the bridge and the CLI send or read
is defined here and nowhere else, so a record written by one part is found by the others.

Records (sent by the bot, archived like every event):
- `ACCOUNT_EVENT_TYPE` an account change (created, password changed, deactivated);
- `SESSION_EVENT_TYPE` a sign-in, sign-out or failed sign-in (45 CFR 164.312(b));
- `EXPORT_RECORD_TYPE` an export of archived messages, before and after it runs;
- `MEDIA_RECORD_TYPE` the digest of a file copied into the archive;
- `HEAD_EVENT_TYPE` a published chain head of the archive;
- `MALFORMED_EVENT_TYPE` the sealed wrapper of an event the bridge could not parse.

Room state: `CHANNEL_STATE_TYPE` a channel's rights (post / respond / closed).
Content keys: `KIND_KEY` (channel or dm, in `m.room.create`), `REASON_KEY` (why the
module refused), `CALL_KEY`, `MISSED_CALL_KEY`, `REFUSED_COMMAND_KEY` (on bot notices).
"""

from __future__ import annotations

from typing import Final

CAREBRIDGE_PREFIX: Final = "org.carebridge."

ACCOUNT_EVENT_TYPE: Final = "org.carebridge.account"
SESSION_EVENT_TYPE: Final = "org.carebridge.session"
EXPORT_RECORD_TYPE: Final = "org.carebridge.export"
MEDIA_RECORD_TYPE: Final = "org.carebridge.media"
HEAD_EVENT_TYPE: Final = "org.carebridge.chain_head"
MALFORMED_EVENT_TYPE: Final = "org.carebridge.malformed"

CHANNEL_STATE_TYPE: Final = "org.carebridge.channel"

KIND_KEY: Final = "org.carebridge.kind"
REASON_KEY: Final = "org.carebridge.reason"
CALL_KEY: Final = "org.carebridge.call"
MISSED_CALL_KEY: Final = "org.carebridge.missed_call"
REFUSED_COMMAND_KEY: Final = "org.carebridge.refused_command"
