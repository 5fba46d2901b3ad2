"""Issue 22 in Debian's headless Chromium: what stopped or endangered a nurse picking the web
client up without training. Sign-in with the work e-mail address (and what a refusal says),
a message box that belongs to the conversation on screen, the emoji picker, the conversation
opening at its newest message after a reload, one notification per message, the favicon,
and the installable app (manifest, service worker, offline screen, sign-out clearing
everything). Calls and the phone layout are in test_webclient_phone.py; Firefox ESR
in test_webclient_calls.py.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest
from nio import RoomCreateResponse, RoomSendResponse, UploadResponse
from playwright.async_api import Browser, Route, expect

from tests.compliance_helpers import ledger, wait_for
from tests.e2e.webclient_fixtures import sign_in
from tests.harness.browser import COMPOSER, READY, web_client
from tests.harness.stack import strong_password
from tests.harness.webclient_org import Org, marker, tiny_png

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
WRONG_EMAIL = "The e-mail address or password is not correct."


async def test_sign_in_with_the_work_email_and_what_a_refusal_says(org: Org, browser: Browser) -> None:
    """The org file's e-mail address signs in (any letter case); a name that cannot be right
    is explained before anything is sent; a wrong password and an address nobody has get
    the same words (no account is revealed), and both leave failed-login records, as does
    a sign-in by address outside the shift."""
    async with web_client(browser, org.web_url, "email-sign-in") as dan:
        await dan.open_login()
        await expect(dan.page.locator("label[for=username]")).to_have_text("Username or work e-mail")
        incomplete = await dan.login_refused("dan@clinic", "Whatever-1!")
        assert incomplete.startswith("That e-mail address is not complete"), incomplete
        elsewhere = await dan.login_refused("@dan:elsewhere.example", "Whatever-1!")
        assert elsewhere.startswith("That account is on another server (elsewhere.example)"), elsewhere
        assert await dan.login_refused("Dan@Clinic.Example", "Wrong-" + org.passwords["dan"]) == WRONG_EMAIL
        assert await dan.login_refused("nobody.here@clinic.example", org.passwords["dan"]) == WRONG_EMAIL
        assert await dan.login_refused("dan", "Wrong-" + org.passwords["dan"]) == (
            "The username or password is not correct."
        )
        await dan.page.dispatch_event("#password", "keydown", {"key": "A", "modifierCapsLock": True})
        await expect(dan.page.locator("#cb-caps")).to_contain_text("Caps Lock is on")
        await dan.screenshot("sign-in-refused", guide=True)
        assert await dan.axe() == []
        outside = await dan.login_refused("FAY@clinic.example", org.passwords["fay"])
        assert "only allowed during your scheduled shift" in outside, outside

        await dan.submit_login(" DAN@clinic.EXAMPLE ", org.passwords["dan"])
        forced = dan.page.locator("#cb-forced-title")
        await forced.or_(dan.page.locator(READY)).first.wait_for()
        if await forced.is_visible():
            new = strong_password()
            await dan.choose_password(new)
            org.passwords["dan"] = new
        await expect(dan.page.locator(".cb-list[data-ready=true]")).to_be_visible()
        assert dan.errors == [] and await dan.csp_violations() == []

    await wait_for(
        lambda: ledger(org.stack, org.uid("dan")),
        lambda r: sum(f.reason == "wrong_password" for f in r[1]) >= 2,
        timeout=60,
        what="failed sign-ins by address and by username",
    )
    _, fay = await wait_for(
        lambda: ledger(org.stack, org.uid("fay")), lambda r: bool(r[1]), what="login hours"
    )
    assert [f.reason for f in fay] == ["outside_allowed_hours"]
    await wait_for(
        lambda: ledger(org.stack, None),
        lambda r: any(f.reason == "unknown_user" for f in r[1]),
        timeout=60,
        what="the unknown address",
    )


async def test_the_message_box_belongs_to_the_conversation_on_screen(org: Org, browser: Browser) -> None:
    """From "Message <name>" until the conversation exists, the screen says so and the
    message box is disabled: what a quick typist types lands nowhere, never in the channel
    that was open; nothing typed carries over from one room to another."""
    draft, quick = marker("for the ward only"), marker("typed while it opens")
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    async with web_client(browser, org.web_url, "wrong-place") as eve:
        await sign_in(eve, org, "eve")
        await eve.open_room("Ward 3")
        composer = eve.page.locator(COMPOSER)
        await composer.fill(draft)
        await eve.page.route("**/createRoom", hold)
        await eve.tab("contacts")
        await eve.page.locator("#cb-online-only").uncheck()
        await eve.contact("Test Anna").locator(".cb-contact-message").click()
        title = eve.page.locator("#cb-room-title")
        await expect(title).to_have_text("Opening the conversation with Test Anna…")
        await expect(composer).to_be_disabled()
        await expect(composer).to_have_value("")
        await composer.click(force=True)
        await eve.page.keyboard.type(quick)
        await eve.page.keyboard.press("Enter")
        await eve.screenshot("opening-conversation", guide=True)
        assert await eve.axe() == []
        release.set()
        await expect(title).to_have_text("Test Anna")
        await expect(composer).to_be_enabled()
        await expect(composer).to_have_value("")
        await composer.fill("not sent either")
        await eve.open_room("Ward 3")
        await expect(composer).to_have_value("")
        assert await eve.page.locator(".cb-body", has_text=quick).count() == 0
        assert await eve.page.locator(".cb-body", has_text=draft).count() == 0
        assert eve.errors == []


async def test_emoji_picker_searches_remembers_and_inserts_at_the_cursor(org: Org, browser: Browser) -> None:
    """The smiley button opens a dialog: search by name, arrow keys, Enter inserts at the
    cursor, Escape returns to the button, and the emoji used last come first next time."""
    text = marker("see you")
    async with web_client(browser, org.web_url, "emoji") as cara:
        await sign_in(cara, org, "cara")
        await cara.open_room("Ward 3")
        composer = cara.page.locator(COMPOSER)
        await composer.fill(f"ok {text}")
        await composer.press("Home")
        await composer.press("ArrowRight")
        await composer.press("ArrowRight")
        button = cara.page.locator(".cb-emoji-button")
        await button.click()
        await expect(cara.page.get_by_role("dialog", name="Insert an emoji")).to_be_visible()
        await expect(cara.page.locator("#cb-emoji-search")).to_be_focused()
        await cara.page.locator("#cb-emoji-all button").first.wait_for()
        await cara.screenshot("emoji-picker", guide=True)
        assert await cara.axe() == []
        await cara.page.locator("#cb-emoji-search").fill("thumbs")
        results = cara.page.locator("#cb-emoji-results button")
        await expect(results.first).to_have_attribute("aria-label", "thumbs up")
        await results.first.focus()
        await cara.page.keyboard.press("ArrowRight")
        await expect(results.nth(1)).to_be_focused()
        await cara.page.keyboard.press("ArrowLeft")
        await cara.page.keyboard.press("Enter")
        await cara.page.keyboard.press("Escape")
        await expect(button).to_be_focused()
        value = await composer.input_value()
        assert value.startswith("ok\N{THUMBS UP SIGN}") and value.endswith(text), value
        await composer.press("Enter")
        await expect(cara.page.locator(".cb-body", has_text=text)).to_contain_text("\N{THUMBS UP SIGN}")
        await button.click()
        await expect(cara.page.locator("#cb-emoji-recent button").first).to_have_attribute(
            "aria-label", "thumbs up"
        )
        assert cara.errors == [] and await cara.csp_violations() == []


async def test_reload_opens_at_the_newest_message_and_each_message_alerts_once(
    org: Org, browser: Browser, tmp_path: Path
) -> None:
    """A long conversation with a picture opens at its newest message after a reload; a
    colleague's messages raise one notification each (an edit raises none); /favicon.ico
    is there."""
    ben = await org.stack.login(org.uid("ben"), org.passwords["ben"])
    newest = marker("the newest one")
    try:
        async with web_client(browser, org.web_url, "newest") as gil:
            favicon = await gil.page.request.get(org.web_url + "favicon.ico")
            assert favicon.status == 200 and favicon.headers["content-type"] == "image/vnd.microsoft.icon"
            await sign_in(gil, org, "gil")
            await gil.open_room("Ward 3")
            created = await ben.room_create(is_direct=True, invite=[org.uid("gil")])
            assert isinstance(created, RoomCreateResponse), created
            room = created.room_id

            async def gil_joined() -> bool:
                members = await ben.joined_members(room)
                return org.uid("gil") in {m.user_id for m in getattr(members, "members", [])}

            await wait_for(gil_joined, bool, what="gil joins the DM")
            first = await ben.room_send(room, "m.room.message", {"msgtype": "m.text", "body": marker("one")})
            assert isinstance(first, RoomSendResponse), first
            edit = {
                "msgtype": "m.text",
                "body": "* changed",
                "m.new_content": {"msgtype": "m.text", "body": "changed"},
                "m.relates_to": {"rel_type": "m.replace", "event_id": first.event_id},
            }
            assert isinstance(await ben.room_send(room, "m.room.message", edit), RoomSendResponse)
            for i in range(30):
                sent = await ben.room_send(room, "m.room.message", {"msgtype": "m.text", "body": f"line {i}"})
                assert isinstance(sent, RoomSendResponse), sent
            data = tiny_png(tmp_path / "p.png").read_bytes()
            picture, _ = await ben.upload(io.BytesIO(data), content_type="image/png", filesize=len(data))
            assert isinstance(picture, UploadResponse), picture
            url = picture.content_uri
            image = {"msgtype": "m.image", "body": "p.png", "url": url, "info": {"mimetype": "image/png"}}
            assert isinstance(await ben.room_send(room, "m.room.message", image), RoomSendResponse)
            last = await ben.room_send(room, "m.room.message", {"msgtype": "m.text", "body": newest})
            assert isinstance(last, RoomSendResponse), last

            def from_ben(found: list[dict[str, str]]) -> list[dict[str, str]]:
                return [n for n in found if n["title"] == "New message from Test Ben"]

            alerts = await wait_for(gil.notifications, lambda n: len(from_ben(n)) >= 33, what="alerts")
            assert len(from_ben(alerts)) == 33, "one per message: 32 messages and a picture, no edit"

            await gil.open_room("Test Ben", "messages")
            await gil.page.reload()
            await gil.page.locator(READY).wait_for()
            await gil.page.locator("#cb-room-title", has_text="Test Ben").wait_for()
            await gil.page.wait_for_function(
                "() => [...document.querySelectorAll('img.cb-image')].every(i => i.complete)"
            )
            await expect(gil.message(newest)).to_be_in_viewport()
            gap = await gil.page.evaluate(
                "() => { const l = document.querySelector('.cb-timeline');"
                " return l.scrollHeight - l.scrollTop - l.clientHeight; }"
            )
            assert gap < 48, gap
            assert gil.errors == []
    finally:
        await ben.close()
