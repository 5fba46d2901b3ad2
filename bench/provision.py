"""Benchmark: provision 1,000 users and 50 channels, then re-apply.

Starts its own Synapse + bridge (tests/harness), so it runs standalone:

    .venv/bin/python bench/provision.py [--users 1000] [--channels 50] [--concurrency N]

Prints the apply and re-apply times, their ratio, and the per-user cost of apply against
the raw admin-API user-create call (PUT /_synapse/admin/v2/users/<id>, measured in the
same run on the same Synapse, one at a time and at the same concurrency as apply).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from provisioning.org.admin_api import SynapseClient
from provisioning.org.apply import Applier, connections_for, default_concurrency
from provisioning.org.passwords import generate_password
from provisioning.org.session import compute_plan, load_org_file, open_session
from tests.harness.stack import Stack

GROUPS = 40


def org_text(users: int, channels: int) -> str:
    """users spread over GROUPS groups; each channel: one group posts, the next responds,
    admins read; plus one clinic-wide announcements channel (everyone reads)."""
    lines = [
        "organization: {name: Bench Hospital, timezone: America/Chicago}",
        "groups:",
        *[f"  g{g:02d}: {{display_name: Group {g}}}" for g in range(GROUPS)],
        "schedules:",
        '  day: {days: [mon, tue, wed, thu, fri], start: "07:00", end: "19:00"}',
        "users:",
    ]
    for i in range(users):
        role = "admin" if i < 5 else "staff"
        lines += [
            f"  - {{username: u{i:05d}, display_name: User {i}, email: u{i:05d}@bench.example,"
            f" role: {role}, groups: [g{i % GROUPS:02d}], schedule: day}}"
        ]
    lines.append("channels:")
    lines.append("  - {name: announcements, members: [everyone], post: [role:admin]}")
    for c in range(channels - 1):
        g, h = c % GROUPS, (c + 1) % GROUPS
        lines.append(
            f"  - {{name: ch{c:03d}, topic: Channel {c}, members: [role:admin], post: [group:g{g:02d}],"
            f" respond: [group:g{h:02d}]}}"
        )
    return "\n".join(lines) + "\n"


async def raw_creates(stack: Stack, count: int, concurrency: int) -> float:
    """Seconds for `count` raw admin-API user creations at the given concurrency."""
    sem = asyncio.Semaphore(concurrency)
    tag = secrets.token_hex(3)
    async with SynapseClient(stack.hs_url, stack.as_token, concurrency=concurrency * 2) as client:

        async def one(i: int) -> None:
            async with sem:
                await client.create_user(
                    f"@raw{tag}c{concurrency}n{i}:{stack.server_name}", generate_password(), f"Raw {i}", None
                )

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return time.perf_counter() - start


async def raw_joins(stack: Stack, count: int) -> float:
    """Seconds for `count` raw admin-API force-joins, one at a time, into a fresh room."""
    tag = secrets.token_hex(3)
    async with SynapseClient(stack.hs_url, stack.as_token) as client:
        bot = await client.whoami()
        users = [f"@rawj{tag}n{i}:{stack.server_name}" for i in range(count)]
        for user in users:  # no password: this baseline measures joins only
            await client.request("PUT", f"/_synapse/admin/v2/users/{user}", {"displayname": "Raw"})
        join_rule = {"type": "m.room.join_rules", "state_key": "", "content": {"join_rule": "invite"}}
        room = await client.create_room(f"rawj{tag}", "Raw", "", {"users": {bot: 100}}, [join_rule])
        start = time.perf_counter()
        for user in users:
            await client.force_join(room, user)
        return time.perf_counter() - start


async def apply_once(
    stack: Stack, org_path: Path, concurrency: int
) -> tuple[float, int, int, dict[str, int]]:
    """Plan + apply; returns (seconds, steps, homeserver writes); prints phase times."""
    settings = stack.s
    _, org = load_org_file(settings, org_path)
    start = time.perf_counter()
    async with open_session(settings, concurrency=connections_for(concurrency)) as session:
        plan = await compute_plan(session, org)
        planned = time.perf_counter()
        applier = Applier(plan, session.client, session.directory, settings, concurrency=concurrency)
        result = await applier.run()
    phases = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items() if v >= 0.005)
    print(f"  read+plan {planned - start:.2f}s; {phases or 'nothing to apply'}", flush=True)
    return time.perf_counter() - start, len(plan.actions), result.writes, plan.summary()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=default_concurrency())
    parser.add_argument("--baseline", type=int, default=50, help="raw user creations per baseline run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cb-bench-") as tmp:
        stack = Stack(root=Path(tmp))
        stack.init()
        try:
            stack.start_synapse()
            stack.start_bridge()
            org_path = Path(tmp) / "org.yaml"
            org_path.write_text(org_text(args.users, args.channels))

            raw_seq = await raw_creates(stack, args.baseline, 1)
            raw_conc = await raw_creates(stack, args.baseline, args.concurrency)
            raw_join = await raw_joins(stack, args.baseline)
            first, steps, writes, summary = await apply_once(stack, org_path, args.concurrency)
            again, steps_again, writes_again, _ = await apply_once(stack, org_path, args.concurrency)
        finally:
            stack.stop()

    per_user = first / args.users
    raw_one = raw_seq / args.baseline
    raw_par = raw_conc / args.baseline
    join_one = raw_join / args.baseline
    joins = summary.get("member.join", 0)
    serial = args.users * raw_one + joins * join_one
    print(f"org: {args.users} users, {args.channels} channels, concurrency {args.concurrency}")
    print(f"apply:     {first:8.2f} s  ({steps} steps, {writes} homeserver writes)")
    print(f"re-apply:  {again:8.2f} s  ({steps_again} steps, {writes_again} homeserver writes)")
    print(f"ratio re-apply / apply: {again / first:.4f}")
    print(
        f"raw admin-API user create: {raw_one * 1000:7.1f} ms/user one at a time, "
        f"{raw_par * 1000:7.1f} ms/user at concurrency {args.concurrency}"
    )
    print(f"apply per user (accounts, rooms, joins, directory, passwords): {per_user * 1000:7.1f} ms")
    print(
        f"ratio apply per user / raw create: {per_user / raw_one:.2f} (one at a time), "
        f"{per_user / raw_par:.2f} (same concurrency)"
    )
    print(
        f"raw admin-API force-join: {join_one * 1000:7.1f} ms/join one at a time ({joins} joins in this org)"
    )
    print(
        f"the same raw calls one after another would take ~{serial:.0f} s; "
        f"apply took {first:.0f} s (ratio {first / serial:.2f})"
    )


if __name__ == "__main__":
    asyncio.run(main())
