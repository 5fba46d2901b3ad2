"""policy.json: the one shape of the document provisioning writes and the module reads.

Provisioning (provisioning.org.policy_file) derives it from the directory after every
apply and writes every key; the Synapse module (policy.module.policy_file and
policy.module.login_hours) reads it. The reader treats the file as untrusted input, so
every key is optional here and its values are still checked where they are used: a missing
or malformed key means "nobody is listed" (fail closed) or, for login hours, "not enforced".
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

POLICY_FILE_NAME = "policy.json"
POLICY_VERSION = 1

UserListKey = Literal["admins", "active_users", "deactivated_users", "channel_creators"]
"""The keys that hold a sorted list of Matrix user ids."""


class ChannelPolicy(TypedDict):
    """One channel room: its name and alias, whether it is closed, and who may post or respond."""

    name: str
    alias: str
    closed: bool
    post: list[str]
    respond: list[str]


class PolicyDocument(TypedDict, total=False):
    """The organisation policy the module enforces (45 CFR 164.312(a)(1), access control)."""

    version: int
    bot_user_id: str
    organization: dict[str, Any]
    admins: list[str]
    active_users: list[str]
    deactivated_users: list[str]
    channel_creators: list[str]
    channels: dict[str, ChannelPolicy]
    policy: dict[str, Any]
    schedules: dict[str, dict[str, Any]]
    """Shift definitions by name, as in org.yaml (login hours)."""
    user_schedules: dict[str, str]
    """Each active person's shift name (login hours)."""
