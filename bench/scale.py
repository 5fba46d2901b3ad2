"""Benchmark: every administrator command as the archive of a 5,000-person hospital grows.

Generates a realistic deployment straight into the database (bench/scale_data.py: channels,
DMs, edits, reactions, files as metadata, sign-ins at three shift changes, calls; about
50,000 archive rows a day) at 10^4, 10^5 and 10^6 archive rows (10^7 with
`--sizes ...,10000000` and enough `--max-minutes`), on SQLite and, with
CAREBRIDGE_TEST_PG_URL or --pg, on PostgreSQL. At each size every command runs in its own
process through the real `carebridge` CLI, next to its baseline measured in the same run:

    archive verify           straight hash-chain loop over the same rows
    export (room, person)    straight decrypt loop over that room's / person's rows
    report (a month)         the raw SQL query for the same sessions
    backup                   the engine's own backup (sqlite3 .backup / pg_dump -Fc)
    compliance report        straight hash-chain loop (its archive verify dominates)

and prints wall and CPU seconds, peak RSS, the ratio command / baseline, and the growth
exponent between sizes (1.0 = linear; an export of the probe room or person, whose rows
stop at the first 10,000, should stay near 0). `provision apply` is measured by
bench/provision.py (it needs a real Synapse; its cost does not depend on the archive).

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--max-minutes 90]
        [--pg postgresql+asyncpg://postgres@127.0.0.1:5432/test] [--no-sqlite] [--cases verify,...]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.scale_data import SERVER
from bench.scale_fill import Filler
from bridge.archive.keyring import Keyring
from bridge.db.engine import create_engine
from config.settings import load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir

CASES = (
    "verify",
    "export-room-probe",
    "export-room-busy",
    "export-person-probe",
    "export-person-busy",
    "report-attendance-month",
    "report-logins-month",
    "backup",
    "compliance",
)
WORKER = Path(__file__).resolve().parent / "scale_cases.py"


@dataclass
class Figure:
    """One case at one size: the command and its baseline."""

    case: str
    size: int
    command: dict[str, Any]
    baseline: dict[str, Any] | None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline["wall"] <= 0:
            return None
        return float(self.command["wall"]) / float(self.baseline["wall"])

    @property
    def cpu_ratio(self) -> float | None:
        if self.baseline is None or self.baseline["cpu"] <= 0:
            return None
        return float(self.command["cpu"]) / float(self.baseline["cpu"])


@dataclass
class Run:
    label: str
    figures: list[Figure] = field(default_factory=list)
    fills: dict[int, float] = field(default_factory=dict)


class Budget:
    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60

    def left(self) -> float:
        return self.deadline - time.monotonic()


def run_case(config: Path, case: str, which: str, budget: Budget, repeat: int = 1) -> dict[str, Any] | None:
    """The median of `repeat` measurements (wall, CPU; the largest peak RSS), each in a fresh
    process; None if one did not finish within the budget."""
    runs = []
    for _ in range(repeat):
        one = _run_once(config, case, which, budget)
        if one is None:
            return None
        runs.append(one)
    median = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu")}
    return {**runs[0], **median, "rss_mib": max(r["rss_mib"] for r in runs), "runs": len(runs)}


def _run_once(config: Path, case: str, which: str, budget: Budget) -> dict[str, Any] | None:
    """One measurement in a fresh process; None if it did not finish within the budget."""
    timeout = max(5.0, budget.left())
    try:
        done = subprocess.run(
            [sys.executable, str(WORKER), str(config), case, which],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        print(f"    {case} {which}: stopped at the --max-minutes bound", flush=True)
        return None
    if done.returncode != 0:
        print(f"    {case} {which} FAILED:\n{done.stderr[-3000:]}", flush=True)
        return None
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _fmt_s(value: float) -> str:
    return f"{value * 1000:7.0f}ms" if value < 10 else f"{value:8.1f}s"


def print_figure(f: Figure) -> None:
    c, b = f.command, f.baseline
    base = f"{_fmt_s(b['wall'])} {_fmt_s(b['cpu'])} {b['rss_mib']:6.0f}MiB" if b else " " * 29
    ratio = f"{f.ratio:6.2f}x" if f.ratio is not None else "      -"
    cpu = f"{f.cpu_ratio:6.2f}x" if f.cpu_ratio is not None else "      -"
    mine = f"{_fmt_s(c['wall'])} {_fmt_s(c['cpu'])} {c['rss_mib']:6.0f}MiB"
    print(f"  {f.case:26} {mine} | {base} | {ratio} {cpu}", flush=True)


def exponent(a: float, b: float, n_a: int, n_b: int) -> float | None:
    if a <= 0 or b <= 0:
        return None
    return math.log(b / a) / math.log(n_b / n_a)


def print_growth(run: Run) -> None:
    sizes = sorted({f.size for f in run.figures})
    by = {(f.case, f.size): f for f in run.figures}
    print(f"\n== {run.label}: growth exponent of wall time between sizes (1.0 = linear), memory ratio")
    pairs = list(itertools.pairwise(sizes))
    heads = "".join(f"  {a:.0e}->{b:.0e}" for a, b in pairs)
    print(f"  {'command':26}{heads}   peak RSS at each size (MiB)")
    for case in dict.fromkeys(f.case for f in run.figures):
        cells = []
        for a, b in pairs:
            fa, fb = by.get((case, a)), by.get((case, b))
            e = exponent(fa.command["wall"], fb.command["wall"], a, b) if fa and fb else None
            cells.append(f"{e:13.2f}" if e is not None else f"{'-':>13}")
        rss = " ".join(f"{by[(case, s)].command['rss_mib']:.0f}" for s in sizes if (case, s) in by)
        print(f"  {case:26}{''.join(cells)}   {rss}")


async def measure(
    url: str, label: str, root: Path, sizes: list[int], cases: list[str], budget: Budget
) -> Run:
    data_dir = root / label.lower()
    config = init_data_dir(InitOptions(data_dir=data_dir, server_name=SERVER, database_url=url, testing=True))
    settings = load_settings(config)
    keyring = Keyring.load(settings.path(settings.archive.key_file))
    engine = create_engine(url)
    run = Run(label)
    try:
        filler = Filler(engine, url, keyring)
        prep = await filler.prepare()
        print(
            f"\n== {label}: directory of 5,000 people and a month of sessions written in {prep:.1f}s",
            flush=True,
        )
        last_cost = 0.0
        previous = 0
        for size in sizes:
            # Everything at this size costs about (size / previous) x the last size.
            estimate = last_cost * size / previous if previous else 0.0
            if estimate > budget.left():
                print(
                    f"  {size:,} rows skipped: about {estimate / 60:.0f} min needed, "
                    f"{budget.left() / 60:.0f} left (--max-minutes)"
                )
                break
            started = time.monotonic()
            fill = await filler.grow(size)
            run.fills[size] = fill
            print(f"\n-- {label}, {size:,} archive rows (generated in {fill:.0f}s)", flush=True)
            print(
                f"  {'command':26} {'wall':>9} {'CPU':>9} {'peak RSS':>9} | {'baseline':>9} "
                f"{'CPU':>9} {'RSS':>9} | ratio (wall, CPU)"
            )
            # Small sizes take milliseconds, and the machine may be shared: medians of three.
            repeat = 3 if size <= 100_000 else 1
            for case in cases:
                command = run_case(config, case, "command", budget, repeat)
                if command is None:
                    break
                base = run_case(config, case, "baseline", budget, repeat)
                figure = Figure(case, size, command, base)
                run.figures.append(figure)
                print_figure(figure)
            last_cost, previous = time.monotonic() - started, size
            if budget.left() <= 0:
                break
    finally:
        await engine.dispose()
    print_growth(run)
    return run


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--max-minutes", type=float, default=120.0)
    parser.add_argument("--pg", default=os.environ.get("CAREBRIDGE_TEST_PG_URL"))
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    budget = Budget(args.max_minutes)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="cb-scale-") as tmp:
        root = Path(tmp)
        if not args.no_sqlite:
            runs.append(
                await measure(
                    f"sqlite+aiosqlite:///{root}/carebridge.db", "SQLite", root, sizes, cases, budget
                )
            )
        if args.pg and budget.left() > 0:
            name = f"carebridge_bench_{os.getpid()}"
            admin = create_async_engine(args.pg, isolation_level="AUTOCOMMIT")
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
                runs.append(await measure(url, "PostgreSQL", root, sizes, cases, budget))
            finally:
                async with admin.connect() as conn:
                    await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                await admin.dispose()
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {"engine": r.label, "fills": r.fills, "figures": [f.__dict__ for f in r.figures]}
                    for r in runs
                ],
                indent=1,
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
