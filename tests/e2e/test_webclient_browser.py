"""The web client staff open in a browser, driven in Debian's headless Chromium:
sign-in, channels, password change, refused delete, login hours, logout, screenshots.

One Synapse + bridge with SMTP for the module, a small organisation applied with the real
`carebridge provision apply`, and one browser; every test opens its own browser context (a
new device) as its own provisioned person, so the tests do not depend on each other's
screens. Staff passwords come from the mails the test SMTP server caught.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio
from nio import (
    AsyncClient,
    JoinResponse,
    LoginError,
    RoomGetEventResponse,
    RoomMessageImage,
    RoomMessagesResponse,
    RoomMessageText,
    RoomResolveAliasResponse,
    RoomSendResponse,
)
from playwright.async_api import Browser, expect

from config.settings import FilesSettings
from policy.redaction import HISTORY_RETAINED
from policy.respond_only import RESPOND_ONLY_MESSAGE
from tests.compliance_helpers import ledger, wait_for
from tests.harness.browser import (
    ARTIFACTS,
    LOGIN_ERROR,
    NOTICE,
    REPO,
    is_png,
    launch,
    require_chromium,
    web_client,
)
from tests.harness.provision import carebridge
from tests.harness.scenarios import stack_with_mail
from tests.harness.smtp import MailCatcher, password_from
from tests.harness.stack import Stack, strong_password
from tests.harness.webclient_org import (
    CHANNELS,
    ORGANIZATION,
    USERS,
    Org,
    invited_room,
    marker,
    org_yaml,
    sync_until,
    tiny_png,
)

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


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


@pytest_asyncio.fixture(loop_scope="module")
async def ben(org: Org) -> AsyncIterator[AsyncClient]:
    """The colleague on another client: matrix-nio, signed in with his mailed password."""
    client = await org.stack.login(org.uid("ben"), org.passwords["ben"])
    try:
        yield client
    finally:
        await client.close()


async def test_signs_in_with_mailed_password_sees_channels_and_sends(
    org: Org, browser: Browser, ben: AsyncClient
) -> None:
    """A mailed password signs in on the web -> own channels -> message reaches a
    colleague on another client and the archive."""
    await ben.sync(timeout=0)
    body = marker("Bed 4 is ready for the transfer")
    async with web_client(browser, org.web_url, "sign-in") as anna:
        await anna.open_login(org.mailed_url["anna"])
        assert await anna.page.locator(".cb-brand-name").inner_text() == ORGANIZATION
        await anna.log_in("anna", org.passwords["anna"])
        shown = await anna.room_names()
        assert sorted(shown) == sorted(n for n, members in CHANNELS.values() if "anna" in members)
        await anna.open_room("Ward 3")
        await anna.send(body)
        assert anna.errors == []

    event = await sync_until(ben, org.rooms["ward-3"], body)
    assert event.sender == org.uid("anna")
    await org.stack.wait_archived([event.event_id])
    archived = {e.event["event_id"]: e.event for e in await org.stack.archived(org.rooms["ward-3"])}
    assert archived[event.event_id]["content"]["body"] == body
    assert archived[event.event_id]["sender"] == org.uid("anna")


async def test_finds_a_colleague_and_sends_a_direct_message_and_photo(
    org: Org, browser: Browser, ben: AsyncClient, tmp_path: Path
) -> None:
    """The first-day guide's "find a colleague": a channel's People list > the colleague >
    Open direct message; a text and a picture reach them (matrix-nio) and the archive."""
    body = marker("Can you review the chart for bed 2?")
    async with web_client(browser, org.web_url, "direct-message") as cara:
        await cara.open_login()
        await cara.log_in("cara", org.passwords["cara"])
        await cara.open_room("Ward 3")
        await cara.open_direct_message("Test Ben")
        await cara.send(body)
        await cara.send_picture(tiny_png(tmp_path / "wound.png"))
        assert cara.errors == []

    room_id = await invited_room(ben, org.uid("cara"))
    joined = await ben.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    history = await ben.room_messages(room_id, start="", limit=50)
    assert isinstance(history, RoomMessagesResponse), history
    texts = [e for e in history.chunk if isinstance(e, RoomMessageText)]
    images = [e for e in history.chunk if isinstance(e, RoomMessageImage)]
    assert [e.body for e in texts] == [body]
    assert len(images) == 1 and images[0].url.startswith("mxc://")
    ids = [texts[0].event_id, images[0].event_id]
    await org.stack.wait_archived(ids)
    archived = {e.event["event_id"]: e.event for e in await org.stack.archived(room_id)}
    assert archived[ids[0]]["content"]["body"] == body
    assert archived[ids[1]]["content"]["msgtype"] == "m.image"


async def test_refused_message_and_file_are_explained(
    org: Org, browser: Browser, ben: AsyncClient, tmp_path: Path
) -> None:
    """What the module refuses on purpose is explained, not silently dropped: a respond-only
    member's new top-level message (a Reply goes through) and a file type the organisation
    does not allow."""
    question = marker("Who can take bed 7?")
    posted = await ben.room_send(
        org.rooms["rounds"], "m.room.message", {"msgtype": "m.text", "body": question}
    )
    assert isinstance(posted, RoomSendResponse), posted
    started = marker("New topic from a nurse")
    answer = marker("I can take bed 7")
    program = tmp_path / "tool.bin"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    async with web_client(browser, org.web_url, "refused-send") as cara:
        await cara.open_login()
        await cara.log_in("cara", org.passwords["cara"])
        await cara.open_room("Rounds")
        await cara.message(question).wait_for(state="visible")

        refused = await cara.send_answered(started)
        assert refused.status == 403
        notice = cara.page.locator(NOTICE)
        await expect(notice).to_contain_text("Your message was not sent")
        await expect(notice).to_contain_text(RESPOND_ONLY_MESSAGE)
        await cara.message(started).wait_for(state="detached")
        await cara.page.locator(f"{NOTICE} button", has_text="OK").click()
        await notice.wait_for(state="detached")

        replied = await cara.reply(question, answer)
        assert replied.status == 200, await replied.text()
        await cara.message(answer).wait_for(state="visible")

        await cara.open_room("Ward 3")
        upload = await cara.send_file_answered(program)
        assert 400 <= upload.status < 500
        await expect(notice).to_contain_text("The file was not sent")
        await expect(notice).to_contain_text(FilesSettings().forbidden_type_message)

    history = await ben.room_messages(org.rooms["rounds"], start="", limit=50)
    assert isinstance(history, RoomMessagesResponse), history
    bodies = [e.body for e in history.chunk if isinstance(e, RoomMessageText)]
    assert answer in "\n".join(bodies) and started not in "\n".join(bodies)


async def test_changes_password_and_signs_in_with_the_new_one(org: Org, browser: Browser) -> None:
    """Settings > Change password (password.html); the new password works in
    the browser, the old one fails there and for matrix-nio."""
    old, new = org.passwords["anna"], strong_password()
    async with web_client(browser, org.web_url, "password") as anna:
        await anna.open_login()
        await anna.log_in("anna", old)
        await anna.open_settings()
        await anna.page.locator(".Settings .cb-password-link a").click()
        kind, text = await anna.change_password("anna", old, new)
        assert kind == "ok", text
        org.passwords["anna"] = new

        # Back to the messenger: the change signed this session out, and the client says so.
        await anna.page.locator("#cb-back").click()
        ended = anna.page.locator(".LogoutScreen")
        await ended.wait_for(state="visible")
        assert "You have been signed out" in await ended.inner_text()
        await ended.locator("button:has-text('Proceed')").click()
        await anna.page.locator("#username").wait_for(state="visible")
        error = await anna.login_refused("anna", old)
        assert "password" in error.lower()
        await anna.log_in("anna", new)
        assert "Ward 3" in await anna.room_names()

    refused = AsyncClient(org.stack.hs_url, org.uid("anna"))
    try:
        resp = await refused.login(old)
        assert isinstance(resp, LoginError), resp
    finally:
        await refused.close()
    accepted = await org.stack.login(org.uid("anna"), new)
    await accepted.close()


async def test_deleting_a_message_is_refused_and_it_stays(
    org: Org, browser: Browser, ben: AsyncClient
) -> None:
    """Message menu > Delete is refused by the server with the policy errcode;
    the user is told why, and the message stays for the other user and in the archive."""
    await ben.sync(timeout=0)
    body = marker("Potassium 3.1, repeat in 4h")
    room_id = org.rooms["ward-3"]
    async with web_client(browser, org.web_url, "delete") as cara:
        await cara.open_login()
        await cara.log_in("cara", org.passwords["cara"])
        await cara.open_room("Ward 3")
        await cara.send(body)
        event = await sync_until(ben, room_id, body)

        answer = await cara.delete(body)
        assert answer.status == 403
        refusal = await answer.json()
        assert refusal["errcode"] == HISTORY_RETAINED, refusal
        notice = cara.page.locator(NOTICE)
        await notice.wait_for(state="visible")
        assert "cannot be deleted" in await notice.inner_text()
        await cara.screenshot("delete-refused")
        # Hydrogen drops its "being deleted" placeholder and shows the message again ...
        await cara.page.locator(".Timeline :text('This message is being deleted')").wait_for(state="detached")
        await cara.message(body).wait_for(state="visible")
        assert await cara.page.locator(".Timeline :text('This message has been deleted')").count() == 0
        # ... also after a reload from its local store.
        await cara.page.reload()
        await cara.message(body).wait_for(state="visible")

    seen = await ben.room_get_event(room_id, event.event_id)
    assert isinstance(seen, RoomGetEventResponse), seen
    assert seen.event.source["content"]["body"] == body
    assert "redacted_because" not in seen.event.source.get("unsigned", {})
    history = await ben.room_messages(room_id, start="", limit=50)
    assert isinstance(history, RoomMessagesResponse), history
    listed = {e.event_id: e for e in history.chunk}
    assert isinstance(listed[event.event_id], RoomMessageText)
    assert listed[event.event_id].body == body

    await org.stack.wait_archived([event.event_id])
    archived = [e.event for e in await org.stack.archived(room_id)]
    assert any(e["event_id"] == event.event_id and e["content"]["body"] == body for e in archived)
    assert not any(e["type"] == "m.room.redaction" for e in archived)


async def test_sign_in_outside_allowed_hours_says_why(org: Org, browser: Browser) -> None:
    """Login hours as staff see them: a wrong password reads as one, and a refusal
    outside the allowed hours shows the server's reason (Hydrogen alone would call it a
    wrong password)."""
    async with web_client(browser, org.web_url, "outside-hours") as fay:
        await fay.open_login()
        error = await fay.login_refused("fay", "Wrong-" + org.passwords["fay"])
        assert "password don't seem to be correct" in error
        await fay.submit_login("fay", org.passwords["fay"])
        await expect(fay.page.locator(LOGIN_ERROR)).to_contain_text(
            "only allowed during your scheduled shift"
        )
        assert "password" not in (await fay.page.locator(LOGIN_ERROR).inner_text())
        assert fay.page.url.endswith("#/login")


async def test_logging_out_records_a_logout_and_removes_the_device(org: Org, browser: Browser) -> None:
    """Settings > Log out ends the session on the server and in the ledger."""
    user_id = org.uid("dan")
    devices_path = f"/_synapse/admin/v2/users/{quote(user_id)}/devices"
    async with web_client(browser, org.web_url, "logout") as dan:
        await dan.open_login()
        await dan.log_in("dan", org.passwords["dan"])
        device = await dan.session_id()
        assert device
        listed = await org.stack.admin("GET", devices_path)
        assert device in {d["device_id"] for d in listed["devices"]}
        await wait_for(
            lambda: ledger(org.stack, user_id),
            lambda r: any(s.device_id == device and s.logout_ts is None for s in r[0]),
            what="login row",
        )

        await dan.log_out()
        assert dan.page.url.endswith("#/login"), dan.page.url

    rows, _ = await wait_for(
        lambda: ledger(org.stack, user_id),
        lambda r: any(s.device_id == device and s.logout_ts is not None for s in r[0]),
        what="logout row",
    )
    (session,) = [s for s in rows if s.device_id == device]
    assert session.close_reason == "logout"
    assert session.logout_ts >= session.login_ts
    listed = await org.stack.admin("GET", devices_path)
    assert device not in {d["device_id"] for d in listed["devices"]}


async def test_screenshots_of_login_screen_and_channel(org: Org, browser: Browser) -> None:
    """The run leaves PNGs of the sign-in screen and a channel."""
    login_png, channel_png = ARTIFACTS / "login.png", ARTIFACTS / "channel.png"
    for stale in (login_png, channel_png):
        stale.unlink(missing_ok=True)
    async with web_client(browser, org.web_url, "screenshots") as eve:
        await eve.open_login()
        await eve.page.locator(".cb-brand-name").wait_for(state="visible")
        assert await eve.screenshot("login") == login_png
        await eve.log_in("eve", org.passwords["eve"])
        await eve.open_room("Pharmacy")
        await eve.send("Stock check done for the night")
        assert await eve.screenshot("channel") == channel_png
    for path in (login_png, channel_png):
        assert is_png(path), path
        assert path.resolve().is_relative_to(REPO / "test-artifacts")


async def test_artifacts_are_git_ignored() -> None:
    assert "/test-artifacts/" in (REPO / ".gitignore").read_text().splitlines()
    assert ARTIFACTS.is_relative_to(REPO / "test-artifacts")
