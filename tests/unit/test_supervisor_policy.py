"""The supervisor's restart policy (pure): back-off, reset after a run that lasted, give up
only after repeated fast crashes."""

from __future__ import annotations

from pathlib import Path

from config.settings import SupervisorSettings
from provisioning.ops.supervisor import Child, restart_decision

POLICY = SupervisorSettings(
    backoff_initial_seconds=1, backoff_max_seconds=8, fast_crash_seconds=30, max_fast_crashes=5
)


def _child(started_at: float, fast_crashes: int = 0) -> Child:
    child = Child("bridge", ["true"], "http://127.0.0.1:1/", Path("bridge.out"))
    child.started_at, child.fast_crashes = started_at, fast_crashes
    return child


def test_fast_crashes_back_off_doubling_up_to_the_maximum_then_give_up() -> None:
    """Each crash soon after a start doubles the wait (capped); the fifth in a row gives up."""
    delays = []
    for streak in range(4):
        decision = restart_decision(POLICY, _child(100.0, streak), now=105.0)
        assert decision.fast and not decision.give_up
        delays.append(decision.delay)
    assert delays == [2, 4, 8, 8]
    assert restart_decision(POLICY, _child(100.0, 4), now=105.0).give_up


def test_a_run_that_lasted_resets_the_back_off() -> None:
    """A child that ran longer than fast_crash_seconds is restarted after the first delay,
    however many fast crashes came before."""
    decision = restart_decision(POLICY, _child(100.0, 4), now=1000.0)
    assert not decision.fast and not decision.give_up and decision.delay == 1


def test_restart_off_gives_up_at_the_first_death() -> None:
    """supervisor.restart: false keeps the old behaviour: a dying child stops `up`."""
    policy = POLICY.model_copy(update={"restart": False})
    assert restart_decision(policy, _child(100.0), now=1000.0).give_up
