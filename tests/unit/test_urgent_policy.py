"""Urgent messages (policy/urgent.py): what is urgent, and which step is due when."""

from __future__ import annotations

import pytest

from policy.urgent import Step, StepReason, UrgentFacts, is_urgent, minutes_text, next_step, without_keyword

S = 1000
MIN = 60 * S


@pytest.mark.parametrize(
    ("content", "urgent"),
    [
        ({"body": "hi", "org.carebridge.urgent": True}, True),
        ({"body": "hi", "org.carebridge.urgent": "yes"}, False),  # only the boolean counts
        ({"body": "!urgent bed 4 is crashing"}, True),
        ({"body": "  !URGENT"}, True),
        ({"body": "!urgently"}, False),
        ({"body": "not !urgent"}, False),
        ({"body": 5}, False),
        ({}, False),
    ],
)
def test_what_is_urgent(content: dict[str, object], urgent: bool) -> None:
    assert is_urgent(content) is urgent


def test_keyword_is_taken_off_the_copy() -> None:
    assert without_keyword("!urgent bed 4") == "bed 4"
    assert without_keyword("bed 4") == "bed 4"


def test_alerts_repeat_until_escalation_then_stop() -> None:
    facts = UrgentFacts(sent_ms=0, repeat_ms=2 * MIN, escalate_ms=5 * MIN)
    wait = next_step(facts, 1 * MIN)
    assert (wait.step, wait.reason, wait.next_due_ms) == (Step.WAIT, StepReason.NOT_DUE, 2 * MIN)
    first = next_step(facts, 2 * MIN)
    assert (first.step, first.next_due_ms) == (Step.ALERT, 4 * MIN)
    after_first = UrgentFacts(0, last_alert_ms=2 * MIN, repeat_ms=2 * MIN, escalate_ms=5 * MIN)
    assert next_step(after_first, 3 * MIN).step is Step.WAIT
    second = next_step(after_first, 4 * MIN)
    assert (second.step, second.next_due_ms) == (Step.ALERT, 5 * MIN)  # escalation comes first
    after_second = UrgentFacts(0, last_alert_ms=4 * MIN, repeat_ms=2 * MIN, escalate_ms=5 * MIN)
    assert next_step(after_second, 5 * MIN).step is Step.ESCALATE
    escalated = UrgentFacts(0, last_alert_ms=4 * MIN, escalated_ms=5 * MIN)
    assert next_step(escalated, 60 * MIN).reason is StepReason.ESCALATED


def test_read_stops_everything_and_no_backup_means_alerts_only() -> None:
    assert next_step(UrgentFacts(0, read_ms=30 * S), 10 * MIN).reason is StepReason.READ
    assert next_step(UrgentFacts(0, cancelled=True), 10 * MIN).reason is StepReason.CANCELLED
    forever = UrgentFacts(0, last_alert_ms=58 * MIN, repeat_ms=2 * MIN, escalate_ms=None)
    assert next_step(forever, 60 * MIN).step is Step.ALERT
    assert next_step(forever, 59 * MIN).next_due_ms == 60 * MIN


def test_minutes_text() -> None:
    assert minutes_text(5 * MIN) == "5 min"
    assert minutes_text(90 * S) == "1.5 min"
    assert minutes_text(30 * S) == "30 s"
