"""Initial passwords: random, meeting the homeserver's password policy, never logged.

The policy (synapse/homeserver.yaml.j2): at least 12 characters with an upper-case
letter, a lower-case letter, a digit and a symbol (45 CFR 164.308(a)(5)(ii)(D) password
management). Look-alike characters are left out so a password read from a mail can be
typed without guessing.
"""

from __future__ import annotations

import secrets
import string

MIN_LENGTH = 12
DEFAULT_LENGTH = 16
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "l")
_DIGITS = "23456789"
_SYMBOLS = "-_.!@#%+=?"
_CLASSES = (_UPPER, _LOWER, _DIGITS, _SYMBOLS)


def meets_policy(password: str) -> bool:
    """True if the password satisfies the homeserver's password policy."""
    return (
        len(password) >= MIN_LENGTH
        and any(c.isupper() for c in password)
        and any(c.islower() for c in password)
        and any(c.isdigit() for c in password)
        and any(not c.isalnum() for c in password)
    )


def generate_password(length: int = DEFAULT_LENGTH) -> str:
    """A new random password from `secrets`, with at least one character of each class."""
    if length < MIN_LENGTH:
        raise ValueError(f"initial passwords are at least {MIN_LENGTH} characters")
    alphabet = "".join(_CLASSES)
    chars = [secrets.choice(cls) for cls in _CLASSES]
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    rng = secrets.SystemRandom()
    rng.shuffle(chars)
    return "".join(chars)
