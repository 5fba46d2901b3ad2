"""`carebridge init` renders the files policy and TURN consistently (no Synapse needed)."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import yaml

from config.settings import load_settings
from policy.module.config import ModuleConfig
from provisioning.ops.initdir import InitOptions, init_data_dir
from provisioning.ops.turn import turnserver_argv


def test_init_renders_files_policy_and_turn(tmp_path: Path) -> None:
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data",
            turn_port=34781,
            extra_settings={"files": {"max_upload_mb": 2, "forbidden_type_message": "No."}},
        )
    )
    data = config.parent
    hs = yaml.safe_load((data / "homeserver.yaml").read_text())
    module = ModuleConfig.parse(hs["modules"][0]["config"])
    assert module.staff.files.max_bytes == 2 * 1024 * 1024
    assert module.staff.files.forbidden_type_message == "No."
    assert int(hs["max_upload_size"]) == 4 * 1024 * 1024  # twice: the module answers first
    assert hs["turn_uris"] == ["turn:127.0.0.1:34781?transport=udp", "turn:127.0.0.1:34781?transport=tcp"]

    turn_conf = (data / "turnserver.conf").read_text()
    assert stat.S_IMODE((data / "turnserver.conf").stat().st_mode) == 0o600
    secret = re.search(r"^static-auth-secret=(\S+)$", turn_conf, re.M)
    assert secret is not None and secret.group(1) == hs["turn_shared_secret"]
    assert "listening-port=34781" in turn_conf and "allow-loopback-peers" in turn_conf

    settings = load_settings(config)
    assert settings.calls.turn.port == 34781 and settings.files.max_upload_bytes == 2 * 1024 * 1024
    argv = turnserver_argv(settings)
    assert isinstance(argv, str) or argv[-2:] == ["-c", str(data / "turnserver.conf")]


def test_turn_disabled_writes_no_coturn_config(tmp_path: Path) -> None:
    config = init_data_dir(
        InitOptions(data_dir=tmp_path / "data", extra_settings={"calls": {"turn": {"enabled": False}}})
    )
    hs = yaml.safe_load((config.parent / "homeserver.yaml").read_text())
    assert "turn_uris" not in hs
    assert not (config.parent / "turnserver.conf").exists()
    assert "disabled" in str(turnserver_argv(load_settings(config)))


def test_up_skips_coturn_with_a_note_when_not_installed(tmp_path: Path) -> None:
    config = init_data_dir(
        InitOptions(
            data_dir=tmp_path / "data", extra_settings={"calls": {"turn": {"binary": "no-such-turnserver"}}}
        )
    )
    reason = turnserver_argv(load_settings(config))
    assert isinstance(reason, str) and "apt-get install coturn" in reason
