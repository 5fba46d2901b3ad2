"""Benchmark: "who holds role X now" for a 1,000-person organisation with 50 roles and a
year of rota, against a plain dict lookup of precomputed holders.

The rota: every role has a day (07:00-19:00) and a night (19:00-07:00) stretch every day
for 365 days (730 stretches per role, 36,500 in all), each given to one of the role's 20
members; a few roles also carry a two-week stretch (long on-call cover) and a hand
assignment, so the index must find stretches that began long before the instant asked.
Each query is `policy.roles.who_holds` (hand assignments, releases, away people, the next
change) at a random instant of the year, for a random role. The baseline, measured in
the same run, is `holders[role]` on a dict (what the answer would cost if it were
already known). Printed: microseconds per query (median, p99, max), queries per second,
the ratio against the baseline, and the time to build the indexes once. Also timed:
`route` (holders, or the backup chain when a role is empty).

    .venv/bin/python bench/roles.py [--queries 200000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.roles import Away, Cover, CoverIndex, CoverSource, RoleFacts, RoleSpec, route, who_holds

H = 3_600_000
DAY = 24 * H
YEAR_START = 1_893_456_000_000  # 2030-01-01T00:00Z
PEOPLE = 1000
ROLES = 50
DAYS = 365


def build(rng: random.Random) -> tuple[dict[str, RoleFacts], dict[str, tuple[str, ...]], list[int]]:
    people = [f"@user{i:04d}:clinic.example" for i in range(PEOPLE)]
    facts: dict[str, RoleFacts] = {}
    plain: dict[str, tuple[str, ...]] = {}
    for r in range(ROLES):
        members = rng.sample(people, 20)
        covers = []
        for d in range(DAYS):
            day = YEAR_START + d * DAY
            covers.append(Cover(day + 7 * H, day + 19 * H, rng.choice(members)))
            covers.append(Cover(day + 19 * H, day + 31 * H, rng.choice(members)))
        if r % 5 == 0:  # long on-call cover
            start = YEAR_START + rng.randrange(DAYS - 14) * DAY
            covers.append(Cover(start, start + 14 * DAY, rng.choice(members)))
        manual = []
        if r % 7 == 0:
            start = YEAR_START + rng.randrange(DAYS) * DAY
            manual.append(Cover(start, start + 8 * H, rng.choice(members), CoverSource.ASSIGNED))
        backup = f"role:role{(r + 1) % ROLES:02d}" if r % 10 else None
        name = f"role{r:02d}"
        spec = RoleSpec(name, f"Role {r}", frozenset(members), backup)
        facts[name] = RoleFacts(spec, CoverIndex(covers), CoverIndex(manual))
        plain[name] = (members[0],)
    instants = [YEAR_START + rng.randrange(DAYS * DAY) for _ in range(4096)]
    return facts, plain, instants


def timed(fn: object, queries: int, names: list[str], instants: list[int]) -> list[float]:
    """Per-query wall time in microseconds (batches of 64 calls, to see past the timer)."""
    call = fn  # type: ignore[assignment]
    samples = []
    batch = 64
    for i in range(0, queries, batch):
        started = time.perf_counter_ns()
        for j in range(i, i + batch):
            call(names[j % len(names)], instants[j % len(instants)])  # type: ignore[operator]
        samples.append((time.perf_counter_ns() - started) / batch / 1000)
    return samples


def line(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[int(len(ordered) * 0.99)]
    median = statistics.median(ordered)
    return f"{label:34} {median:9.2f} {p99:9.2f} {ordered[-1]:9.2f} {1e6 / median:12,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    facts, plain, instants = build(rng)
    build_s = time.perf_counter() - started
    stretches = sum(len(f.rota) for f in facts.values())
    names = [rng.choice(list(facts)) for _ in range(4096)]
    away = {
        f"@user{i:04d}:clinic.example": Away(f"@user{i:04d}:clinic.example") for i in range(0, PEOPLE, 50)
    }

    baseline = timed(lambda name, _at: plain[name], args.queries, names, instants)
    holds = timed(lambda name, at: who_holds(facts[name], at, away), args.queries, names, instants)
    routed = timed(lambda name, at: route(name, facts, at, away), args.queries, names, instants)

    print(f"{PEOPLE:,} people, {ROLES} roles, {stretches:,} rota stretches over {DAYS} days")
    print(f"indexes built once in {build_s * 1000:.0f} ms (generation included)")
    print(f"{'query':34} {'median us':>9} {'p99 us':>9} {'max us':>9} {'queries/s':>12}")
    print(line("dict lookup (baseline)", baseline))
    print(line("who_holds (policy.roles)", holds))
    print(line("route (holders or backup chain)", routed))
    ratio = statistics.median(holds) / statistics.median(baseline)
    print(
        f"who_holds / dict lookup: {ratio:.1f}x (median); target < 1 ms per query: "
        f"{'met' if sorted(holds)[int(len(holds) * 0.99)] < 1000 else 'NOT met'} at p99"
    )


if __name__ == "__main__":
    main()
