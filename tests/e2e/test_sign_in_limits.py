"""Sign-in limits at shift change, through a real Synapse with the limits carebridge.yaml
renders (not the lifted test limits): a ward behind one address signs in, guessing one
account is stopped, and every refused attempt is recorded as a failed sign-in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import yaml
from nio import AsyncClient, AsyncClientConfig, LoginError, LoginResponse

from config.settings import SignInSettings
from tests.compliance_helpers import ledger, wait_for
from tests.harness.stack import Stack

pytestmark = pytest.mark.slow
WARD = 60


def _limited_stack(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Stack]:
    stack = Stack(root=tmp_path_factory.mktemp(name), extra_settings={"sign_in": {}})
    stack.init()
    try:
        stack.start_synapse()
        stack.start_bridge()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Its own Synapse + bridge with carebridge.yaml's default sign_in: limits."""
    yield from _limited_stack(tmp_path_factory, "sign-in")


@pytest.fixture
def fresh_limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The same, for one test: the address's allowance is its own (not spent by the ward)."""
    yield from _limited_stack(tmp_path_factory, "guess")


async def login(stack: Stack, user_id: str, password: str) -> LoginResponse | LoginError:
    # No automatic retry after a 429: a refusal must show as a refusal.
    client = AsyncClient(stack.hs_url, user_id, config=AsyncClientConfig(max_limit_exceeded=0))
    try:
        resp = await client.login(password, device_name="ward-pc")
        assert isinstance(resp, LoginResponse | LoginError), resp
        return resp
    finally:
        await client.close()


def test_carebridge_yaml_limits_are_rendered_into_homeserver_yaml(limited: Stack) -> None:
    """carebridge.yaml's sign_in: and homeserver.yaml's rc_login say the same."""
    settings = yaml.safe_load(limited.config_path.read_text())["sign_in"]
    homeserver = yaml.safe_load(limited.s.path(limited.s.synapse.config).read_text())
    assert homeserver["rc_login"] == SignInSettings.model_validate(settings).rc_login()
    assert homeserver["rc_login"]["address"]["burst_count"] >= WARD


async def test_a_ward_of_60_signs_in_from_one_address(limited: Stack) -> None:
    """60 accounts sign in from the same address at once: none is refused."""
    people = [await limited.create_user() for _ in range(WARD)]
    results = await asyncio.gather(*(login(limited, u, p) for u, p in people))
    refused = [r for r in results if not isinstance(r, LoginResponse)]
    assert refused == [], refused[:3]


async def test_guessing_one_account_is_stopped_and_recorded(fresh_limited: Stack) -> None:
    """10 wrong passwords on one account: after the allowed failures Synapse answers 429
    (even the right password is then refused), and every attempt is a failed sign-in,
    the refused ones with reason rate_limited."""
    limited = fresh_limited
    user_id, password = await limited.create_user()
    allowed = SignInSettings().failed_attempts.burst_count
    answers = [await login(limited, user_id, "Wrong-password-1!") for _ in range(10)]
    assert all(isinstance(a, LoginError) for a in answers)
    codes = [a.status_code for a in answers if isinstance(a, LoginError)]
    assert codes == ["M_FORBIDDEN"] * allowed + ["M_LIMIT_EXCEEDED"] * (10 - allowed), codes
    right = await login(limited, user_id, password)
    assert isinstance(right, LoginError) and right.status_code == "M_LIMIT_EXCEEDED", right

    _, failed = await wait_for(
        lambda: ledger(limited, user_id), lambda r: len(r[1]) >= 11, timeout=60, what="failed sign-ins"
    )
    reasons = sorted(f.reason for f in failed)
    assert reasons == sorted(["wrong_password"] * allowed + ["rate_limited"] * (11 - allowed)), reasons
    assert all(f.ip == "127.0.0.1" for f in failed)
