"""Rate limits: carebridge.yaml's `sign_in:` and `messages:` rendered as Synapse's
`rc_login` and `rc_message` blocks.

Each block sits between two marker lines in homeserver.yaml; `carebridge init` writes them
and `carebridge up` rewrites them when carebridge.yaml changed, so the settings an
administrator edits are the ones Synapse enforces. 45 CFR 164.308(a)(5)(ii)(C) log-in
monitoring and 164.312(a)(1) access control (password guessing is stopped per account);
164.308(a)(7)(ii)(C) emergency mode operation (staff are never throttled below the pace
at which clinicians type).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bridge.core.files import write_private
from config.settings import Rate, Settings, SignInSettings


@dataclass(frozen=True)
class Block:
    """One marked block of homeserver.yaml and the Synapse key it sets."""

    begin: str
    end: str
    key: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """The block, markers included."""
        return re.compile(re.escape(self.begin) + r".*?" + re.escape(self.end), re.S)


SIGN_IN = Block(
    "# --- Sign-in limits: carebridge.yaml sign_in: (rewritten by `carebridge up`) ---",
    "# --- end of sign-in limits ---",
    "rc_login",
)
MESSAGES = Block(
    "# --- Staff message limit: carebridge.yaml messages: (rewritten by `carebridge up`) ---",
    "# --- end of staff message limit ---",
    "rc_message",
)


# The Carebridge module reads the same failed_attempts values through this YAML anchor
# (`sign_in_failed_attempts: *carebridge_failed_attempts` in its config), so the limit it
# shares between /login and every re-authentication is the one written here.
FAILED_ATTEMPTS_ANCHOR = "carebridge_failed_attempts"


def sign_in_block(limits: SignInSettings) -> str:
    """The homeserver.yaml text for the sign-in limits, markers included."""
    lines = [SIGN_IN.begin, "rc_login:"]
    for name, rate in limits.rc_login().items():
        anchor = f"&{FAILED_ATTEMPTS_ANCHOR} " if name == "failed_attempts" else ""
        lines.append(f"  {name}: {anchor}{json.dumps(rate)}")
    lines.append(SIGN_IN.end)
    return "\n".join(lines)


def message_block(rate: Rate) -> str:
    """The homeserver.yaml text for the staff message limit, markers included."""
    value = {"per_second": rate.per_second, "burst_count": rate.burst_count}
    return "\n".join([MESSAGES.begin, f"rc_message: {json.dumps(value)}", MESSAGES.end])


def _synced(text: str, block: Block, rendered: str) -> str:
    """`text` with `block` saying `rendered`. A file without the markers (made by an older
    Carebridge) gets the block appended unless it sets the key some other way (then it is
    left alone)."""
    if block.pattern.search(text):
        return block.pattern.sub(lambda _m: rendered, text, count=1)
    if re.search(rf"^{block.key}:", text, re.M):
        return text
    return text.rstrip("\n") + "\n\n" + rendered + "\n"


def sync_rate_limits(settings: Settings) -> bool:
    """Make homeserver.yaml's rate-limit blocks say what carebridge.yaml says; True if
    the file was rewritten."""
    path: Path = settings.path(settings.synapse.config)
    text = path.read_text(encoding="utf-8")
    updated = _synced(text, SIGN_IN, sign_in_block(settings.sign_in))
    updated = _synced(updated, MESSAGES, message_block(settings.messages))
    if updated == text:
        return False
    write_private(path, updated)
    return True
