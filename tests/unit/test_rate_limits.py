"""carebridge.yaml's `sign_in:` and `messages:` are what homeserver.yaml's `rc_login` and
`rc_message` say: written by `carebridge init`, rewritten by `carebridge up` when the
settings changed, appended to a homeserver.yaml written before the markers existed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from config.errors import ConfigError
from config.settings import Rate, Settings, load_settings
from provisioning.cli.app import main
from provisioning.ops.rate_limits import MESSAGES, message_block, sync_rate_limits


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    args = ["init", "--data-dir", str(tmp_path / "d"), "--server-name", "clinic.test"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return tmp_path / "d" / "carebridge.yaml"


def _homeserver(settings: Settings) -> dict[str, object]:
    return dict(yaml.safe_load(settings.path(settings.synapse.config).read_text()))


def _edit(config_path: Path, key: str, value: object) -> Settings:
    data = yaml.safe_load(config_path.read_text())
    data[key] = value
    config_path.write_text(yaml.safe_dump(data))
    return load_settings(config_path)


def test_default_staff_limit_is_five_a_second_burst_fifty(config_path: Path) -> None:
    settings = load_settings(config_path)
    assert settings.messages == Rate(per_second=5.0, burst_count=50)
    assert _homeserver(settings)["rc_message"] == {"per_second": 5.0, "burst_count": 50}
    assert not sync_rate_limits(settings), "nothing to change right after init"


def test_up_rewrites_the_block_when_carebridge_yaml_changes(config_path: Path) -> None:
    settings = _edit(config_path, "messages", {"per_second": 10, "burst_count": 100})
    assert sync_rate_limits(settings)
    homeserver = _homeserver(settings)
    assert homeserver["rc_message"] == {"per_second": 10.0, "burst_count": 100}
    assert homeserver["rc_login"] == settings.sign_in.rc_login()
    assert not sync_rate_limits(settings)


def test_an_older_homeserver_yaml_gets_the_block_unless_it_sets_rc_message(config_path: Path) -> None:
    settings = load_settings(config_path)
    path = settings.path(settings.synapse.config)
    text = path.read_text()
    start, end = text.index(MESSAGES.begin), text.index(MESSAGES.end) + len(MESSAGES.end)
    path.write_text(text[:start] + text[end:])
    assert "rc_message" not in _homeserver(settings)
    assert sync_rate_limits(settings)
    assert _homeserver(settings)["rc_message"] == {"per_second": 5.0, "burst_count": 50}

    own = text[:start] + "rc_message: {per_second: 2, burst_count: 20}" + text[end:]
    path.write_text(own)
    assert not sync_rate_limits(settings), "an operator's own rc_message is left alone"
    assert path.read_text() == own


@pytest.mark.parametrize(
    ("bad", "key"),
    [
        ({"per_second": 0, "burst_count": 50}, "messages.per_second"),
        ({"per_second": 5, "burst_count": 0}, "messages.burst_count"),
        ({"per_second": 5, "burst_count": 50, "rate": 5}, "messages.rate"),
    ],
)
def test_a_bad_limit_names_file_line_and_key(config_path: Path, bad: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _edit(config_path, "messages", bad)
    issue = refused.value.issues[0]
    assert (issue.file, issue.key) == (config_path, key) and issue.line is not None


def test_block_text_is_valid_yaml() -> None:
    block = message_block(Rate(per_second=0.5, burst_count=3))
    assert yaml.safe_load(block) == {"rc_message": {"per_second": 0.5, "burst_count": 3}}
