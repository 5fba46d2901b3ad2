"""`carebridge up` as a real subprocess: healthy children, clean SIGTERM, no orphans."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from provisioning.ops.initdir import InitOptions, init_data_dir
from provisioning.ops.supervisor import pid_alive
from tests.harness.provision import CAREBRIDGE, start_up, wait_for_line
from tests.harness.stack import free_port, wait_http


def _start_up(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            testing=True,
            # Two children here; the coturn child is covered by tests/e2e/test_turn_files_up.py.
            extra_settings={"calls": {"turn": {"enabled": False}}},
        )
    )
    out = tmp_path / "up.out"
    return start_up(config, out), config, out


@pytest.mark.slow
def test_sigterm_stops_both_children(tmp_path: Path) -> None:
    proc, config, out = _start_up(tmp_path)
    try:
        wait_for_line(out, "Staff sign in at:", proc)
        state = json.loads((config.parent / "run" / "state.json").read_text())
        pids = [c["pid"] for c in state["children"].values()]
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        for child in state["children"].values():
            wait_http(child["health_url"], 10)
        status = subprocess.run(
            [CAREBRIDGE, "status", "-c", str(config)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "synapse" in status.stdout and "bridge" in status.stdout

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        deadline = time.monotonic() + 10
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(pid_alive(p) for p in pids), "a child outlived carebridge up"
        assert not (config.parent / "run" / "state.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
