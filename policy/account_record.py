"""The account audit record: one custom event per deactivation, reactivation or password
change made by the person (`password_changed`, from any client).

Sent by the Synapse module as the bot into the administrators' room (archived through the
appservice pipe) and read back by the bridge, which marks the person deactivated in the
directory (`carebridge user list` shows it), or clears the initial-password mark when the
person chose their own password. 45 CFR 164.312(b) audit controls, 164.308(a)(3)(ii)(C)
termination procedures, 164.308(a)(5)(ii)(D) password management.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

KINDS = frozenset({"deactivated", "reactivated", "password_changed"})


@dataclass(frozen=True)
class AccountRecord:
    """Who, when, by whom, and whether Synapse also erased the account's data."""

    kind: str
    ts: int
    user_id: str
    by_admin: bool
    actor: str | None = None
    erased: bool = False

    def content(self) -> dict[str, Any]:
        """The event content (None fields dropped)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def parse_account_record(content: Any) -> AccountRecord:
    """Read a record back from event content; raises ValueError if it is not one."""
    if not isinstance(content, dict):
        raise ValueError("content is not an object")
    kind, ts, user_id = content.get("kind"), content.get("ts"), content.get("user_id")
    if kind not in KINDS:
        raise ValueError("unknown kind")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts <= 0:
        raise ValueError("ts is not a positive integer")
    if not isinstance(user_id, str) or not user_id.startswith("@"):
        raise ValueError("user_id missing")
    actor = content.get("actor")
    return AccountRecord(
        kind=str(kind),
        ts=ts,
        user_id=user_id,
        by_admin=content.get("by_admin") is True,
        actor=actor if isinstance(actor, str) else None,
        erased=content.get("erased") is True,
    )
