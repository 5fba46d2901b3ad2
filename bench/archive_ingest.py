"""Benchmark: the archive's ingest path and export, each against a baseline in the same run.

1. Ingest: N synthetic events through ArchiveWriter.ingest_transaction (AES-256-GCM, hash
   chain and MAC, txnId, dedup, relations) in batches the size Synapse sends, as the bridge
   writes them (each commit's head appended to the heads log and fsynced before the call
   returns) and without the heads log, versus a raw batched INSERT of the same rows into a
   plain table of the same database (no crypto, no chain), one database transaction per
   batch in every case, rounds alternating.
2. Export: a room of E messages exported from the archive (decrypt, edits, reactions,
   membership, JSONL file) versus paging the same number of events through Synapse's admin
   messages API. Synapse is populated through its client API (real sends), which is slow on
   a small machine, so the Synapse side is measured at --synapse-n messages and its rate
   extrapolated linearly to E (say so when reporting).

    .venv/bin/python bench/archive_ingest.py [--n 20000] [--batch 100] [--pg-url URL]
        [--export-n 100000] [--synapse-n 3000] [--skip-synapse] [--skip-ingest] [--skip-export]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import MetaData, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bridge.archive.commit_log import CommitLog
from bridge.archive.export.job import JsonlSink
from bridge.archive.export.stream import Exporter, ExportFilter
from bridge.archive.keyring import Keyring
from bridge.archive.writer import ArchiveWriter
from bridge.db.engine import create_engine, migrate
from bridge.db.tables import archive_events

ROOM = "!bench:bench.local"
raw_meta = MetaData()
# The baseline table has exactly the archive's columns (same types, same unique event id).
raw_table = archive_events.to_metadata(raw_meta, name="bench_raw_events")


def synthetic(n: int, room: str = ROOM) -> list[dict[str, Any]]:
    """n message events shaped like Synapse's (about 400 bytes of JSON each)."""
    base = 1_700_000_000_000
    return [
        {
            "event_id": f"${secrets.token_urlsafe(32)}",
            "room_id": room,
            "sender": f"@user{i % 40}:bench.local",
            "type": "m.room.message",
            "origin_server_ts": base + i,
            "content": {
                "msgtype": "m.text",
                "body": f"Patient in bed {i % 30}: observations stable, {secrets.token_hex(24)}",
            },
            "unsigned": {"age": 12, "transaction_id": secrets.token_hex(8)},
        }
        for i in range(n)
    ]


async def ingest_raw(engine: AsyncEngine, events: list[dict[str, Any]], batch: int, first_seq: int) -> float:
    zero = bytes(32)
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        rows = [
            {
                "seq": first_seq + i + j,
                "event_id": e["event_id"],
                "room_id": e["room_id"],
                "sender": e["sender"],
                "event_type": e["type"],
                "state_key": None,
                "origin_ts": e["origin_server_ts"],
                "received_ts": e["origin_server_ts"],
                "source": "txn",
                "key_id": "none",
                "ciphertext": json.dumps(e).encode(),
                "prev_hash": zero,
                "row_hash": zero,
            }
            for j, e in enumerate(events[i : i + batch])
        ]
        async with engine.begin() as conn:
            await conn.execute(insert(raw_table), rows)
    return time.perf_counter() - start


async def _timed_ingest(writer: ArchiveWriter, events: list[dict[str, Any]], batch: int, tag: str) -> float:
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        await writer.ingest_transaction(f"{tag}-txn{i}", events[i : i + batch])
    return time.perf_counter() - start


async def bench_ingest(url: str, label: str, n: int, batch: int, rounds: int, workdir: Path) -> None:
    """Alternate raw, archive (no heads log) and archive as the bridge writes it (every
    commit's head appended to the heads log and fsynced before the call returns) over the
    same number of rows; report the best round of each."""
    engine = create_engine(url)
    await migrate(engine)
    async with engine.begin() as conn:
        await conn.run_sync(raw_meta.create_all)
    keyring = Keyring.generate()
    plain = ArchiveWriter(engine, keyring)
    heads_log = workdir / f"heads-{secrets.token_hex(4)}.log"
    logged = ArchiveWriter(engine, keyring, commit_log=CommitLog(heads_log, keyring.chain_key))
    raws, plains, loggeds = [], [], []
    try:
        for r in range(rounds):
            raws.append(await ingest_raw(engine, synthetic(n), batch, first_seq=1 + r * n))
            order = [(plain, plains, "p"), (logged, loggeds, "l")]
            for writer, times, tag in order if r % 2 == 0 else order[::-1]:
                times.append(await _timed_ingest(writer, synthetic(n), batch, f"r{r}{tag}"))
    finally:
        await plain.close()
        await logged.close()
        await engine.dispose()
    raw, bare, real = min(raws), min(plains), min(loggeds)
    appends = logged.commit_log.appends if logged.commit_log is not None else 0
    print(
        f"ingest [{label}] {n} events/round, batches of {batch}, best of {rounds}: "
        f"archive+heads log {n / real:,.0f} ev/s ({real:.2f}s, {appends} log appends) | "
        f"archive without the log {n / bare:,.0f} ev/s ({bare:.2f}s) | raw insert {n / raw:,.0f} ev/s "
        f"({raw:.2f}s) | ratio archive+log/raw {raw / real:.2f} | ratio archive+log/archive {bare / real:.3f}"
    )


async def fill_archive(url: str, n: int) -> tuple[AsyncEngine, Keyring]:
    engine = create_engine(url)
    await migrate(engine)
    keyring = Keyring.generate()
    writer = ArchiveWriter(engine, keyring)
    members = [
        {
            "event_id": f"$m{i}",
            "room_id": ROOM,
            "sender": f"@user{i}:bench.local",
            "type": "m.room.member",
            "state_key": f"@user{i}:bench.local",
            "origin_server_ts": 1,
            "content": {"membership": "join"},
        }
        for i in range(40)
    ]
    await writer.ingest_transaction("members", members)
    events = synthetic(n)
    for i in range(0, n, 1000):
        await writer.ingest_transaction(f"fill{i}", events[i : i + 1000])
    return engine, keyring


async def time_export(engine: AsyncEngine, keyring: Keyring, room: str, out: Path) -> tuple[int, float]:
    exporter = Exporter(engine, keyring, out / "media", out)
    sink = JsonlSink(out / f"bench-{secrets.token_hex(4)}.jsonl")
    start = time.perf_counter()
    count = 0
    async for record in exporter.records(ExportFilter(room_id=room)):
        sink.write(record)
        count += 1
    sink.close()
    return count, time.perf_counter() - start


async def bench_export_archive(n: int, workdir: Path) -> float:
    engine, keyring = await fill_archive(f"sqlite+aiosqlite:///{workdir / 'export-bench.db'}", n)
    try:
        count, seconds = await time_export(engine, keyring, ROOM, workdir)
    finally:
        await engine.dispose()
    print(
        f"export [sqlite] {count:,} messages from the archive: {seconds:.1f}s ({count / seconds:,.0f} msg/s)"
    )
    return count / seconds


async def populate_synapse(stack: Any, n: int, senders: int) -> tuple[str, list[str], float]:
    """One room, `senders` members each sending n/senders messages concurrently."""
    from nio import JoinResponse, RoomCreateResponse, RoomSendResponse

    users = [await stack.create_user() for _ in range(senders)]
    clients = [await stack.login(uid, pw) for uid, pw in users]
    room = await clients[0].room_create(name="bench", invite=[uid for uid, _ in users[1:]])
    assert isinstance(room, RoomCreateResponse), room
    for client in clients[1:]:
        assert isinstance(await client.join(room.room_id), JoinResponse)
    sent: list[str] = []

    async def send(client: Any, count: int) -> None:
        for i in range(count):
            body = {"msgtype": "m.text", "body": f"bench {i} {secrets.token_hex(16)}"}
            resp = await client.room_send(room.room_id, "m.room.message", body)
            assert isinstance(resp, RoomSendResponse), resp
            sent.append(resp.event_id)

    start = time.perf_counter()
    await asyncio.gather(*(send(c, n // senders) for c in clients))
    seconds = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in clients))
    return room.room_id, sent, seconds


async def page_synapse(stack: Any, room_id: str) -> tuple[int, float]:
    """Page the whole room forward through the admin messages API (1000 per page)."""
    from bridge.core.synapse_http import SynapseHTTP, seg

    async with SynapseHTTP(stack.hs_url, stack.as_token, timeout=300) as http:
        start = time.perf_counter()
        token: str | None = None
        paged = 0
        while True:
            params = {"dir": "f", "limit": "1000"}
            if token:
                params["from"] = token
            page = await http.request(
                "GET", f"/_synapse/admin/v1/rooms/{seg(room_id)}/messages", params=params
            )
            paged += len(page.get("chunk", []))
            if not page.get("end") or not page.get("chunk"):
                return paged, time.perf_counter() - start
            token = page["end"]


async def bench_synapse(n: int, workdir: Path, export_n: int, archive_rate: float) -> None:
    from tests.harness.stack import Stack

    stack = Stack(root=workdir / "stack")
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        senders = 16
        room_id, sent, fill = await populate_synapse(stack, n, senders)
        rate = len(sent) / fill
        print(f"synapse: sent {len(sent):,} messages, {senders} senders, {fill:.1f}s ({rate:,.1f} msg/s)")
        await stack.wait_archived(sent, timeout=600)
        paged, cold_s = await page_synapse(stack, room_id)
        paged, synapse_s = await page_synapse(stack, room_id)
        print(f"synapse admin /messages paging: 1st pass {cold_s:.2f}s, 2nd pass {synapse_s:.2f}s (2nd used)")
        synapse_rate = paged / synapse_s
        engine = create_engine(stack.s.database_url)
        try:
            count, export_s = await time_export(engine, stack.keyring(), room_id, workdir)
        finally:
            await engine.dispose()
        print(
            f"same room, {paged:,} events in Synapse: admin /messages paging {synapse_s:.2f}s "
            f"({synapse_rate:,.0f} ev/s) | archive export of its {count:,} messages {export_s:.2f}s "
            f"({count / export_s:,.0f} msg/s) | time ratio export/paging {export_s / synapse_s:.2f}"
        )
        print(
            f"extrapolated (linear) to {export_n:,}: Synapse paging ~{export_n / synapse_rate:.0f}s vs "
            f"archive export measured above {export_n / archive_rate:.0f}s "
            f"(time ratio export/paging {synapse_rate / archive_rate:.2f})"
        )
    finally:
        stack.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-url", default=os.environ.get("CAREBRIDGE_TEST_PG_URL"))
    parser.add_argument("--export-n", type=int, default=100000)
    parser.add_argument("--synapse-n", type=int, default=3000)
    parser.add_argument("--skip-synapse", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="carebridge-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_ingest:
            sqlite_url = f"sqlite+aiosqlite:///{workdir / 'ingest.db'}"
            await bench_ingest(sqlite_url, "sqlite", args.n, args.batch, args.rounds, workdir)
        if args.pg_url and not args.skip_ingest:
            from tests.harness.databases import PG_ENV, fresh_database

            os.environ[PG_ENV] = args.pg_url  # fresh_database reads the server from there
            async with fresh_database("postgres", workdir) as url:
                await bench_ingest(url, "postgresql", args.n, args.batch, args.rounds, workdir)
        if args.skip_export:
            return
        rate = await bench_export_archive(args.export_n, workdir)
        if not args.skip_synapse:
            await bench_synapse(args.synapse_n, workdir, args.export_n, rate)


if __name__ == "__main__":
    asyncio.run(main())
