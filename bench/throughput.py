"""Benchmark: what Carebridge costs per message, against bare Synapse in the same run.

Two Synapses from the same generated homeserver.yaml (rate limits lifted on both); the
bare copy has the Carebridge module and the appservice registration removed, nothing
else. Rounds alternate between them (which goes first alternates too). Per round:
`--seq` messages from one sender, then `--conc` messages from 16 senders at once, into a
room of those 16 people. The window of each round ends when (Carebridge) every message
is archived and every consumer has saved its cursor past it, plus the same settle time
for both. Printed: p50/p95 send latency, sequential and concurrent msg/s, CPU seconds per
message of Synapse and of the bridge (psutil, whole processes), the module's share
(Synapse with module minus bare), and the ratios. Then:

- `--appservice-only`: a third Synapse with the registration but no module, whose
  transactions a trivial appservice (in this process) answers 200 at once, in the same
  rounds: Synapse's own appservice cost, apart from the module's and the bridge's.
- archive lag: `--lag-seconds` of sends paced at `--rate` msg/s; send start -> archive row
  (received_ts), and Synapse's origin_server_ts -> archive row.
- the bridge alone: `--endpoint-txns` one-event transactions PUT straight to its
  transaction endpoint, one after another: CPU per transaction without Synapse's load.
- bridge memory: `--rss-events` synthetic events PUT straight to the bridge's transaction
  endpoint (100 per transaction), RSS printed after 10k and at the end, with the bridge's
  CPU per event on that path.

The machine is shared: wall-clock figures (latency, msg/s, lag) are noisy; CPU seconds per
message are the robust measure. Everything binds to loopback on free ports, is bounded by
`--max-minutes`, and every process started here is stopped at the end.

    .venv/bin/python bench/throughput.py [--rounds 3] [--seq 100] [--conc 320]
        [--rate 60 [20 ...]] [--lag-seconds 15] [--endpoint-txns 2000] [--rss-events 100000]
        [--max-minutes 20] [--appservice-only]
        [--py-spy DIR]   # also sample Synapse and the bridge (collapsed stacks in DIR)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from bench.throughput_stacks import BenchStack, feed_transactions

SENDERS = 16
SETTLE_S = 1.5
IDLE_S = 5.0


@dataclass
class Tally:
    """Figures of one stack, summed over its rounds."""

    seq_lat: list[float] = field(default_factory=list)
    conc_lat: list[float] = field(default_factory=list)
    seq_rates: list[float] = field(default_factory=list)
    conc_rates: list[float] = field(default_factory=list)
    messages: int = 0
    synapse_cpu: float = 0.0
    synapse_sys: float = 0.0
    bridge_cpu: float = 0.0


def kernel(proc: psutil.Process | None) -> float:
    return float(proc.cpu_times().system) if proc is not None else 0.0


def cpu(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    t = proc.cpu_times()
    return float(t.user + t.system)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def idle_cpu(stacks: list[BenchStack], seconds: float) -> None:
    """CPU the processes burn doing nothing (background loops), for reading the rest."""
    procs = [
        (f"{s.name} {role}", p)
        for s in stacks
        for role, p in (("Synapse", s.synapse_proc), ("bridge", s.bridge_proc))
        if p
    ]
    before = [cpu(p) for _, p in procs]
    await asyncio.sleep(seconds)
    shares = [f"{name} {(cpu(p) - b) / seconds:.1%}" for (name, p), b in zip(procs, before, strict=True)]
    print(f"idle CPU over {seconds:.0f}s (of one core): " + ", ".join(shares))


async def one_round(stack: BenchStack, tally: Tally, n_seq: int, n_conc: int) -> None:
    syn0, br0, sys0 = cpu(stack.synapse_proc), cpu(stack.bridge_proc), kernel(stack.synapse_proc)
    sent: list[str] = []
    start = time.perf_counter()
    for i in range(n_seq):
        event_id, latency = await stack.send(0, f"seq {i}")
        sent.append(event_id)
        tally.seq_lat.append(latency)
    tally.seq_rates.append(n_seq / (time.perf_counter() - start))

    per = n_conc // SENDERS

    async def sender(k: int) -> None:
        for i in range(per):
            event_id, latency = await stack.send(k, f"conc {k}-{i}")
            sent.append(event_id)
            tally.conc_lat.append(latency)

    start = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(SENDERS)))
    tally.conc_rates.append(per * SENDERS / (time.perf_counter() - start))
    await asyncio.sleep(SETTLE_S)
    await stack.wait_handled(sent)
    tally.synapse_cpu += cpu(stack.synapse_proc) - syn0
    tally.synapse_sys += kernel(stack.synapse_proc) - sys0
    tally.bridge_cpu += cpu(stack.bridge_proc) - br0
    tally.messages += len(sent)


async def lag_phase(stack: BenchStack, rate: float, seconds: float) -> None:
    n = int(rate * seconds)
    starts: dict[str, float] = {}
    written0 = await stack.write_seconds()
    t0 = time.time()

    async def paced(i: int) -> None:
        await asyncio.sleep(max(0.0, t0 + i / rate - time.time()))
        began = time.time()
        event_id, _ = await stack.send(i % SENDERS, f"lag {i}")
        starts[event_id] = began

    await asyncio.gather(*(paced(i) for i in range(n)))
    achieved = n / (time.time() - t0)
    await stack.wait_handled(list(starts))
    rows = await stack.archive_times(list(starts))
    from_send = [received - starts[eid] * 1000 for eid, (received, _origin) in rows.items()]
    from_origin = [received - origin for received, origin in rows.values()]
    (sum1, count1), (sum0, count0) = await stack.write_seconds(), written0
    answer_ms = (sum1 - sum0) / max(1.0, count1 - count0) * 1000
    print(
        f"archive lag at {rate:.0f} msg/s for {seconds:.0f}s ({n} msgs, achieved {achieved:.1f} msg/s): "
        f"send->archived p50 {pct(from_send, 0.5):.0f} ms p95 {pct(from_send, 0.95):.0f} ms max "
        f"{max(from_send):.0f} ms | Synapse origin_ts->archived p50 {pct(from_origin, 0.5):.0f} ms "
        f"p95 {pct(from_origin, 0.95):.0f} ms | bridge's own answer to Synapse (archive write) "
        f"{answer_ms:.1f} ms mean over {count1 - count0:.0f} transactions"
    )


async def rss_phase(stack: BenchStack, total: int) -> None:
    proc = stack.bridge_proc
    assert proc is not None
    checkpoints = sorted({min(10_000, total), total})
    done = 0
    cpu0, t0 = cpu(proc), time.perf_counter()
    marks = []
    for mark in checkpoints:
        await feed_transactions(stack, mark - done, first=done)
        done = mark
        await stack.wait_dispatcher_caught_up()
        marks.append((mark, proc.memory_info().rss / 2**20))
    per_event_ms = (cpu(proc) - cpu0) / total * 1000
    rate = total / (time.perf_counter() - t0)
    line = " | ".join(f"RSS after {m:,} events {rss:.1f} MiB" for m, rss in marks)
    growth = marks[-1][1] / marks[0][1]
    print(
        f"bridge memory, {total:,} events PUT to the transaction endpoint (100/txn): {line} | "
        f"ratio {growth:.3f} | bridge CPU {per_event_ms:.3f} ms/event, {rate:,.0f} events/s"
    )


async def endpoint_phase(stack: BenchStack, n: int) -> None:
    """The bridge alone: n one-event transactions PUT one after another (no Synapse load)."""
    proc = stack.bridge_proc
    assert proc is not None
    cpu0, t0 = cpu(proc), time.perf_counter()
    await feed_transactions(stack, n, first=0, per_txn=1, tag="one")
    await stack.wait_dispatcher_caught_up()
    per_txn = (cpu(proc) - cpu0) / n * 1000
    print(
        f"bridge alone, {n:,} one-event transactions PUT in turn: {per_txn:.3f} ms CPU per transaction "
        f"(includes the cursor saves), {n / (time.perf_counter() - t0):,.0f} transactions/s"
    )


def report(bare: Tally, cb: Tally, appservice: Tally | None = None) -> None:
    def line(name: str, t: Tally) -> tuple[float, float, float]:
        syn = t.synapse_cpu / t.messages * 1000
        br = t.bridge_cpu / t.messages * 1000
        seq_rate, conc_rate = statistics.median(t.seq_rates), statistics.median(t.conc_rates)
        print(
            f"{name:<11} seq {seq_rate:6.1f} msg/s p50 {pct(t.seq_lat, 0.5) * 1000:5.1f} ms "
            f"p95 {pct(t.seq_lat, 0.95) * 1000:5.1f} ms | conc {conc_rate:6.1f} msg/s "
            f"p50 {pct(t.conc_lat, 0.5) * 1000:6.1f} ms p95 {pct(t.conc_lat, 0.95) * 1000:6.1f} ms | "
            f"CPU/msg Synapse {syn:.2f} ms (kernel {t.synapse_sys / t.synapse_cpu:.0%}) bridge {br:.2f} ms "
            f"total {syn + br:.2f} ms ({t.messages} msgs)"
        )
        return syn, br, statistics.median(t.conc_rates)

    b_syn, _, b_conc = line("bare", bare)
    c_syn, c_br, c_conc = line("carebridge", cb)
    if appservice is not None:
        a_syn, _, a_conc = line("appservice", appservice)
        print(
            f"Synapse CPU/msg with a registration and a trivial 200 appservice, no module: "
            f"{a_syn / b_syn:.3f}x bare (Synapse's own appservice cost {(a_syn - b_syn) / b_syn:+.1%}); "
            f"Carebridge's Synapse (module) vs that: {c_syn / a_syn:.3f}x | concurrent msg/s "
            f"appservice/bare {a_conc / b_conc:.3f}, carebridge/appservice {c_conc / a_conc:.3f} | "
            f"total CPU/msg carebridge (Synapse + bridge) vs appservice Synapse {(c_syn + c_br) / a_syn:.3f}"
        )
    print(
        f"ratios carebridge/bare: total CPU/msg {(c_syn + c_br) / b_syn:.3f} | Synapse CPU/msg "
        f"{c_syn / b_syn:.3f} (module + appservice push share {(c_syn - b_syn) / b_syn:+.1%}) | "
        f"concurrent msg/s {c_conc / b_conc:.3f} | sequential msg/s "
        f"{statistics.median(cb.seq_rates) / statistics.median(bare.seq_rates):.3f} | "
        f"bridge CPU per archived event {c_br:.3f} ms"
    )


def start_profilers(stacks: list[BenchStack], out: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy (non-blocking sampling, its own process) on each Synapse and the bridge."""
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for stack in stacks:
        for role, proc in (("synapse", stack.synapse_proc), ("bridge", stack.bridge_proc)):
            if proc is not None:
                argv = [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--nonblocking",
                    "--rate",
                    "50",
                    "--format",
                    "raw",
                ]
                argv += ["--pid", str(proc.pid), "-o", str(out / f"{stack.name}-{role}.txt")]
                procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs


def stop_profilers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(2)  # SIGINT: py-spy writes its file and exits
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="carebridge-throughput-") as tmp:
        bare = BenchStack(Path(tmp) / "bare", carebridge=False)
        cb = BenchStack(Path(tmp) / "carebridge", carebridge=True)
        trivial = BenchStack(Path(tmp) / "appservice", carebridge=False, appservice_only=True)
        stacks = [bare, cb] + ([trivial] if args.appservice_only else [])
        spies: list[subprocess.Popen[bytes]] = []
        try:
            for stack in stacks:
                await stack.start(SENDERS)
                for i in range(20):  # warm-up: caches, JIT-free but lazy imports
                    await stack.send(i % SENDERS, f"warm {i}")
            if args.py_spy:
                spies = start_profilers([bare, cb], Path(args.py_spy))
            await idle_cpu(stacks, IDLE_S)
            tallies = {stack.name: Tally() for stack in stacks}
            for r in range(args.rounds):
                order = stacks if r % 2 == 0 else stacks[::-1]
                for stack in order:
                    await one_round(stack, tallies[stack.name], args.seq, args.conc)
                print(f"round {r + 1}/{args.rounds} done", flush=True)
            if args.rounds > 0:
                report(tallies[bare.name], tallies[cb.name], tallies.get(trivial.name))
                per_txn = await cb.events_per_transaction()
                print(f"carebridge: Synapse sent {per_txn:.2f} events per appservice transaction")
                if args.appservice_only:
                    print(
                        f"appservice: the trivial appservice got {trivial.trivial_events} events in "
                        f"{trivial.trivial_txns} transactions"
                    )
            if args.lag_seconds > 0:
                for rate in args.rate:
                    await lag_phase(cb, rate, args.lag_seconds)
            if args.endpoint_txns > 0:
                await endpoint_phase(cb, args.endpoint_txns)
            if args.rss_events > 0:
                await rss_phase(cb, args.rss_events)
        finally:
            stop_profilers(spies)
            for stack in stacks[::-1]:
                await stack.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--conc", type=int, default=320)
    parser.add_argument("--rate", type=float, nargs="+", default=[60.0], help="msg/s of each lag phase")
    parser.add_argument("--lag-seconds", type=float, default=15.0)
    parser.add_argument("--rss-events", type=int, default=100_000)
    parser.add_argument("--endpoint-txns", type=int, default=2000)
    parser.add_argument("--max-minutes", type=float, default=20.0)
    parser.add_argument(
        "--appservice-only",
        action="store_true",
        help="also a third Synapse with the registration but no module, answered by a trivial appservice",
    )
    parser.add_argument("--py-spy", default="", help="directory for py-spy profiles of the rounds")
    ns = parser.parse_args()
    asyncio.run(asyncio.wait_for(main(ns), ns.max_minutes * 60))
