"""Table definitions (SQLAlchemy Core). The schema itself is created by the migrations."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table

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
)

# How far each post-commit consumer (rooms, calls, commands...) has processed the archive.
consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
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
