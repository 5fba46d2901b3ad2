"""A logging filter that keeps what people typed out of Synapse's logs.

Synapse logs the identifier typed at sign-in ("Got login request with identifier ...",
"Attempted to login as ... but they do not exist": a password typed into the user-name
field lands there; "unknown 3pid identifier ..." with the e-mail address typed) and,
on every refused request, the request's URI (`<SynapseRequest ...
uri='/_matrix/media/v3/upload?filename=...'>`), which carries an uploaded file's name.
Both can be PHI (45 CFR 164.312(b), 164.502(b) minimum necessary). `carebridge init`
attaches this filter to every handler of the Synapse log configs it writes (embedded and
production); it rewrites such records instead of dropping them, so the event stays
visible with ids only.
"""

from __future__ import annotations

import logging
import re
from typing import Any

WITHHELD = "<withheld by Carebridge>"
# Records whose arguments are what a person typed at sign-in: kept, without arguments.
TYPED_AT_SIGN_IN = ("Got login request with identifier", "Attempted to login as", "unknown 3pid identifier")
_QUERY = re.compile(r"(/_matrix/[^\s'\"?]*)\?[^\s'\"]*")
_MEDIA_NAME = re.compile(r"(/(?:download|thumbnail)/[^/\s'\"]+/[^/\s'\"?]+)/[^\s'\"?]+")
_URI_FIELD = re.compile(r"uri='[^']*'")


def scrub_text(text: str) -> str:
    """Remove query strings and media file names from Matrix URIs in a string."""
    if "/_matrix/" not in text and "uri=" not in text:
        return text
    text = _QUERY.sub(lambda m: f"{m.group(1)}?{WITHHELD}", text)
    return _MEDIA_NAME.sub(lambda m: f"{m.group(1)}/{WITHHELD}", text)


def _scrub_arg(arg: Any) -> Any:
    if hasattr(arg, "get_redacted_uri") and hasattr(arg, "get_method"):
        # A SynapseRequest: its repr carries the URI. Keep method and path, minus names.
        try:
            return f"<request {arg.get_method()} {scrub_text(str(arg.get_redacted_uri()))}>"
        except Exception:  # noqa: BLE001 - a log line must never fail
            return "<request>"
    if isinstance(arg, str):
        return scrub_text(arg)
    return arg


class PhiLogFilter(logging.Filter):
    """Rewrite records that would carry a typed sign-in identifier or a request URI."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.msg
        if isinstance(msg, str) and msg.startswith(TYPED_AT_SIGN_IN):
            record.msg = msg.split("%", 1)[0].rstrip(" :") + f" ({WITHHELD})"
            record.args = None
            return True
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_scrub_arg(a) for a in record.args)
        elif isinstance(msg, str):  # no arguments: the text itself may carry a URI
            record.msg = _URI_FIELD.sub(f"uri='{WITHHELD}'", scrub_text(msg))
        return True
