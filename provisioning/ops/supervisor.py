"""`carebridge up`: run Synapse and the bridge (and coturn, when installed) as supervised
child processes.

Children start in order (Synapse, then the bridge), each must become healthy before the
next starts. A child that dies later is restarted with back-off, like systemd's
`Restart=on-failure`, while the others keep serving (Synapse keeps and retries the
transactions a restarting bridge misses); each restart is logged and counted in the state
file `carebridge status` reads. Only a child that keeps dying soon after every start
(supervisor.max_fast_crashes in a row) stops `up`, with exit code 1. SIGINT / SIGTERM stop
all (bridge first, so it finishes the transaction in hand). On Linux each child also gets
PR_SET_PDEATHSIG, so even a SIGKILLed supervisor leaves no orphan.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from bridge.core.files import write_private
from config.settings import Settings, SupervisorSettings
from provisioning.ops.probes import healthy, pid_alive, port_in_use
from provisioning.ops.turn import turnserver_argv
from provisioning.org.delivery import PASSWORD_DIR

STATE_FILE = "run/state.json"


class SupervisorError(Exception):
    """Start-up could not complete (port taken, child died, health timeout)."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _port_hint(label: str) -> str:
    """How to get past a taken port (the TURN relay's 3478 is often held by another coturn)."""
    if label == "TURN relay":
        return (
            " (another coturn?). Stop it, or give Carebridge's relay another port: "
            "`carebridge init --turn-port 3479` for a new data directory "
            "(`make run TURN_PORT=3479 DATA_DIR=another-dir`), or turn TURN off with "
            "`calls: {turn: {enabled: false}}` in carebridge.yaml (calls then work only "
            "inside one network)"
        )
    return "; stop what holds it or choose another port in carebridge.yaml"


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: list[str]
    health_url: str
    log_path: Path
    start_url: str | None = None  # what start-up waits for (default: health_url)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    fast_crashes: int = 0
    restart_at: float | None = None

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.restart_at = None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - argv built from our own interpreter
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                # Its own process group: Ctrl-C in a terminal signals the whole foreground
                # group, and a child stopping by itself would race the ordered shutdown
                # (the bridge first, while Synapse still answers). `up` stops each child.
                process_group=0,
            )

    def exit_code(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass(frozen=True)
class RestartDecision:
    """What to do about a child that died: restart it after `delay` seconds, or give up."""

    give_up: bool
    delay: float
    fast: bool


def restart_decision(policy: SupervisorSettings, child: Child, now: float) -> RestartDecision:
    """Back-off doubling from backoff_initial_seconds to backoff_max_seconds over crashes
    that come soon after a start (fast), reset by a run that lasted; max_fast_crashes fast
    crashes in a row (or restart: false) mean give up."""
    fast = now - child.started_at < policy.fast_crash_seconds
    streak = child.fast_crashes + 1 if fast else 0
    if not policy.restart or streak >= policy.max_fast_crashes:
        return RestartDecision(True, 0.0, fast)
    delay = min(policy.backoff_max_seconds, policy.backoff_initial_seconds * (2**streak))
    return RestartDecision(False, delay, fast)


@dataclass
class Supervisor:
    """Starts, watches and stops the children of `carebridge up`."""

    settings: Settings
    config_path: Path
    echo: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    on_ready: Callable[[], None] | None = None
    _stopping: bool = False

    @property
    def state_path(self) -> Path:
        return self.settings.data_dir / STATE_FILE

    def _build_children(self) -> None:
        s = self.settings
        logs = s.data_dir / "logs"
        hs_config = s.path(s.synapse.config)
        children = [
            Child(
                "synapse",
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(hs_config)],
                f"{s.synapse.url}/health",
                logs / "synapse.out",
            ),
            Child(
                "bridge",
                [sys.executable, "-m", "bridge", "-c", str(self.config_path)],
                f"http://{s.bridge.host}:{s.bridge.port}/_carebridge/ready",
                logs / "bridge.out",
                # Start-up waits until the bridge serves; a backlog to catch up on after
                # downtime makes it not *ready* for a while, which `status` then shows.
                start_url=f"http://{s.bridge.host}:{s.bridge.port}/_carebridge/health",
            ),
        ]
        turn = turnserver_argv(s)
        if isinstance(turn, str):
            self.echo(f"note: not starting the TURN relay: {turn}")
        else:
            # Started first: calls need it, and it is ready in milliseconds.
            children.insert(
                0,
                Child(
                    "coturn",
                    turn,
                    f"tcp://{s.calls.turn.host}:{s.calls.turn.port}",
                    logs / "coturn.out",
                ),
            )
        self.children = children

    def check_ports(self) -> None:
        """Refuse to start when a port we need is taken (clear message, not a crash later)."""
        s = self.settings
        syn = urlsplit(s.synapse.url)
        wanted = [
            ("Synapse", syn.hostname or "127.0.0.1", syn.port or 8008),
            ("bridge", s.bridge.host, s.bridge.port),
        ]
        if s.web.enabled:
            wanted.append(("web client", s.web.host, s.web.port))
        if not isinstance(turnserver_argv(s), str):
            wanted.append(("TURN relay", s.calls.turn.host, s.calls.turn.port))
        for label, host, port in wanted:
            if port_in_use(host, port):
                taken = f"port {port} on {host} ({label}) is already in use"
                raise SupervisorError(taken + _port_hint(label))

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _wait_healthy(self, child: Child, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._stopping:
                raise SupervisorError("interrupted during start-up")
            code = child.exit_code()
            if code is not None:
                raise SupervisorError(
                    f"{child.name} exited with code {code} during start-up; see {child.log_path}"
                )
            if healthy(child.start_url or child.health_url):
                return
            time.sleep(0.25)
        raise SupervisorError(
            f"{child.name} did not become healthy within {timeout:.0f}s; see {child.log_path}"
        )

    def _write_state(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "started_at": int(time.time()),
            "client_url": self.client_url,
            "children": {
                c.name: {
                    "pid": c.proc.pid if c.proc and c.restart_at is None else None,
                    "health_url": c.health_url,
                    "log": str(c.log_path),
                    "restarts": c.restarts,
                }
                for c in self.children
            },
        }
        write_private(self.state_path, json.dumps(state, indent=2))

    @property
    def client_url(self) -> str:
        web = self.settings.web
        return f"http://{web.host}:{web.port}/" if web.enabled else self.settings.synapse.public_url

    def run(self, startup_timeout: float = 120.0) -> int:
        """Start everything, block until a signal or a child death; return the exit code."""
        # SIGHUP: the terminal `make run` ran in was closed; stop in order as for Ctrl-C.
        stop_on = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in stop_on}
        try:
            return self._run(startup_timeout)
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self, startup_timeout: float) -> int:
        pid = running_supervisor(self.settings)
        if pid is not None:
            raise SupervisorError(f"Carebridge is already running (pid {pid})")
        self.check_ports()
        self._build_children()
        for child in self.children:
            self.echo(f"starting {child.name} (log: {child.log_path})")
            child.start()
            self._write_state()
            self._wait_healthy(child, startup_timeout)
            self.echo(f"{child.name} is healthy")
        if self.on_ready is not None:
            self.on_ready()
        self.echo("")
        self.echo(f"Carebridge is up for {self.settings.organization_name}.")
        self.echo(f"  Staff sign in at:   {self.client_url}")
        self.echo(f"  Homeserver (apps):  {self.settings.synapse.public_url}")
        waiting = waiting_password_files(self.settings)
        if waiting:
            self.echo(
                f"  Initial passwords:  {len(waiting)} file(s) in {waiting[0].parent}/ "
                "(hand each over, then delete it)"
            )
        self.echo("  Stop with Ctrl-C.")
        while not self._stopping:
            for child in self.children:
                if not self._watch(child):
                    return 1
            time.sleep(0.25)
        self.echo("stopping")
        return 0

    def _watch(self, child: Child) -> bool:
        """Restart `child` if it died and its back-off is over; False: give up."""
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.restarts += 1
                self.echo(f"restarting {child.name} (restart #{child.restarts})")
                child.start()
                self._write_state()
            return True
        code = child.exit_code()
        if code is None:
            return True
        decision = restart_decision(self.settings.supervisor, child, now)
        child.fast_crashes = child.fast_crashes + 1 if decision.fast else 0
        if decision.give_up:
            why = (
                f"after {child.fast_crashes} fast crashes in a row"
                if self.settings.supervisor.restart
                else "(supervisor.restart is off)"
            )
            self.echo(
                f"{child.name} exited unexpectedly with code {code}; giving up {why}; see {child.log_path}"
            )
            return False
        child.restart_at = now + decision.delay
        self._write_state()
        self.echo(
            f"{child.name} exited unexpectedly with code {code}; restarting in {decision.delay:.0f}s; "
            f"see {child.log_path}"
        )
        return True

    def shutdown(self) -> None:
        """Stop children in reverse start order and remove the state file."""
        for child in reversed(self.children):
            child.stop()
        self.state_path.unlink(missing_ok=True)


def waiting_password_files(settings: Settings) -> list[Path]:
    """Initial-password files not yet handed over (and deleted) by an administrator."""
    folder = settings.data_dir.resolve() / PASSWORD_DIR
    return sorted(folder.glob("*.txt")) if folder.is_dir() else []


def read_state(settings: Settings) -> dict[str, object] | None:
    """The state file of a running `carebridge up`, if any."""
    path = settings.data_dir / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def running_supervisor(settings: Settings) -> int | None:
    """The pid of a live `carebridge up` for this data dir, if one is running."""
    state = read_state(settings) or {}
    pid = state.get("supervisor_pid")
    return pid if isinstance(pid, int) and pid_alive(pid) else None
