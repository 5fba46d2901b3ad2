"""Ports of the TURN relay: test data directories never use the fixed 3478, and `up`
(what `make run` starts) says how to get past a relay port someone else holds."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import load_settings
from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.harness.stack import free_port

CAREBRIDGE = str(Path(sys.executable).parent / "carebridge")


def test_test_data_dirs_get_a_free_turn_port_of_their_own(tmp_path: Path) -> None:
    """A data directory made for tests (testing=True) without a TURN port gets a free
    loopback port, not 3478, so two runs (or a developer's coturn) cannot collide."""
    ports = []
    for name in ("a", "b"):
        config = init_data_dir(InitOptions(data_dir=tmp_path / name, testing=True))
        port = load_settings(config).calls.turn.port
        assert port != 3478
        with socket.socket() as sock:  # free right now: nobody else holds it
            sock.bind(("127.0.0.1", port))
        ports.append(port)
    assert "listening-port=" + str(ports[0]) in (tmp_path / "a" / "turnserver.conf").read_text()


@pytest.mark.skipif(shutil.which("turnserver") is None, reason="coturn not installed")
def test_up_explains_how_to_get_past_a_taken_turn_port(tmp_path: Path) -> None:
    """`carebridge up` (and so `make run`) with the relay port held by another process
    stops before starting anything and names both ways out: another port, or TURN off."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        config = init_data_dir(
            InitOptions(
                data_dir=tmp_path / "data",
                synapse_port=free_port(),
                bridge_port=free_port(),
                web_port=free_port(),
                turn_port=taken,
                testing=True,
            )
        )
        result = subprocess.run(
            [CAREBRIDGE, "up", "-c", str(config)], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1, result.stdout + result.stderr
    message = result.stdout + result.stderr
    assert f"port {taken}" in message and "TURN relay" in message
    assert "--turn-port" in message and "enabled: false" in message
    assert not (tmp_path / "data" / "homeserver.pid").exists()
