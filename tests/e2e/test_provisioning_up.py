"""`carebridge up` with `org_file:` applies the org file once Synapse and the bridge are
healthy; an invalid org file stops `up` before anything starts."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.harness.provision import CAREBRIDGE, start_up, wait_for_line
from tests.harness.stack import free_port

EXAMPLE_ORG = Path(__file__).resolve().parents[2] / "config" / "org.example.yaml"


def _init(tmp_path: Path, org_file: Path) -> Path:
    return init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            org_file=org_file,
            testing=True,
        )
    )


@pytest.mark.slow
def test_up_applies_the_example_org_file(tmp_path: Path) -> None:
    config = _init(tmp_path, EXAMPLE_ORG)
    out = tmp_path / "up.out"
    proc = start_up(config, out)
    try:
        wait_for_line(out, "Staff sign in at:", proc, timeout=180)
        text = out.read_text()
        assert "applying the org file" in text
        assert "6 user.create, 3 channel.create" in text
        files = sorted((config.parent / "initial-passwords").iterdir())
        assert len(files) == 6 and all(f.stat().st_mode & 0o777 == 0o600 for f in files)
        assert (config.parent / "policy.json").stat().st_mode & 0o777 == 0o600
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
def test_every_up_says_where_the_waiting_initial_passwords_are(tmp_path: Path) -> None:
    """The sign-in banner names the folder of initial passwords still waiting to be handed
    over, on the first start and on a restart (when the apply that wrote them has long
    scrolled away, or printed only "No changes")."""
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            synapse_port=free_port(),
            bridge_port=free_port(),
            web_port=free_port(),
            org_file=EXAMPLE_ORG,
            testing=True,
            extra_settings={"calls": {"turn": {"enabled": False}}},
        )
    )
    folder = config.parent.resolve() / "initial-passwords"
    for run in ("first", "restart"):
        out = tmp_path / f"up-{run}.out"
        proc = start_up(config, out)
        try:
            wait_for_line(out, "Stop with Ctrl-C.", proc, timeout=180)
            banner = out.read_text().split("Carebridge is up for", 1)[1]
            assert f"Initial passwords:  6 file(s) in {folder}/" in banner, banner
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    # The file says what the web client does at the first sign-in (the forced change).
    assert (
        "the web client asks you to choose your\nown as soon as you sign in"
        in next(folder.iterdir()).read_text()
    )
    # The first start's apply names every password file it wrote, one per line.
    first = " ".join((tmp_path / "up-first.out").read_text().split())  # undo the wrapping
    assert "then delete it):" in first
    assert all(str(path) in first for path in folder.iterdir())
    assert "No changes" in (tmp_path / "up-restart.out").read_text()


def test_up_refuses_an_invalid_org_file_before_starting(tmp_path: Path) -> None:
    broken = tmp_path / "org.yaml"
    broken.write_text("organization: {name: X}\nusers:\n  - username: Bad Name\n")
    config = _init(tmp_path, broken)
    result = subprocess.run([CAREBRIDGE, "up", "-c", str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{broken}:3:5: users.0.username:" in result.stderr
    assert "starting synapse" not in result.stdout
