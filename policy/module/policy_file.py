"""Reading policy.json (written by provisioning) in the Synapse module, cheaply.

The file holds the resolved organisation policy the module enforces, for example
`{"channel_creators": ["@jdoe:clinic.example"], ...}`. It is re-read only when its
modification time changes, so a `carebridge provision apply` takes effect without a
Synapse restart. A missing or unreadable file means "nobody is listed" (fail closed).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import cast

from policy.policy_document import PolicyDocument, UserListKey

log = logging.getLogger("carebridge.module")


@dataclass
class PolicyFile:
    """A cached view of policy.json."""

    path: str | None
    _mtime: float | None = None
    _data: PolicyDocument = field(default_factory=lambda: PolicyDocument())

    def data(self) -> PolicyDocument:
        """The parsed file (empty when absent or invalid)."""
        if self.path is None:
            return {}
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            self._mtime, self._data = None, PolicyDocument()
            return self._data
        if mtime != self._mtime:
            try:
                with open(self.path, encoding="utf-8") as handle:
                    loaded = json.load(handle)
                # Untrusted JSON: the document's keys are optional and checked where read.
                self._data = cast(PolicyDocument, loaded) if isinstance(loaded, dict) else PolicyDocument()
            except (OSError, ValueError):
                log.error("policy file %s is unreadable; treating it as empty", self.path)
                self._data = PolicyDocument()
            self._mtime = mtime
        return self._data

    def user_set(self, key: UserListKey) -> frozenset[str]:
        """A list of user ids from the file, as a set (empty when absent)."""
        value = self.data().get(key)
        return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()

    def channel_creators(self) -> frozenset[str]:
        """Who may create channels from a client."""
        return self.user_set("channel_creators")
