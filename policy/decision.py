"""The one shape every policy rule answers with: allowed or not, why, and what staff are told.

Pure (no I/O). Each rule module has its own `Reason` enum (stable codes, logged and
asserted by tests); the Synapse adapters in policy/module/ turn a refusal into the Matrix
error a client shows (`errcode` + `message`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Matrix error codes the rules use; the client shows `message`.
FORBIDDEN = "M_FORBIDDEN"
TOO_LARGE = "M_TOO_LARGE"


@dataclass(frozen=True)
class Decision:
    """Allowed or not, the reason code, and (when refused) the Matrix errcode and sentence."""

    allowed: bool
    reason: StrEnum
    message: str | None = None
    errcode: str = FORBIDDEN
    # Which case of the rule refused (e.g. the kind of active content), for the refusal
    # body (`org.carebridge.case`) and the tests; never PHI.
    detail: str | None = None
