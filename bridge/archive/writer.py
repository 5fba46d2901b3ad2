"""Appending events to the encrypted, hash-chained archive.

One appservice transaction is committed as one database transaction together with its
txnId; the bridge answers Synapse only after the commit. A txnId is a hint, never proof:
Synapse on SQLite hands out ids 1, 2, ... again after a restart, so a known txnId still has
its events checked one by one, and only an event already archived (by event id, which the
archive enforces) is skipped.

Each row from the chain key's `from_seq` on carries a MAC of its hash (bridge.archive.chain),
and with a CommitLog the head after every commit is in the heads log, fsynced, before the
writer returns (bridge.archive.commit_log): nothing acknowledged is beyond the newest line.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bridge.archive.chain import GENESIS_HASH, RowMeta, event_aad, row_hash
from bridge.archive.commit_log import CommitLog
from bridge.archive.keyring import Sealer
from bridge.archive.one_trip import RELATION_COLUMNS, ROW_COLUMNS, OneTripSqlite, Row
from bridge.core.clock import now_ms
from bridge.db.engine import sqlite_file
from bridge.db.tables import archive_events, archive_relations, as_transactions
from policy.relations import relation_of

log = logging.getLogger(__name__)

# Built once: constructing a statement per transaction costs more than running it.
_INSERT_TXN = insert(as_transactions)
_INSERT_EVENTS = insert(archive_events)
_INSERT_RELATIONS = insert(archive_relations)

JsonDict = dict[str, Any]
MAX_ATTEMPTS = 8


class MalformedEvent(ValueError):
    """An event without the fields every timeline event has."""


@dataclass(frozen=True)
class ArchivedEvent:
    """A row just appended: its sequence number and the event it holds."""

    seq: int
    event: JsonDict


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: whether the txnId was already known, and which rows it added
    (a known txnId may still add rows: ids repeat after a Synapse restart)."""

    replayed: bool
    appended: tuple[ArchivedEvent, ...]


def _check_event(event: object) -> JsonDict:
    if not isinstance(event, dict):
        raise MalformedEvent("event is not an object")
    for key in ("event_id", "room_id", "sender", "type"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise MalformedEvent(f"event lacks a string {key}")
    state_key = event.get("state_key")
    if state_key is not None and not isinstance(state_key, str):
        raise MalformedEvent("state_key is not a string")
    if not isinstance(event.get("origin_server_ts", 0), int):
        raise MalformedEvent("origin_server_ts is not an integer")
    return event


def validate_events(events: object) -> list[JsonDict]:
    """Check the shape of a transaction's events list; raises MalformedEvent."""
    if not isinstance(events, list):
        raise MalformedEvent("events is not a list")
    return [_check_event(e) for e in events]


async def read_head(conn: AsyncConnection) -> tuple[int, bytes]:
    """The newest row's sequence number and row hash (0 and the genesis hash when empty)."""
    head = (
        await conn.execute(
            select(archive_events.c.seq, archive_events.c.row_hash)
            .order_by(archive_events.c.seq.desc())
            .limit(1)
        )
    ).first()
    return (int(head[0]), bytes(head[1])) if head else (0, GENESIS_HASH)


def _first_of_each(events: Sequence[JsonDict]) -> list[JsonDict]:
    seen: set[str] = set()
    out = []
    for event in events:
        if event["event_id"] not in seen:
            seen.add(event["event_id"])
            out.append(event)
    return out


class ArchiveWriter:
    """Appends events to the archive; safe against concurrent writers in other processes."""

    def __init__(
        self,
        engine: AsyncEngine,
        keyring: Sealer,
        clock: Callable[[], int] = now_ms,
        commit_log: CommitLog | None = None,
    ) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self.commit_log = commit_log
        self._lock = asyncio.Lock()
        self._head: tuple[int, bytes] | None = None
        path = sqlite_file(engine.url)
        self._one_trip = OneTripSqlite(str(path)) if path is not None else None

    async def close(self) -> None:
        """Close the writer's own SQLite connection and the commit log, if it has them
        (the engine is the caller's to dispose)."""
        if self._one_trip is not None:
            await self._one_trip.close()
        if self.commit_log is not None:
            await self.commit_log.close()

    async def ingest_transaction(self, txn_id: str, events: Sequence[JsonDict]) -> IngestResult:
        """Archive one appservice transaction atomically with its txnId; returns once the
        new head is in the heads log (raises, and the caller must not acknowledge, if not)."""
        result, head = await self._with_retry(txn_id, events, "txn")
        await self._log(head)
        return result

    async def append(self, events: Sequence[JsonDict], source: str) -> IngestResult:
        """Archive events that did not come in a transaction (reconciliation, audit)."""
        result, head = await self._with_retry(None, events, source)
        await self._log(head)
        return result

    async def log_head(self) -> None:
        """Put the archive's current head in the heads log (at start: covers rows a crash
        left committed but not yet logged)."""
        if self.commit_log is None:
            return
        self.commit_log.ensure_file()
        async with self.engine.connect() as conn:
            head = await read_head(conn)
        await self._log(head)

    async def _log(self, head: tuple[int, bytes] | None) -> None:
        # Outside the writer's lock: the next commit can run while this line is fsynced,
        # and the commit log groups the heads that finish meanwhile into one append.
        if self.commit_log is not None and head is not None and head[0] > 0:
            await self.commit_log.record(*head)

    async def _with_retry(
        self, txn_id: str | None, events: Sequence[JsonDict], source: str
    ) -> tuple[IngestResult, tuple[int, bytes] | None]:
        async with self._lock:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                # Fast path (the usual case): trust the head this writer committed last and
                # skip the replay and duplicate look-ups. The primary key on seq and the
                # unique txn_id and event_id make any surprise (another process appended,
                # a replayed txn, an event already archived) fail the insert, and the
                # careful path below then re-reads everything.
                fast = attempt == 1 and self._head is not None
                head: tuple[int, bytes] | None
                try:
                    if fast and self._one_trip is not None:
                        result, head = await self._write_one_trip(txn_id, events, source)
                    else:
                        async with self.engine.begin() as conn:
                            result, head = await self._write(conn, txn_id, events, source, fast)
                    self._head = head
                    return result, head
                except (IntegrityError, OperationalError, sqlite3.Error) as exc:
                    self._head = None
                    if attempt == MAX_ATTEMPTS:
                        raise
                    if fast:
                        continue
                    # Another process appended first (seq or event_id taken) or SQLite
                    # was busy: re-read the head and try again.
                    log.warning(
                        "archive write conflict (%s), retrying txn=%s attempt=%d",
                        type(exc).__name__,
                        txn_id,
                        attempt,
                    )
                    await asyncio.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 - jitter, not crypto
                except BaseException:
                    self._head = None
                    raise
        raise AssertionError("unreachable")

    async def _write(
        self,
        conn: AsyncConnection,
        txn_id: str | None,
        events: Sequence[JsonDict],
        source: str,
        fast: bool,
    ) -> tuple[IngestResult, tuple[int, bytes] | None]:
        replayed = False
        if fast and self._head is not None:
            seq, prev = self._head
            fresh = _first_of_each(events)
        else:
            if txn_id is not None:
                seen = await conn.scalar(
                    select(as_transactions.c.txn_id).where(as_transactions.c.txn_id == txn_id)
                )
                replayed = seen is not None
            seq, prev = await read_head(conn)
            fresh = await self._not_yet_archived(conn, events)
        now = self.clock()
        rows, relations, appended, head = self._seal(fresh, seq, prev, source, now)
        if txn_id is not None and not replayed:
            await conn.execute(_INSERT_TXN, {"txn_id": txn_id, "received_ts": now, "event_count": len(rows)})
        if rows:
            await conn.execute(_INSERT_EVENTS, [dict(zip(ROW_COLUMNS, row, strict=True)) for row in rows])
        if relations:
            await conn.execute(
                _INSERT_RELATIONS, [dict(zip(RELATION_COLUMNS, rel, strict=True)) for rel in relations]
            )
        return IngestResult(replayed=replayed, appended=appended), head

    async def _write_one_trip(
        self, txn_id: str | None, events: Sequence[JsonDict], source: str
    ) -> tuple[IngestResult, tuple[int, bytes]]:
        """The fast path on SQLite: everything in one hand-off to the writer's thread."""
        assert self._head is not None and self._one_trip is not None
        seq, prev = self._head
        now = self.clock()
        rows, relations, appended, head = self._seal(_first_of_each(events), seq, prev, source, now)
        txn = (txn_id, now, len(rows)) if txn_id is not None else None
        log = self.commit_log
        after = (lambda: log.append_committed(*head)) if log is not None and rows else None
        await self._one_trip.commit(txn, rows, relations, after)
        return IngestResult(replayed=False, appended=appended), head

    def _seal(
        self, fresh: Sequence[JsonDict], seq: int, prev: bytes, source: str, now: int
    ) -> tuple[list[Row], list[Row], tuple[ArchivedEvent, ...], tuple[int, bytes]]:
        """Encrypt and chain `fresh` after (seq, prev): rows and relations in
        ROW_COLUMNS / RELATION_COLUMNS order, the appended events, and the new head."""
        rows: list[Row] = []
        relations: list[Row] = []
        appended = []
        chain = self.keyring.chain_key()
        for event in fresh:
            seq += 1
            plaintext = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
            key_id, sealed = self.keyring.seal(plaintext, event_aad(event["event_id"], event["room_id"]))
            meta = RowMeta(
                seq=seq,
                event_id=event["event_id"],
                room_id=event["room_id"],
                sender=event["sender"],
                event_type=event["type"],
                state_key=event.get("state_key"),
                origin_ts=int(event.get("origin_server_ts", now)),
                received_ts=now,
                source=source,
                key_id=key_id,
            )
            digest = row_hash(prev, meta, sealed)
            mac = chain.mac(seq, digest) if chain is not None and chain.covers(seq) else None
            rows.append(
                (
                    seq,
                    meta.event_id,
                    meta.room_id,
                    meta.sender,
                    meta.event_type,
                    meta.state_key,
                    meta.origin_ts,
                    now,
                    source,
                    key_id,
                    sealed,
                    prev,
                    digest,
                    mac,
                )
            )
            appended.append(ArchivedEvent(seq=seq, event=event))
            prev = digest
            relation = relation_of(event)
            if relation is not None:
                relations.append(
                    (relation.event_id, seq, event["room_id"], relation.target_event_id, relation.rel_type)
                )
        return rows, relations, tuple(appended), (seq, prev)

    @staticmethod
    async def _not_yet_archived(conn: AsyncConnection, events: Sequence[JsonDict]) -> list[JsonDict]:
        ids = list(dict.fromkeys(e["event_id"] for e in events))
        known: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result = await conn.execute(
                select(archive_events.c.event_id).where(archive_events.c.event_id.in_(chunk))
            )
            known.update(r[0] for r in result)
        return _first_of_each([e for e in events if e["event_id"] not in known])
