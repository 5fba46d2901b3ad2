"""Archive keyring: sealing, rotation keeps old rows readable, file permissions enforced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from bridge.archive.keyring import Keyring, KeyringError


def test_seal_open_and_aad_binding() -> None:
    ring = Keyring.generate()
    key_id, sealed = ring.seal(b"secret", b"aad-1")
    assert ring.open(key_id, sealed, b"aad-1") == b"secret"
    with pytest.raises(InvalidTag):
        ring.open(key_id, sealed, b"aad-2")


def test_rotation_keeps_old_keys() -> None:
    ring = Keyring.generate()
    old_id, sealed = ring.seal(b"old", b"x")
    rotated = Keyring.loads(ring.rotated().dumps())
    assert rotated.active != old_id
    assert rotated.open(old_id, sealed, b"x") == b"old"


def test_world_readable_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "archive.key"
    path.write_text(Keyring.generate().dumps())
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        Keyring.load(path)
    os.chmod(path, 0o600)
    assert Keyring.load(path).active == "k1"


def test_env_var_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ring = Keyring.generate().rotated()
    monkeypatch.setenv("CB_KEYS", ring.dumps())
    assert Keyring.load(tmp_path / "missing.key", "CB_KEYS").active == ring.active


@pytest.mark.parametrize(
    "text", ["", "{}", '{"active": "k9", "keys": {"k1": "AAAA"}}', '{"active": "k1", "keys": {"k1": "AAAA"}}']
)
def test_malformed_keyrings(text: str) -> None:
    with pytest.raises(KeyringError):
        Keyring.loads(text)
