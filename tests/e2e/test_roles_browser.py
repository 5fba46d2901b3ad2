"""The web client's roles and urgent messages in Chromium, against a real Synapse and the
bridge on a manual clock: role entries in Contacts, messaging a role, marking a message
urgent, repeat alerts counted as notifications until read, the read status under the
sender's message, and the escalation notice the sender sees."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from nio import JoinResponse, RoomCreateResponse, RoomReadMarkersResponse
from playwright.async_api import Browser

from tests.harness.browser import READY, REPO, WebClient, launch, require_chromium, web_client
from tests.harness.roles import RolesOrg, roles_org
from tests.harness.stack import strong_password
from tests.staff_helpers import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def org(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RolesOrg]:
    require_chromium()
    if not (REPO / "webclient" / "dist" / "index.html").is_file():
        pytest.fail("the web client is not built: run `make webclient` (webclient/build.sh)")
    async with roles_org(Path(tmp_path_factory.mktemp("roles-web")), web=True) as running:
        await running.tick(minutes=2)  # 07:00: Nina holds the ER charge nurse role
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch() as running:
        yield running


def url(org: RolesOrg) -> str:
    return f"http://{org.stack.s.web.host}:{org.stack.s.web.port}/"


async def sign_in(client: WebClient, org: RolesOrg, name: str) -> None:
    await client.open_login()
    await client.submit_login(name, org.passwords[name])
    forced = client.page.locator("#cb-forced-title")
    await forced.or_(client.page.locator(READY)).first.wait_for(state="visible")
    if await forced.is_visible():
        org.passwords[name] = strong_password()
        await client.choose_password(org.passwords[name])


async def sent_id(client: WebClient, body: str) -> str:
    """The server's event id of a message once its local echo has been replaced."""
    entry = client.message(body).last

    async def remote() -> str | None:
        found = await entry.get_attribute("data-event-id")
        return found if found and found.startswith("$") else None

    return await eventually(remote, what="the message's server event id")


async def urgent_notifications(client: WebClient) -> list[str]:
    return [n["title"] for n in await client.notifications() if n["title"].startswith("URGENT")]


async def test_role_in_contacts_urgent_alerts_until_read_and_the_read_status(
    org: RolesOrg, browser: Browser
) -> None:
    async with (
        web_client(browser, url(org), "roles-lee") as lee,
        web_client(browser, url(org), "roles-nina") as nina,
    ):
        await sign_in(lee, org, "lee")
        await sign_in(nina, org, "nina")
        await lee.tab("contacts")
        entry = lee.page.locator(".cb-role[data-role=er-charge-nurse]")
        await entry.locator(".cb-role-holders", has_text="Nina Nurse, until").wait_for()
        empty = lee.page.locator(".cb-role[data-role=pharmacist-on-call] .cb-role-holders")
        assert (await empty.inner_text()).strip() == "nobody on shift"
        await lee.screenshot("roles-contacts", guide=True)
        await entry.locator(".cb-role-message").click()
        await lee.page.locator("#cb-room-title", has_text="ER charge nurse").wait_for()
        # The bot keeping the role room is a service member: not named as company.
        await lee.page.locator(".cb-members", has_text="Nina Nurse").wait_for()
        assert (await lee.page.locator(".cb-members").inner_text()).strip() == "With Nina Nurse"

        await lee.page.locator(".cb-urgent").check()
        await lee.send("bay 2 is deteriorating")
        mine = lee.message("bay 2 is deteriorating").last
        await mine.locator(".cb-urgent-mark", has_text="URGENT").wait_for()
        await mine.locator(".cb-read-status", has_text="Sent").wait_for()
        row_id = await sent_id(lee, "bay 2 is deteriorating")

        async def tracked() -> bool:
            return await org.bridge.roles.urgent.get(row_id) is not None

        await eventually(tracked, what="the urgent message tracked")

        async def count(n: int) -> list[str] | None:
            found = await urgent_notifications(nina)
            return found if len(found) >= n else None

        first = await eventually(lambda: count(1), what="Nina notified of the urgent message")
        assert first == ["URGENT message from Dr. Lee"]
        await org.tick(minutes=2)
        await org.tick(minutes=2)
        alerts = await eventually(lambda: count(3), what="two repeat alerts notified")
        assert alerts == ["URGENT message from Dr. Lee"] + ["URGENT: a message for you is still unread"] * 2

        await nina.open_room("ER charge nurse", "recent")  # she reads it: a read receipt
        await mine.locator(".cb-read-status", has_text="Read by Nina Nurse").wait_for()
        await lee.screenshot("urgent-read", guide=True)
        receipts = await lee.page.locator(".cb-read, .cb-read-status").all_inner_texts()
        assert receipts and not [text for text in receipts if "carebridge" in text], receipts
        done = await org.tick(seconds=30)
        assert done.urgent.read == [row_id]
        await org.tick(minutes=2)
        assert len(await urgent_notifications(nina)) == 3  # no more alerts once read


async def test_read_status_in_a_direct_message(org: RolesOrg, browser: Browser) -> None:
    """Sent, then "Read by Pat Pharmacist HH:MM" once her app (here matrix-nio) sends a read
    receipt: the read status in a direct conversation, as in a role conversation."""
    lee_nio = await org.stack.login(org.uid("lee"), org.passwords["lee"])  # the browser changed her password
    try:
        created = await lee_nio.room_create(is_direct=True, invite=[org.uid("pat")])
    finally:
        await lee_nio.close()
    assert isinstance(created, RoomCreateResponse), created
    joined = await org.clients["pat"].join(created.room_id)
    assert isinstance(joined, JoinResponse), joined
    async with web_client(browser, url(org), "roles-lee-dm") as lee:
        await sign_in(lee, org, "lee")
        await lee.open_room("Pat Pharmacist", "messages")
        await lee.send("is the heparin infusion ready?")
        mine = lee.message("is the heparin infusion ready?").last
        await mine.locator(".cb-read-status", has_text="Sent").wait_for()
        event_id = await sent_id(lee, "is the heparin infusion ready?")
        read = await org.clients["pat"].room_read_markers(created.room_id, event_id, event_id)
        assert isinstance(read, RoomReadMarkersResponse), read
        status = mine.locator(".cb-read-status", has_text="Read by Pat Pharmacist")
        await status.wait_for()
        assert re.fullmatch(
            r"Read by Pat Pharmacist \d{1,2}:\d\d( [AP]M)?", (await status.inner_text()).strip()
        )


async def test_calling_a_role_rings_its_holder(org: RolesOrg, browser: Browser) -> None:
    """The role room holds the caller, the holder and the bot (a service member): still a
    one-to-one call, which the holder answers."""
    async with (
        web_client(browser, url(org), "roles-call-lee") as lee,
        web_client(browser, url(org), "roles-call-nina") as nina,
    ):
        await sign_in(lee, org, "lee")
        await sign_in(nina, org, "nina")
        await lee.tab("contacts")
        await lee.page.locator(".cb-role[data-role=er-charge-nurse] .cb-role-call").click()
        await lee.page.locator("#cb-room-title", has_text="ER charge nurse").wait_for()
        await nina.page.locator(".cb-incoming .cb-accept").click()
        await lee.wait_call_state("connected")
        await nina.wait_call_state("connected")
        await lee.page.locator(".cb-hangup").click()
        await lee.wait_call_state(None)
        await nina.wait_call_state(None)


async def test_the_sender_sees_the_escalation_notice(org: RolesOrg, browser: Browser) -> None:
    async with web_client(browser, url(org), "roles-lee-escalation") as lee:
        await sign_in(lee, org, "lee")
        await lee.tab("contacts")
        await lee.page.locator(".cb-role[data-role=er-charge-nurse] .cb-role-message").click()
        await lee.page.locator("#cb-room-title", has_text="ER charge nurse").wait_for()
        await lee.page.locator(".cb-urgent").check()
        await lee.send("need a second nurse in resus")
        event_id = await sent_id(lee, "need a second nurse in resus")

        async def tracked() -> bool:
            return await org.bridge.roles.urgent.get(event_id) is not None

        await eventually(tracked, what="the urgent message tracked")
        await org.tick(minutes=2)
        await org.tick(minutes=2)
        escalated = await org.tick(minutes=1)
        assert event_id in escalated.urgent.escalated
        notice = lee.message("Not read by Nina Nurse after 5 min; sent to House supervisor (Sam Supervisor).")
        await notice.locator(".cb-escalation-mark", has_text="Escalated").wait_for()
        await lee.screenshot("urgent-escalated", guide=True)


async def test_role_endpoints_refuse_bad_requests_clearly(org: RolesOrg) -> None:
    fresh = await org.stack.login(org.uid("lee"), org.passwords["lee"])  # the browser changed her password
    token = fresh.access_token
    await fresh.close()
    base = url(org) + "_carebridge/v1"
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/roles") as answer:
            assert answer.status == 401 and (await answer.json())["errcode"] == "M_MISSING_TOKEN"
        async with http.post(f"{base}/roles/Bad%20Name/room", headers=auth) as answer:
            assert answer.status == 400 and (await answer.json())["errcode"] == "M_INVALID_PARAM"
        async with http.post(f"{base}/roles/no-such-role/room", headers=auth) as answer:
            assert answer.status == 404 and "no role" in (await answer.json())["error"]
        async with http.post(f"{base}/roles/er-charge-nurse/take", headers=auth) as answer:
            assert answer.status == 403 and "not open to taking" in (await answer.json())["error"]
        async with http.put(f"{base}/away", headers=auth, data=b"{not json") as answer:
            assert answer.status == 400 and (await answer.json())["errcode"] == "M_NOT_JSON"
        async with http.put(f"{base}/away", headers=auth, json={"away": "yes"}) as answer:
            assert answer.status == 400 and (await answer.json())["errcode"] == "M_BAD_JSON"
        async with http.put(
            f"{base}/away", headers=auth, json={"away": True, "forward_to": "@nobody:x"}
        ) as answer:
            assert answer.status == 400 and "active colleague" in (await answer.json())["error"]
        async with http.get(f"{base}/roles", headers=auth) as answer:
            assert answer.status == 200
            roles = {r["name"]: r for r in (await answer.json())["roles"]}
    assert roles["er-charge-nurse"]["holders"][0]["display_name"] == "Nina Nurse"
    assert roles["pharmacist-on-call"]["holders"] == [] and roles["pharmacist-on-call"]["can_take"] is False
