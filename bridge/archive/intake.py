"""Turning a transaction body into archivable events, whatever Synapse put in it.

Synapse retries a transaction until it gets a 2xx, so refusing one because of a single odd
event (an empty type, a missing `origin_server_ts`, a nested junk value) would stall every
room behind it. An event that cannot be archived as it is becomes a *malformed record*: a
well-formed wrapper event of type `org.carebridge.malformed` holding the raw event as it
arrived (sealed and chained like any other row: it is still evidence) and the reason. Only
a body that is not JSON at all is refused. 45 CFR 164.312(b) audit controls.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from policy.event_types import MALFORMED_EVENT_TYPE

JsonDict = dict[str, Any]
MAX_ID = 255


class NotJson(ValueError):
    """The body is not JSON text (the only transaction refused, with 400)."""


@dataclass(frozen=True)
class Intake:
    """The events to archive from one transaction, and how many were malformed."""

    events: list[JsonDict] = field(default_factory=list)
    malformed: int = 0


def _id_str(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def problem(event: object) -> str | None:
    """Why an event cannot be archived as it is (a reason code), or None if it can."""
    if not isinstance(event, dict):
        return "not_an_object"
    for key in ("event_id", "room_id", "sender", "type"):
        if _id_str(event.get(key)) is None:
            return f"bad_{key}"
    state_key = event.get("state_key")
    if state_key is not None and (not isinstance(state_key, str) or len(state_key) > MAX_ID):
        return "bad_state_key"
    ts = event.get("origin_server_ts")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        return "bad_origin_server_ts"
    if "content" in event and not isinstance(event["content"], dict):
        return "bad_content"
    return None


def _digest(raw: object) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def malformed_record(raw: object, reason: str, received_ms: int) -> JsonDict:
    """The wrapper event that archives `raw` as it arrived, marked malformed.

    Its event id is the raw event's own when that is usable (so Synapse redelivering the
    same event, or reconciliation finding it, does not archive it twice) and otherwise a
    digest of the raw value (the same junk retried is stored once).
    """
    source = raw if isinstance(raw, dict) else {}
    ts = source.get("origin_server_ts")
    usable_ts = isinstance(ts, int) and not isinstance(ts, bool) and ts >= 0
    return {
        "event_id": _id_str(source.get("event_id")) or f"$malformed-{_digest(raw)}",
        "room_id": _id_str(source.get("room_id")) or "",
        "sender": _id_str(source.get("sender")) or "",
        "type": MALFORMED_EVENT_TYPE,
        "origin_server_ts": ts if usable_ts else received_ms,
        "content": {"reason": reason, "raw": raw},
    }


def parse_body(body: bytes, received_ms: int) -> Intake:
    """Events to archive from a raw transaction body; raises NotJson if it is not JSON."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotJson(str(exc)) from None
    except RecursionError:
        return _too_deep(body, received_ms)
    if isinstance(data, dict) and "events" not in data:
        return Intake()  # e.g. only ephemeral data or to-device messages
    raw_events = data.get("events") if isinstance(data, dict) else None
    try:
        if not isinstance(raw_events, list):
            return _checked(Intake([malformed_record(data, "bad_events_list", received_ms)], 1))
        events: list[JsonDict] = []
        malformed = 0
        for raw in raw_events:
            reason = problem(raw)
            if reason is None:
                events.append(raw)
            else:
                malformed += 1
                events.append(malformed_record(raw, reason, received_ms))
        return _checked(Intake(events, malformed))
    except RecursionError:
        return _too_deep(body, received_ms)


def _checked(intake: Intake) -> Intake:
    # The writer seals json.dumps(event): make sure that works here, where a value nested
    # too deep can still be kept as text, rather than failing the write on every retry.
    for event in intake.events:
        json.dumps(event)
    return intake


def _too_deep(body: bytes, received_ms: int) -> Intake:
    """Valid JSON nested too deep for Python: the body's text itself is the record."""
    text = body.decode("utf-8", errors="replace")
    return Intake([malformed_record({"raw_text": text}, "too_deeply_nested", received_ms)], 1)
