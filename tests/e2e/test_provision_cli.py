"""`carebridge provision` without a running homeserver: check works, plan says why not."""

from __future__ import annotations

import subprocess
from pathlib import Path

from provisioning.ops.initdir import InitOptions, init_data_dir
from tests.harness.provision import CAREBRIDGE
from tests.harness.stack import free_port

EXAMPLE_ORG = Path(__file__).resolve().parents[2] / "config" / "org.example.yaml"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CAREBRIDGE, *args], capture_output=True, text=True, timeout=60, check=False)


def test_check_plan_and_missing_org_file(tmp_path: Path) -> None:
    config = str(
        init_data_dir(
            InitOptions(data_dir=tmp_path / "data", synapse_port=free_port(), bridge_port=free_port())
        )
    )
    checked = run("provision", "check", "-c", config, str(EXAMPLE_ORG))
    assert checked.returncode == 0 and "valid (6 users, 3 groups, 3 channels)" in checked.stdout

    planned = run("provision", "plan", "-c", config, str(EXAMPLE_ORG))
    assert planned.returncode == 1 and "cannot reach Synapse" in planned.stderr

    missing = run("provision", "apply", "-c", config)
    assert missing.returncode == 2 and "no org file given" in missing.stderr

    helped = run("provision", "--help")
    assert helped.returncode == 0 and "file:line:column" in helped.stdout
