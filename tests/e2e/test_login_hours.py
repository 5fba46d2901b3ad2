"""Login hours: a schedule with login_hours_only (org.yaml -> directory -> policy.json)
refuses sign-in outside the shift with a clear message, and allows it within."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nio import AsyncClient, LoginError, LoginResponse

from tests.compliance_helpers import ledger, register, wait_for
from tests.harness.stack import Stack

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def shift(start: datetime, end: datetime) -> dict[str, object]:
    return {
        "days": EVERY_DAY,
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
        "grace_minutes": 15,
        "login_hours_only": True,
    }


async def test_login_refused_outside_allowed_hours_then_allowed_within(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    name = f"strict-{user_id[1:9]}"
    policy_file = stack.s.data_dir / "policy.json"
    original = policy_file.read_text() if policy_file.exists() else None
    now = datetime.now(UTC)
    try:
        # Sign-in opens 60 minutes before the start: an hour from now.
        await register(
            stack,
            [(user_id, "staff", name)],
            {name: shift(now + timedelta(hours=2), now + timedelta(hours=3))},
        )
        client = AsyncClient(stack.hs_url, user_id)
        refused = await client.login(password)
        assert isinstance(refused, LoginError), refused
        assert refused.status_code == "M_FORBIDDEN"
        assert "only allowed during your scheduled shift" in refused.message
        assert "next shift lets you sign in from" in refused.message
        await client.close()
        _, failed = await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[1]) == 1, what="refusal")
        assert failed[0].reason == "outside_allowed_hours"
        assert (await ledger(stack, user_id))[0] == [], "no session was opened"

        await register(
            stack,
            [(user_id, "staff", name)],
            {name: shift(now - timedelta(hours=1), now + timedelta(hours=1))},
        )
        client = AsyncClient(stack.hs_url, user_id)
        allowed = await client.login(password)
        assert isinstance(allowed, LoginResponse), allowed
        await client.close()
        await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 1, what="login row")
        _, failed = await ledger(stack, user_id)
        assert len(failed) == 1, "the allowed login added no failure"
    finally:
        if original is None:
            policy_file.unlink(missing_ok=True)
        else:
            policy_file.write_text(original)
