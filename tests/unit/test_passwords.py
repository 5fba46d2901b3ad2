"""Initial passwords meet the homeserver's password policy and never repeat."""

from __future__ import annotations

import pytest

from provisioning.org.passwords import generate_password, meets_policy


def test_generated_passwords_meet_policy_and_are_unique() -> None:
    passwords = [generate_password() for _ in range(2000)]
    assert all(meets_policy(p) and len(p) == 16 for p in passwords)
    assert len(set(passwords)) == len(passwords)


def test_policy_and_minimum_length() -> None:
    assert not meets_policy("short1A!")
    assert not meets_policy("alllowercase12!")
    assert meets_policy("Abcdefghij1!")
    with pytest.raises(ValueError, match="at least 12"):
        generate_password(8)
