"""Login hours: a schedule with login_hours_only refuses sign-in outside the shift, clearly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from nio import AsyncClient, LoginError, LoginResponse

from tests.compliance_helpers import ledger, wait_for
from tests.harness.stack import Stack


async def test_login_refused_outside_allowed_hours_then_allowed_within(stack: Stack) -> None:
    user_id, password = await stack.create_user()
    policy_path = stack.s.data_dir / "policy.json"
    original = policy_path.read_text() if policy_path.exists() else None
    doc = json.loads(original) if original else {}
    now = datetime.now(UTC)

    def write(start: datetime, end: datetime) -> None:
        schedules = dict(doc.get("schedules") or {})
        schedules["strict-ward"] = {
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
            "grace_minutes": 15,
            "login_hours_only": True,
        }
        users = {**(doc.get("user_schedules") or {}), user_id: "strict-ward"}
        body = {
            **doc,
            "organization": {"name": "Test", "timezone": "UTC"},
            "schedules": schedules,
            "user_schedules": users,
        }
        policy_path.write_text(json.dumps(body))

    try:
        write(now + timedelta(hours=2), now + timedelta(hours=3))  # sign-in opens 60 min early: in an hour
        client = AsyncClient(stack.hs_url, user_id)
        refused = await client.login(password)
        assert isinstance(refused, LoginError), refused
        assert refused.status_code == "M_FORBIDDEN"
        assert "only allowed during your scheduled shift" in refused.message
        await client.close()
        _, failed = await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[1]) == 1, what="refusal")
        assert failed[0].reason == "outside_allowed_hours"
        rows, _ = await ledger(stack, user_id)
        assert rows == []

        write(now - timedelta(hours=1), now + timedelta(hours=1))
        client = AsyncClient(stack.hs_url, user_id)
        allowed = await client.login(password)
        assert isinstance(allowed, LoginResponse), allowed
        await client.close()
        await wait_for(lambda: ledger(stack, user_id), lambda r: len(r[0]) == 1, what="login row")
    finally:
        if original is None:
            policy_path.unlink(missing_ok=True)
        else:
            policy_path.write_text(original)
