"""Benchmark: what the post-commit dispatcher adds to the archive writer, per transaction.

A steady low-rate stream (the common case: Synapse sends one or two events per
transaction): N one-event transactions, each committed by the ArchiveWriter and then
handed to a dispatcher with the bridge's six consumers (no-op handlers, the event types
the real ones declare), waiting until every consumer is idle before the next. The
baseline, measured in the same run, is the writer alone. Printed: CPU milliseconds per
transaction (this process, all threads: the robust figure on a shared machine) and wall
milliseconds, and the ratio.

`--root DIR` imports the bridge from another checkout (unpacked with
`git archive <commit> | tar -x -C DIR`), so a before/after pair is measured with the same
script on the same machine. The checkout needs the current layout (`bridge.archive.*`,
typed lanes, `Dispatcher.offer`).

    .venv/bin/python bench/dispatch.py [--n 1000] [--root DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONSUMERS = {
    "compliance.sessions": ["org.carebridge.session"],
    "compliance.commands": ["m.room.member", "m.room.message"],
    "channels": ["m.room.member"],
    "dms": ["m.room.create", "m.room.member"],
    "calls": ["m.call.invite", "m.call.answer", "m.call.hangup", "m.call.reject"],
    "archive-media": ["m.room.message", "m.sticker", "m.room.avatar"],
}


def message(i: int) -> dict[str, Any]:
    return {
        "event_id": f"$d{i}-{secrets.token_urlsafe(16)}",
        "room_id": "!bench:bench.local",
        "sender": f"@user{i % 16}:bench.local",
        "type": "m.room.message",
        "origin_server_ts": 1_700_000_000_000 + i,
        "content": {"msgtype": "m.text", "body": f"observation {i}: {secrets.token_hex(24)}"},
    }


async def run(n: int, with_dispatcher: bool) -> tuple[float, float]:
    # Imported here so that --root decides which checkout they come from.
    from bridge.archive.dispatcher import Dispatcher
    from bridge.archive.keyring import Keyring
    from bridge.archive.writer import ArchiveWriter
    from bridge.db.engine import create_engine, migrate

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await migrate(engine)
        keyring = Keyring.generate()
        writer = ArchiveWriter(engine, keyring)
        dispatcher = Dispatcher(engine, keyring)

        async def nothing(_archived: Any) -> None:
            return None

        for name, types in CONSUMERS.items():
            dispatcher.add(name, nothing, types)
        if with_dispatcher:
            await dispatcher.start()

        async def one(i: int, tag: str) -> None:
            result = await writer.ingest_transaction(f"{tag}{i}", [message(i)])
            if with_dispatcher:
                dispatcher.offer(result.appended)
                await asyncio.wait_for(dispatcher.idle.wait(), 60)

        for i in range(30):
            await one(i, "warm")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(n):
            await one(i, "t")
        cpu, wall = (time.process_time() - cpu0) / n * 1000, (time.perf_counter() - wall0) / n * 1000
        if with_dispatcher:
            await dispatcher.stop()
        await engine.dispose()
    return cpu, wall


async def main(n: int) -> None:
    base_cpu, base_wall = await run(n, with_dispatcher=False)
    cpu, wall = await run(n, with_dispatcher=True)
    print(f"{n} one-event transactions, six consumers:")
    print(f"  writer alone          {base_cpu:7.3f} ms CPU/txn  {base_wall:7.3f} ms wall/txn")
    print(f"  writer + dispatcher   {cpu:7.3f} ms CPU/txn  {wall:7.3f} ms wall/txn")
    print(f"  ratio (with/without)  {cpu / base_cpu:7.2f}x CPU      {wall / base_wall:7.2f}x wall")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    args = parser.parse_args()
    sys.path.insert(0, args.root)
    asyncio.run(main(args.n))
