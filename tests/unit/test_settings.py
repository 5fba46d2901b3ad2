"""carebridge.yaml loading: clear file:line: key errors, defaults, path resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "carebridge.yaml"
    path.write_text(text)
    return path


def test_minimal_file_gets_defaults_and_resolves_paths(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "server_name: clinic.example\n"))
    assert settings.bot_user_id == "@carebridge:clinic.example"
    assert settings.admin_room_alias == "#carebridge-admins:clinic.example"
    assert settings.database_url == f"sqlite+aiosqlite:///{(tmp_path / 'carebridge.db').resolve()}"
    assert settings.path(settings.archive.key_file) == tmp_path.resolve() / "archive.key"


def test_unknown_key_names_line_and_dotted_key(tmp_path: Path) -> None:
    path = write(tmp_path, "server_name: a.example\nbridge:\n  port: 8009\n  prot: 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert f"{path}:4:3: bridge.prot: unknown key" in message


def test_bad_port_and_missing_server_name(tmp_path: Path) -> None:
    path = write(tmp_path, "bridge:\n  port: 99999\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    keys = {issue.key for issue in info.value.issues}
    assert keys == {"bridge.port", "server_name"}
    port_issue = next(i for i in info.value.issues if i.key == "bridge.port")
    assert port_issue.line == 2
    assert "less than or equal to 65535" in port_issue.message


def test_unknown_database_driver_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "server_name: a\ndatabase: {url: 'mysql://x'}\n")
    with pytest.raises(ConfigError, match=r"database\.url: .*sqlite\+aiosqlite"):
        load_settings(path)


def test_duplicate_key_and_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":2:1: server_name: duplicate key"):
        load_settings(write(tmp_path, "server_name: a\nserver_name: b\n"))
    with pytest.raises(ConfigError, match=r":3:1: invalid YAML: .*while parsing a flow sequence at line 2"):
        load_settings(write(tmp_path, "server_name: a\nbridge: [unclosed\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_the_old_head_interval_setting_is_named_with_its_replacement(tmp_path: Path) -> None:
    """A carebridge.yaml from before the heads rework fails with a message naming the new key."""
    path = tmp_path / "carebridge.yaml"
    path.write_text("server_name: x.test\narchive:\n  head_interval_hours: 24\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    assert "head_interval_minutes" in str(excinfo.value)


def test_supervisor_back_off_must_not_shrink(tmp_path: Path) -> None:
    """backoff_max_seconds below backoff_initial_seconds is refused, naming the key."""
    path = tmp_path / "carebridge.yaml"
    path.write_text(
        "server_name: x.test\nsupervisor:\n  backoff_initial_seconds: 10\n  backoff_max_seconds: 5\n"
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path)
    assert "backoff_max_seconds" in str(excinfo.value)
