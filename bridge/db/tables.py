"""Table definitions (SQLAlchemy Core). The schema itself is created by the migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# Every appservice transaction Synapse delivered and we committed (replays are no-ops).
as_transactions = Table(
    "as_transactions",
    metadata,
    Column("txn_id", String(255), primary_key=True),
    Column("received_ts", BigInteger, nullable=False),
    Column("event_count", Integer, nullable=False),
)

# The append-only, encrypted, hash-chained archive of every event.
archive_events = Table(
    "archive_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("room_id", String(255), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("state_key", String(255), nullable=True),
    Column("origin_ts", BigInteger, nullable=False),
    Column("received_ts", BigInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("prev_hash", LargeBinary(32), nullable=False),
    Column("row_hash", LargeBinary(32), nullable=False),
    # HMAC of row_hash under the chain key (bridge.archive.chain.ChainKey); NULL for rows
    # written before the archive had a chain key (migration 0021).
    Column("row_mac", LargeBinary(32), nullable=True),
)

# How far each post-commit consumer (rooms, calls, commands...) has processed the archive.
consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

# --- Direct messages and calls (migration 0006). Times are epoch milliseconds. ---------

# One row per DM room (one-to-one or small group), from its m.room.create / is_direct invites.
dm_rooms = Table(
    "dm_rooms",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("created_by", String(255), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
)

# Who is (or was) in each DM: membership is the latest m.room.member state for them.
dm_members = Table(
    "dm_members",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("membership", String(16), nullable=False),
    Column("first_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    Index("ix_dm_members_user", "user_id"),
)

# The call log: one row per WebRTC call (m.call.invite), updated by answer/reject/hangup.
# outcome: ringing | answered | rejected | declined | missed | refused (more than two
# people in the room; hung up by the bot). kind: audio | video (from the SDP offer).
calls = Table(
    "calls",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("call_id", String(255), primary_key=True),
    Column("caller", String(255), nullable=False),
    Column("callee", String(255), nullable=True),
    Column("kind", String(8), nullable=False),
    Column("version", String(16), nullable=False),
    Column("lifetime_ms", BigInteger, nullable=False),
    Column("joined_members", Integer, nullable=False),
    Column("invite_event_id", String(255), nullable=False),
    Column("invite_ts", BigInteger, nullable=False),
    Column("answer_ts", BigInteger, nullable=True),
    Column("answered_by", String(255), nullable=True),
    Column("reject_ts", BigInteger, nullable=True),
    Column("rejected_by", String(255), nullable=True),
    Column("hangup_ts", BigInteger, nullable=True),
    Column("hangup_by", String(255), nullable=True),
    Column("hangup_reason", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("notice_event_id", String(255), nullable=True),
    Index("ix_calls_invite_ts", "invite_ts"),
    Index("ix_calls_outcome", "outcome"),
)

# --- Archive extras (migration 0003) -------------------------------------------------

# Which archived event relates to which (edits m.replace, reactions m.annotation, replies,
# threads): ids only, written with the row, so an export finds every revision and reaction
# of a message without decrypting the whole archive.
archive_relations = Table(
    "archive_relations",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("room_id", String(255), nullable=False),
    Column("target_event_id", String(255), nullable=False),
    Column("rel_type", String(64), nullable=False),
)

# Uploaded files copied from the media repository, encrypted under archive.media_dir.
# status: pending (to fetch), stored, failed (gave up; an audit record says so).
archive_media = Table(
    "archive_media",
    metadata,
    Column("mxc", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("event_id", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_ts", BigInteger, nullable=False),
    Column("last_error", String(64), nullable=True),
    Column("sha256", String(64), nullable=True),
    Column("cipher_sha256", String(64), nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("key_id", String(32), nullable=True),
    Column("path", String(255), nullable=True),
    Column("stored_ts", BigInteger, nullable=True),
)

# Chain heads this bridge published to the administrators' room (the authoritative copy
# is the event in Synapse; this is the local log of what was sent).
archive_heads = Table(
    "archive_heads",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("row_hash", LargeBinary(32), nullable=False),
    Column("published_ts", BigInteger, nullable=False),
)

# Per-room reconciliation high-water mark: the forward pagination token after the last
# Synapse event confirmed to be in the archive.
reconcile_marks = Table(
    "reconcile_marks",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("token", String(255), nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)

# --- The organisation directory (migration 0002), written by `carebridge provision` and
# `carebridge user`; read through bridge/db/directory.py. Times are epoch milliseconds.

# One row per account Carebridge manages. role: "admin" | "staff" (Carebridge's notion;
# never a Synapse server admin). managed_by: "org" (the org file) | "cli" (`carebridge user
# add`): only org-managed users are deactivated when they disappear from the file.
directory_users = Table(
    "directory_users",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("username", String(255), nullable=False, unique=True),
    Column("display_name", String(256), nullable=False),
    Column("email", String(320), nullable=False),
    Column("role", String(16), nullable=False),
    Column("groups", JSON, nullable=False),
    Column("schedule", String(64), nullable=True),
    Column("active", Boolean, nullable=False),
    Column("managed_by", String(16), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    Column("deactivated_ts", BigInteger, nullable=True),
    Column("active_since_ts", BigInteger, nullable=True),  # creation or last reactivation
    Column("schedule_since_ts", BigInteger, nullable=True),  # since when on `schedule`
)

# Channel <-> room. rights: the references as written ({"members", "post", "respond"}).
# closed: removed from the org file; read-only, never purged. managed_by: "org" | "client".
directory_channels = Table(
    "directory_channels",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("alias", String(255), nullable=False),
    Column("display_name", String(256), nullable=False),
    Column("topic", Text, nullable=False),
    Column("closed", Boolean, nullable=False),
    Column("rights", JSON, nullable=False),
    Column("managed_by", String(16), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    Column("closed_ts", BigInteger, nullable=True),
)

# Who is in each channel and with which right: "post" | "respond" (replies only) | "read".
directory_channel_members = Table(
    "directory_channel_members",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("access", String(16), nullable=False),
    Index("ix_directory_channel_members_user", "user_id"),
)

# Shift definitions (the org file's `schedules:` entries as JSON, so new keys flow through).
directory_schedules = Table(
    "directory_schedules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)

# Organisation-wide values: "organization" ({name, timezone}) and "policy" (the `policy:`
# section as written).
directory_settings = Table(
    "directory_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
)

# --- Login/logout compliance (migration 0005). Times are epoch milliseconds. -----------

# One row per session (a device's sign-in), built from the module's session records.
# login_ts NULL: the session began before records did (only its end was seen).
# close_reason: policy.session_record.LogoutReason; closed_by: who ended it, if not the person.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(255), nullable=False),
    Column("device_id", String(255), nullable=True),
    Column("login_ts", BigInteger, nullable=True),
    Column("login_event_id", String(255), nullable=True, unique=True),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("method", String(64), nullable=True),
    Column("logout_ts", BigInteger, nullable=True),
    Column("logout_event_id", String(255), nullable=True, unique=True),
    Column("close_reason", String(32), nullable=True),
    Column("closed_by", String(255), nullable=True),
    Column("close_detail", String(64), nullable=True),
    Index("ix_sessions_user_login", "user_id", "login_ts"),
    Index("ix_sessions_login", "login_ts"),
    Index("ix_sessions_open", "logout_ts", "user_id"),
)

# Failed sign-in attempts (never the password; no user name when the account is unknown).
failed_logins = Table(
    "failed_logins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(255), nullable=False, unique=True),
    Column("user_id", String(255), nullable=True),
    Column("ts", BigInteger, nullable=False),
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(512), nullable=True),
    Column("reason", String(32), nullable=False),
    Index("ix_failed_logins_ts", "ts"),
)

# Every bot command received: who, where, whether it was allowed, when it was answered.
# The event id makes answering idempotent (consumers are at-least-once).
bot_commands = Table(
    "bot_commands",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("command", String(32), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("received_ts", BigInteger, nullable=False),
    Column("answered_ts", BigInteger, nullable=True),
)

# Alerts and summaries the scheduler has posted (key e.g. "missing:day-shift:2024-05-15"),
# so a restart never posts one twice.
compliance_alerts = Table(
    "compliance_alerts",
    metadata,
    Column("key", String(191), primary_key=True),
    Column("sent_ts", BigInteger, nullable=False),
    Column("event_id", String(255), nullable=True),
)

# --- Compliance evidence (migration 0017). Times are epoch milliseconds. ---------------

# Every backup `carebridge backup` wrote: when, whether it holds the archive key, and
# whether the file was read back and matched its manifest. path: where it was written
# (it may be moved off the machine later). 45 CFR 164.308(a)(7)(ii)(A).
backup_records = Table(
    "backup_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_ts", BigInteger, nullable=False),
    Column("path", String(1024), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("includes_key", Boolean, nullable=False),
    Column("verified", Boolean, nullable=False),
    Index("ix_backup_records_created", "created_ts"),
)

# The last result of each safeguard check (`carebridge compliance report`, `!compliance`),
# so a failing row can say when it was last true.
safeguard_checks = Table(
    "safeguard_checks",
    metadata,
    Column("check_id", String(64), primary_key=True),
    Column("last_result", String(8), nullable=False),
    Column("last_run_ts", BigInteger, nullable=False),
    Column("last_pass_ts", BigInteger, nullable=True),
)

# Accounts that still have the initial password an administrator's provisioning mailed
# them; the row goes when the person chooses their own password in the web client.
initial_passwords = Table(
    "initial_passwords",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("set_ts", BigInteger, nullable=False),
)
