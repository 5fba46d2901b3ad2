"""Benchmark: what the module's request guards cost per request, in process (no Synapse).

The request guard (mounted at /_matrix) runs on every client request, the message path
included; the admin API guard (at /_synapse) on every /_synapse request. Timed here:
`getChildWithDefault` of each guard for the requests that matter (a message send, a
/sync, a read receipt, a sign-in, an admin read and an admin action), against a baseline
measured in the same run: a plain Twisted resource handing back the same child. Printed:
microseconds per request (CPU time of this process) and the guard's cost as a share of
Synapse's own CPU per message (about 12 ms on this kind of machine, see
docs/development/benchmarks.md).

`--root DIR` imports the module from another checkout (`git archive <commit> | tar -x -C
DIR`), so a before/after pair is measured with the same script; requests a checkout's
guard does not know (the admin guard before issue 21) are skipped.

    .venv/bin/python bench/request_guard.py [--n 20000] [--root DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

SYNAPSE_CPU_PER_MESSAGE_MS = 12.0


class FakeRequest:
    """The parts of a SynapseRequest the guards read."""

    def __init__(self, method: str, path: str, body: Any = None) -> None:
        self.method = method.encode()
        self.path = path.encode()
        self.content = io.BytesIO(json.dumps(body).encode() if body is not None else b"")
        self.args: dict[bytes, list[bytes]] = {}

    def notifyFinish(self) -> Any:
        from twisted.internet.defer import Deferred

        return Deferred()

    def get_client_ip_if_available(self) -> str:
        return "10.0.0.7"

    def getHeader(self, name: str) -> None:
        del name


def _time(call: Any, n: int) -> float:
    """CPU microseconds per call."""
    start = time.process_time()
    for _ in range(n):
        call()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    logging.disable(logging.WARNING)  # the refusals' log lines would be timed (and printed)
    from unittest.mock import Mock

    from synapse.module_api import ModuleApi
    from twisted.web.resource import Resource

    from policy.module import request_guard

    api = Mock(spec=ModuleApi)
    api.should_run_background_tasks.return_value = False
    guard_args: tuple[Any, ...] = (frozenset(),)
    try:
        from policy.module.sign_in_limit import SignInLimiter
        from policy.sign_in_limit import DEFAULT_FAILED_ATTEMPTS

        guard_args = (frozenset(), SignInLimiter(api, Mock(), DEFAULT_FAILED_ATTEMPTS))
    except ImportError:
        pass
    guard = request_guard.RequestGuard(*guard_args)
    child = Resource()
    guard.putChild(b"client", child)
    baseline = Resource()
    baseline.putChild(b"client", child)

    room = "/_matrix/client/v3/rooms/!abc:clinic.example"
    cases = [
        ("message send", b"client", FakeRequest("PUT", f"{room}/send/m.room.message/txn1", {"body": "x"})),
        ("sync", b"client", FakeRequest("GET", "/_matrix/client/v3/sync")),
        ("read receipt", b"client", FakeRequest("POST", f"{room}/receipt/m.read/$e")),
    ]
    print(f"{'request':<22} {'guard us':>9} {'baseline us':>12} {'extra us':>9} {'share of 12 ms':>15}")
    for name, segment, request in cases:
        with_guard = _time(lambda r=request, s=segment: guard.getChildWithDefault(s, r), args.n)
        plain = _time(lambda r=request, s=segment: baseline.getChildWithDefault(s, r), args.n)
        extra = with_guard - plain
        share = extra / (SYNAPSE_CPU_PER_MESSAGE_MS * 1000)
        print(f"{name:<22} {with_guard:>9.2f} {plain:>12.2f} {extra:>9.2f} {share:>14.4%}")
    try:
        from policy.module.admin_api import AdminApiGuard
    except ImportError:
        print("admin API guard: not in this checkout")
        return
    recorder = Mock()
    recorder.config.bot_user_id = "@carebridge:clinic.example"
    admin = AdminApiGuard(api, recorder)
    admin.putChild(b"admin", child)
    plain_admin = Resource()
    plain_admin.putChild(b"admin", child)
    user = "%40nurse%3Aclinic.example"
    for name, request in [
        ("admin read", FakeRequest("GET", f"/_synapse/admin/v1/rooms/{room[25:]}/messages")),
        ("admin action", FakeRequest("PUT", f"/_synapse/admin/v2/users/{user}", {"displayname": "N"})),
        ("admin refused", FakeRequest("POST", f"/_synapse/admin/v1/users/{user}/login", {})),
    ]:
        with_guard = _time(lambda r=request: admin.getChildWithDefault(b"admin", r), args.n)
        plain = _time(lambda r=request: plain_admin.getChildWithDefault(b"admin", r), args.n)
        print(f"{name:<22} {with_guard:>9.2f} {plain:>12.2f} {with_guard - plain:>9.2f}")


if __name__ == "__main__":
    main()
