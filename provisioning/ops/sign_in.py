"""Sign-in limits: carebridge.yaml's `sign_in:` rendered as Synapse's `rc_login` block.

The block sits between two marker lines in homeserver.yaml; `carebridge init` writes it
and `carebridge up` rewrites it when carebridge.yaml changed, so the settings an
administrator edits are the ones Synapse enforces. 45 CFR 164.308(a)(5)(ii)(C) log-in
monitoring; 164.312(a)(1) access control (password guessing is stopped per account).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bridge.core.files import write_private
from config.settings import Settings, SignInSettings

BEGIN = "# --- Sign-in limits: carebridge.yaml sign_in: (rewritten by `carebridge up`) ---"
END = "# --- end of sign-in limits ---"
_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)


# The Carebridge module reads the same failed_attempts values through this YAML anchor
# (`sign_in_failed_attempts: *carebridge_failed_attempts` in its config), so the limit it
# shares between /login and every re-authentication is the one written here.
FAILED_ATTEMPTS_ANCHOR = "carebridge_failed_attempts"


def sign_in_block(limits: SignInSettings) -> str:
    """The homeserver.yaml text for these limits, markers included."""
    lines = [BEGIN, "rc_login:"]
    for name, rate in limits.rc_login().items():
        anchor = f"&{FAILED_ATTEMPTS_ANCHOR} " if name == "failed_attempts" else ""
        lines.append(f"  {name}: {anchor}{json.dumps(rate)}")
    lines.append(END)
    return "\n".join(lines)


def sync_sign_in_limits(settings: Settings) -> bool:
    """Make homeserver.yaml's sign-in block say what carebridge.yaml says; True if the
    file was rewritten. A file without the markers (made by an older Carebridge) gets
    the block appended unless it sets rc_login some other way (then it is left alone)."""
    path: Path = settings.path(settings.synapse.config)
    text = path.read_text(encoding="utf-8")
    block = sign_in_block(settings.sign_in)
    if _BLOCK.search(text):
        updated = _BLOCK.sub(lambda _m: block, text, count=1)
    elif re.search(r"^rc_login:", text, re.M):
        return False
    else:
        updated = text.rstrip("\n") + "\n\n" + block + "\n"
    if updated == text:
        return False
    write_private(path, updated)
    return True
