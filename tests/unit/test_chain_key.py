"""The chain key: kept in the keyring beside the AES keys, MACs row hashes, survives
rotation; a keyring from before chain keys still loads."""

from __future__ import annotations

import base64
import json

import pytest

from bridge.archive.chain import ChainKey
from bridge.archive.keyring import Keyring, KeyringError


def test_a_new_keyring_has_a_chain_key_from_row_one_that_survives_a_round_trip() -> None:
    ring = Keyring.generate()
    assert ring.chain is not None and ring.chain.from_seq == 1 and len(ring.chain.key) == 32
    again = Keyring.loads(ring.dumps())
    assert again.chain == ring.chain
    assert json.loads(ring.dumps())["chain"]["algorithm"] == "hmac-sha256/1"


def test_rotation_keeps_the_chain_key() -> None:
    ring = Keyring.generate()
    rotated = Keyring.loads(ring.rotated().dumps())
    assert rotated.active != ring.active and rotated.chain == ring.chain


def test_a_keyring_written_before_chain_keys_loads_without_one() -> None:
    old = json.dumps({"active": "k1", "keys": {"k1": base64.b64encode(bytes(32)).decode()}})
    ring = Keyring.loads(old)
    assert ring.chain is None and ring.chain_key() is None
    added = Keyring.loads(ring.with_chain(ChainKey.generate(42)).dumps())
    assert added.chain is not None and added.chain.from_seq == 42 and added.keys == ring.keys


@pytest.mark.parametrize(
    "chain",
    [
        {"key": base64.b64encode(bytes(16)).decode(), "from_seq": 1},
        {"key": base64.b64encode(bytes(32)).decode(), "from_seq": 0},
        {"key": base64.b64encode(bytes(32)).decode(), "from_seq": "1"},
        {"key": "not base64!", "from_seq": 1},
        {"algorithm": "md5", "key": base64.b64encode(bytes(32)).decode(), "from_seq": 1},
        "a string",
    ],
    ids=["short-key", "seq-zero", "seq-text", "bad-base64", "other-algorithm", "not-an-object"],
)
def test_a_malformed_chain_part_is_refused(chain: object) -> None:
    doc = {"active": "k1", "keys": {"k1": base64.b64encode(bytes(32)).decode()}, "chain": chain}
    with pytest.raises(KeyringError, match="malformed"):
        Keyring.loads(json.dumps(doc))


def test_the_mac_binds_key_row_and_hash() -> None:
    key = ChainKey.generate(5)
    digest = bytes(range(32))
    mac = key.mac(7, digest)
    assert key.valid(7, digest, mac)
    assert not key.valid(8, digest, mac)
    assert not key.valid(7, bytes(32), mac)
    assert not key.valid(7, digest, None)
    assert not ChainKey.generate(5).valid(7, digest, mac), "another key does not vouch for it"
    assert not key.covers(4) and key.covers(5)
