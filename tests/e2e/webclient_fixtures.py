"""Fixtures shared by the browser tests: one Synapse + bridge with SMTP, the organisation
applied with the real `carebridge provision apply`, one Chromium; and a sign-in helper
that copes with the forced first password change, so each test stands alone."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from nio import AsyncClient, RoomResolveAliasResponse
from playwright.async_api import Browser

from tests.harness.browser import READY, REPO, WebClient, launch, require_chromium
from tests.harness.provision import carebridge
from tests.harness.scenarios import stack_with_mail
from tests.harness.smtp import MailCatcher, password_from
from tests.harness.stack import Stack, strong_password
from tests.harness.webclient_org import CHANNELS, ORGANIZATION, USERS, Org, org_yaml


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, MailCatcher]]:
    """Synapse + bridge (serving the web client) with SMTP; nothing starts without Chromium."""
    require_chromium()
    if not (REPO / "webclient" / "dist" / "index.html").is_file():
        pytest.fail("the web client is not built: run `make webclient` (webclient/build.sh)")
    with stack_with_mail(tmp_path_factory.mktemp("webclient"), organization_name=ORGANIZATION) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(web_stack: tuple[Stack, MailCatcher], tmp_path_factory: pytest.TempPathFactory) -> Org:
    """The organisation applied; initial passwords and sign-in links read from the mails."""
    stack, mail = web_stack
    org_file = tmp_path_factory.mktemp("org") / "org.yaml"
    org_file.write_text(org_yaml())
    code, out, err = await carebridge(stack, "provision", "apply", "--format", "json", str(org_file))
    assert code == 0, out + err
    assert len(json.loads(out)["emailed"]) == len(USERS)
    await asyncio.to_thread(mail.wait_for, len(USERS))
    passwords, urls = {}, {}
    for user in USERS:
        (message,) = mail.to(f"{user}@clinic.example")
        passwords[user] = password_from(message)
        found = re.search(r"^\s*Sign in at:\s+(\S+)\s*$", message.get_content(), re.MULTILINE)
        assert found, "no sign-in link in the mail"
        urls[user] = found.group(1)
    web_url = f"http://{stack.s.web.host}:{stack.s.web.port}/"
    running = Org(stack=stack, mail=mail, web_url=web_url, mailed_url=urls, passwords=passwords)
    probe = AsyncClient(stack.hs_url)
    try:
        for name in CHANNELS:
            resolved = await probe.room_resolve_alias(f"#{name}:{stack.server_name}")
            assert isinstance(resolved, RoomResolveAliasResponse), resolved
            running.rooms[name] = resolved.room_id
    finally:
        await probe.close()
    return running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch() as running:
        yield running


async def sign_in(client: WebClient, org: Org, user: str) -> None:
    """Sign in; on a first sign-in (mailed password) choose a new one and remember it."""
    await client.open_login()
    await client.submit_login(user, org.passwords[user])
    forced = client.page.locator("#cb-forced-title")
    ready = client.page.locator(READY)
    await forced.or_(ready).first.wait_for(state="visible")
    if await forced.is_visible():
        new = strong_password()
        await client.choose_password(new)
        org.passwords[user] = new
