"""Table definitions (SQLAlchemy Core). The schema itself is created by the migrations."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table

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
