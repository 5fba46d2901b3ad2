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
