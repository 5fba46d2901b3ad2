"""`carebridge init` writes a compliant, private data directory; the CLI explains itself."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bridge.archive.keyring import Keyring
from provisioning.cli.app import main

SECRET_FILES = [
    "carebridge.yaml",
    "homeserver.yaml",
    "registration.yaml",
    "signing.key",
    "archive.key",
    "log.config.yaml",
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    result = CliRunner().invoke(
        main, ["init", "--data-dir", str(tmp_path / "d"), "--server-name", "clinic.test"]
    )
    assert result.exit_code == 0, result.output
    return tmp_path / "d"


def test_files_written_private(data_dir: Path) -> None:
    for name in SECRET_FILES:
        mode = stat.S_IMODE((data_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_homeserver_is_the_compliance_baseline(data_dir: Path) -> None:
    hs = yaml.safe_load((data_dir / "homeserver.yaml").read_text())
    assert hs["server_name"] == "clinic.test"
    assert hs["enable_registration"] is False
    assert hs["allow_guest_access"] is False
    assert hs["federation_domain_whitelist"] == []
    assert all(r["names"] == ["client"] for lst in hs["listeners"] for r in lst["resources"])
    assert "redaction_retention_period" in hs and hs["redaction_retention_period"] is None
    assert hs["presence"]["enabled"] is True
    assert hs["user_directory"]["search_all_users"] is True
    policy = hs["password_config"]["policy"]
    assert policy["enabled"] and policy["minimum_length"] >= 12
    assert all(
        policy[k] for k in ("require_digit", "require_symbol", "require_lowercase", "require_uppercase")
    )
    assert hs["default_room_version"] == "11"
    assert hs["modules"][0]["module"] == "policy.module.entry.CarebridgeModule"
    # The module's shared sign-in limit is rc_login's failed_attempts (one YAML anchor).
    assert hs["modules"][0]["config"]["sign_in_failed_attempts"] == hs["rc_login"]["failed_attempts"]
    # Staff type as fast as clinicians do: carebridge.yaml's messages: (5/s, burst 50),
    # not Synapse's default (0.2/s, burst 10) nor the test harness's lifted limits.
    assert hs["rc_message"] == {"per_second": 5.0, "burst_count": 50}
    assert "rc_joins" not in hs, "rate limits are only lifted in the test harness"


def test_registration_sees_every_room_and_has_fresh_tokens(data_dir: Path, tmp_path: Path) -> None:
    reg = yaml.safe_load((data_dir / "registration.yaml").read_text())
    assert {"exclusive": False, "regex": ".*"} in reg["namespaces"]["rooms"]
    # The bot's token can act as the bot only: no staff account is in its user namespace.
    assert [n["regex"] for n in reg["namespaces"]["users"]] == [r"@carebridge:clinic\.test"]
    assert reg["as_token"] != reg["hs_token"] and len(reg["hs_token"]) >= 32
    other = CliRunner().invoke(main, ["init", "--data-dir", str(tmp_path / "e")])
    assert other.exit_code == 0
    reg2 = yaml.safe_load((tmp_path / "e" / "registration.yaml").read_text())
    assert reg2["hs_token"] != reg["hs_token"]
    Keyring.load(data_dir / "archive.key")  # loads: 0600 and well-formed


def test_refuses_to_overwrite_without_force(data_dir: Path) -> None:
    before = (data_dir / "registration.yaml").read_text()
    result = CliRunner().invoke(main, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code != 0
    assert "--force" in result.output
    assert (data_dir / "registration.yaml").read_text() == before
    forced = CliRunner().invoke(main, ["init", "--data-dir", str(data_dir), "--force"])
    assert forced.exit_code == 0
    assert (data_dir / "registration.yaml").read_text() != before


@pytest.mark.parametrize("command", [[], ["init"], ["up"], ["status"], ["bridge"]])
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output
    assert len(result.output.splitlines()) > 6


def test_up_with_missing_config_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["up", "-c", str(tmp_path / "nope.yaml")])
    assert result.exit_code != 0
    assert "not found" in result.output and "carebridge init" in result.output


def test_up_with_invalid_config_names_file_line_key(tmp_path: Path) -> None:
    bad = tmp_path / "carebridge.yaml"
    bad.write_text("server_name: x\nweb:\n  port: eighty\n")
    result = CliRunner().invoke(main, ["up", "-c", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3:3: web.port:" in result.output
