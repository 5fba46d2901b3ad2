"""Tables of roles on shift, urgent messages and away status (migration 0019). Times are
epoch milliseconds; the schema itself is created by the migration. They share
`bridge.db.tables.metadata`."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, Table, UniqueConstraint

from bridge.db.tables import metadata

# The rota as provisioning expanded it (org file entries and imported iCalendar files):
# `user_id` holds `role` during [start_ts, end_ts). ref: where it was written.
role_rota = Table(
    "role_rota",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(64), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("start_ts", BigInteger, nullable=False),
    Column("end_ts", BigInteger, nullable=False),
    Column("ref", String(255), nullable=False),
    Index("ix_role_rota_role_start", "role", "start_ts"),
)

# Holdings made by hand: source "assigned" (an administrator), "self" (the person took
# the role), "released" (a rota stretch given up early). Ending one early sets end_ts.
role_assignments = Table(
    "role_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(64), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("start_ts", BigInteger, nullable=False),
    Column("end_ts", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("by_user", String(255), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Index("ix_role_assignments_role", "role", "end_ts"),
)

# Who holds each role as the bridge last applied it (role rooms' membership follows this).
role_holders = Table(
    "role_holders",
    metadata,
    Column("role", String(64), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("since_ts", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
)

# One conversation room per (target, person who writes to it). target: "role:NAME" (its
# members follow the role's holders) or a user id (a colleague a message was forwarded
# to). Members: the requester, the target's reader(s) and the bot (a service member).
# closed_ts: the role was removed from the org file and the room closed read-only (0022).
role_rooms = Table(
    "role_rooms",
    metadata,
    Column("room_id", String(255), primary_key=True),
    Column("target", String(320), nullable=False),
    Column("requester", String(255), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    Column("closed_ts", BigInteger, nullable=True),
    UniqueConstraint("target", "requester", name="uq_role_rooms_target_requester"),
)

# Urgent messages and their timers. kind: "role" | "dm" | "channel". recipients: user ids
# expected to read it. open: neither read, escalated nor cancelled (the timers' work list).
urgent_messages = Table(
    "urgent_messages",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("room_id", String(255), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("role", String(64), nullable=True),
    Column("recipients", JSON, nullable=False),
    Column("sent_ts", BigInteger, nullable=False),
    Column("repeat_ms", BigInteger, nullable=False),
    Column("escalate_ms", BigInteger, nullable=True),
    Column("escalate_to", String(255), nullable=True),
    Column("alerts", Integer, nullable=False),
    Column("last_alert_ts", BigInteger, nullable=True),
    Column("read_ts", BigInteger, nullable=True),
    Column("read_by", String(255), nullable=True),
    Column("escalated_ts", BigInteger, nullable=True),
    Column("escalated_to", JSON, nullable=True),
    Column("escalation_room_id", String(255), nullable=True),
    Column("escalated_from", String(255), nullable=True),
    Column("cancelled", Boolean, nullable=False),
    Column("open", Boolean, nullable=False),
    Index("ix_urgent_open", "open"),
    Index("ix_urgent_sent", "sent_ts"),
)

# Do not disturb: who is away since when, until when (NULL: until they come back), and
# who receives their urgent and role messages meanwhile.
away_status = Table(
    "away_status",
    metadata,
    Column("user_id", String(255), primary_key=True),
    Column("since_ts", BigInteger, nullable=False),
    Column("until_ts", BigInteger, nullable=True),
    Column("forward_to", String(255), nullable=True),
)
