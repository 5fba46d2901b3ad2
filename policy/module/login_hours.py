"""Login hours for the Synapse module: who is on which shift, read from policy.json.

Provisioning writes policy.json (the module's view of org.yaml) next to homeserver.yaml;
this reads the part login hours need, again whenever the file changes, and answers
"may this person sign in now?" with the pure rule in policy.shifts.login_decision.
A missing or unreadable file allows every login (enforcement is opt-in per schedule) and
says so once in the log.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from policy.policy_document import PolicyDocument
from policy.shifts import LoginDecision, ShiftSpec, login_decision, spec_from_definition

log = logging.getLogger("carebridge.module")


@dataclass(frozen=True)
class ShiftBook:
    """Schedules by name and each person's schedule name."""

    schedules: Mapping[str, ShiftSpec] = field(default_factory=dict)
    user_schedule: Mapping[str, str] = field(default_factory=dict)

    def spec_for(self, user_id: str) -> ShiftSpec | None:
        """The shift `user_id` works, if any."""
        name = self.user_schedule.get(user_id)
        return self.schedules.get(name) if name is not None else None


def _user_schedules(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    return {u: n for u, n in raw.items() if isinstance(u, str) and isinstance(n, str)}


def shift_book_from_document(doc: PolicyDocument) -> ShiftBook:
    """Build a ShiftBook from the policy.json document (raises ValueError/KeyError if malformed).

    Keys read: organization.timezone, schedules (name -> the org.yaml definition),
    user_schedules (active user id -> schedule name).
    """
    organization = doc.get("organization")
    timezone = organization.get("timezone", "UTC") if isinstance(organization, dict) else "UTC"
    raw_schedules = doc.get("schedules") or {}
    if not isinstance(raw_schedules, dict):
        raise ValueError("schedules is not a mapping")
    schedules = {name: spec_from_definition(name, d, timezone) for name, d in raw_schedules.items()}
    return ShiftBook(schedules, _user_schedules(doc.get("user_schedules")))


class LoginHours:
    """policy.json, re-read when its modification time changes."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self._stamp: tuple[int, int] | None = None
        self._book = ShiftBook()
        self._warned = False

    def book(self) -> ShiftBook:
        """The current shift book (an empty one if the file is absent or broken)."""
        if self.path is None:
            return self._book
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if not self._warned:
                log.info("no policy file at %s yet; login hours are not enforced", self.path)
                self._warned = True
            self._stamp, self._book = None, ShiftBook()
            return self._book
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                self._book = shift_book_from_document(json.loads(self.path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error(
                    "policy file %s unusable (%s); login hours not enforced", self.path, type(exc).__name__
                )
                self._book = ShiftBook()
            self._stamp = stamp
        return self._book

    def decide(self, user_id: str, at: datetime) -> LoginDecision:
        """May `user_id` sign in at `at`? (policy.shifts.login_decision on their shift)."""
        return login_decision(self.book().spec_for(user_id), at)
