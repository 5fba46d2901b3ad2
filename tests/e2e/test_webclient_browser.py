"""The staff web client (matrix-js-sdk + Preact) in Debian's headless Chromium: signing in
(forced own password, refusals in plain words), the lists, contacts with presence, direct
and group conversations, files that survive a reload, reactions, channel rights,
notifications, accessibility and the screenshots the staff guide uses.

One Synapse + bridge + organisation per module; every test opens its own browser contexts
(new devices) so the tests do not depend on each other's screens.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from nio import RoomSendResponse
from playwright.async_api import Browser, Route, expect

from config.settings import FilesSettings
from tests.compliance_helpers import ledger, wait_for
from tests.e2e.webclient_fixtures import sign_in
from tests.harness.browser import NOTICE, READY, web_client
from tests.harness.provision import carebridge
from tests.harness.stack import strong_password
from tests.harness.webclient_org import CHANNELS, ORGANIZATION, Org, marker, sync_until, tiny_png

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
SESSION_DEVICE = "() => JSON.parse(localStorage.getItem('carebridge.session')).deviceId"


async def test_first_sign_in_forces_own_password_and_refusals_are_explained(
    org: Org, browser: Browser
) -> None:
    """Mailed link + initial password -> "choose your own password" -> the channels; the
    server then no longer lists her as having the initial password (CLI), the old password
    fails; a wrong password, a sign-in outside shift hours, too many attempts (with the
    wait) and a deactivated account each get their own words; Settings changes the
    password again; Log out ends the session on the server (device gone, logout in the
    ledger)."""
    user_id = org.uid("anna")
    code, out, err = await carebridge(org.stack, "user", "list", "--format", "json")
    assert code == 0, err
    assert {r["user_id"]: r["initial_password"] for r in json.loads(out)}[user_id] == "yes"

    async with web_client(browser, org.web_url, "first-sign-in") as anna:
        await anna.open_login(org.mailed_url["anna"])
        await expect(anna.page.locator(".cb-brand-name")).to_have_text(ORGANIZATION)
        await anna.screenshot("sign-in", guide=True)
        assert await anna.axe() == []
        wrong = await anna.login_refused("anna", "Wrong-" + org.passwords["anna"])
        assert wrong == "The username or password is not correct."

        await anna.submit_login("anna", org.passwords["anna"])
        await anna.page.locator("#cb-forced-title").wait_for(state="visible")
        await anna.screenshot("choose-password", guide=True)
        assert await anna.axe() == []
        # The hint names every rule of the homeserver's password policy, so a password
        # that follows it is not refused.
        rules = await anna.page.locator("#cb-password-rules").inner_text()
        for rule in ("12 characters", "upper-case", "lower-case", "digit", "symbol"):
            assert rule in rules, rules
        await anna.page.locator("#cb-new").fill("short")
        await anna.page.locator("#cb-confirm").fill("short")
        await anna.page.locator(".cb-password button[type=submit]").click()
        await expect(anna.page.locator("#cb-password-status.error")).to_be_visible()
        first, second = strong_password(), strong_password()
        await anna.choose_password(first)
        shown = await anna.room_names("channels")
        assert sorted(shown) == sorted(n for n, members in CHANNELS.values() if "anna" in members)
        await anna.screenshot("channels", guide=True)
        assert await anna.axe() == []

        # Settings: change it again inside the app; this session stays signed in, her
        # session on another device ends and says why.
        async with web_client(browser, org.web_url, "first-sign-in-tablet") as tablet:
            await tablet.open_login()
            await tablet.log_in("anna", first)
            await anna.page.locator(".cb-settings-link").click()
            await anna.page.locator("#cb-current").fill(first)
            await anna.page.locator("#cb-new").fill(second)
            await anna.page.locator("#cb-confirm").fill(second)
            await anna.page.locator(".cb-password button[type=submit]").click()
            await expect(anna.page.locator("#cb-password-status.ok")).to_be_visible()
            await expect(tablet.page.locator("#cb-login-notice")).to_contain_text("You have been signed out")
        await anna.screenshot("settings", guide=True)
        assert await anna.axe() == []
        org.passwords["anna"] = second

        device = await anna.page.evaluate(SESSION_DEVICE)
        await anna.log_out()
        assert await anna.csp_violations() == []
        assert anna.errors == []

    code, out, err = await carebridge(org.stack, "user", "list", "--format", "json")
    assert {r["user_id"]: r["initial_password"] for r in json.loads(out)}[user_id] == "no"
    devices = await org.stack.admin("GET", f"/_synapse/admin/v2/users/{quote(user_id)}/devices")
    assert device not in {d["device_id"] for d in devices["devices"]}
    rows, _ = await wait_for(
        lambda: ledger(org.stack, user_id),
        lambda r: any(s.device_id == device and s.logout_ts is not None for s in r[0]),
        what="logout row",
    )
    assert [s.close_reason for s in rows if s.device_id == device] == ["logout"]

    code, _, err = await carebridge(org.stack, "user", "deactivate", "--yes", "gil")
    assert code == 0, err
    async with web_client(browser, org.web_url, "refusals") as other:
        await other.open_login()
        refused = await other.login_refused("anna", first)
        assert refused == "The username or password is not correct."
        outside = await other.login_refused("fay", org.passwords["fay"])
        assert "only allowed during your scheduled shift" in outside
        # Synapse erases a deactivated account's password hash, so its answer is the same
        # as for a wrong password (M_FORBIDDEN), not M_USER_DEACTIVATED.
        gone = await other.login_refused("gil", org.passwords["gil"])
        assert gone == "The username or password is not correct."
        # The homeserver's other refusals, as Synapse words them (answers stood in for on
        # the wire: the test server's sign-in rate limits are lifted).
        for answer, words in (
            (
                {"errcode": "M_LIMIT_EXCEEDED", "error": "Too Many Requests", "retry_after_ms": 120_000},
                "Too many sign-in attempts. Please wait 2 minutes and try again.",
            ),
            (
                {"errcode": "M_USER_DEACTIVATED", "error": "This account has been deactivated"},
                "This account has been deactivated. Ask your administrator if you need access again.",
            ),
        ):
            status = 429 if answer["errcode"] == "M_LIMIT_EXCEEDED" else 403
            await other.page.route("**/_matrix/client/v3/login", answering(status, answer))
            assert await other.login_refused("anna", second) == words
            await other.page.unroute("**/_matrix/client/v3/login")
        await other.log_in("anna", second)


def answering(status: int, body: dict[str, object]) -> Callable[[Route], Awaitable[None]]:
    """A route handler that answers every request with this status and JSON body."""

    async def handle(route: Route) -> None:
        await route.fulfill(status=status, json=body)

    return handle


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
DROP = """([b64, name, type]) => {
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, {type}));
    return dt;
}"""
IMAGE_SHOWN = "img => img.complete && img.naturalWidth > 0 && img.src.startsWith('blob:')"


async def test_contacts_direct_and_group_messages_files_reactions_and_alerts(
    org: Org, browser: Browser, tmp_path: Path
) -> None:
    """Contacts show a colleague online within 10 s and offline after he signs out; the
    online-only switch hides offline colleagues; part of a name finds him; the DM gets a
    text (his tab title counts it and a notification is raised), his reply, an edit
    ("edited"), his emoji reaction, a photo by drag-and-drop, a PDF by paper clip and a
    pasted picture that still display / download after a reload; a group conversation is started by
    names, refuses a call with the reason, and a colleague added later by name (on a
    phone-sized window) reads the earlier history."""
    photo = tiny_png(tmp_path / "wound.png")
    pdf = tmp_path / "discharge.pdf"
    pdf.write_bytes(PDF)
    hello, answer = marker("Can you review bed 2?"), marker("On my way")
    fixed = marker("Can you review bed 2 and 3?")
    async with (
        web_client(browser, org.web_url, "dm-cara") as cara,
        web_client(browser, org.web_url, "dm-ben") as ben,
    ):
        await sign_in(cara, org, "cara")
        await cara.tab("contacts")
        # "Online only" is a switch, on by default: offline Ben is not listed until he signs in.
        switch = cara.page.locator("#cb-online-only")
        await expect(switch).to_be_checked()
        shown_as_switch = cara.page.get_by_role("switch", name="Online only")
        await expect(shown_as_switch).to_have_attribute("aria-checked", "true")
        await expect(cara.contact("Test Ben")).to_have_count(0)
        await sign_in(ben, org, "ben")
        await ben.open_room("Ward 3")
        await expect(cara.contact("Test Ben")).to_have_attribute("data-presence", "online", timeout=10_000)
        await expect(cara.contact("Test Eve")).to_have_count(0)
        await cara.screenshot("contacts", guide=True)
        assert await cara.axe() == []
        await switch.uncheck()
        await expect(cara.contact("Test Eve")).to_have_attribute("data-presence", "offline")

        await cara.page.locator("#cb-contact-search").fill("be")
        await expect(cara.page.locator(".cb-contact")).to_have_count(1)
        await cara.contact("Test Ben").locator(".cb-contact-message").click()
        await cara.page.locator("#cb-room-title", has_text="Test Ben").wait_for()
        await cara.send(hello)

        # A new conversation: Ben is invited, his client joins and syncs it (seconds on a loaded machine).
        await expect(ben.page).to_have_title(re.compile(rf"^\(\d+\) {ORGANIZATION}$"), timeout=20_000)
        await ben.tab("messages")
        await expect(ben.room_link("Test Cara").locator(".cb-badge")).to_have_text("1")
        await wait_for(ben.notifications, lambda n: any("Test Cara" in x["title"] for x in n), what="alert")
        await ben.open_room("Test Cara", "messages")
        await ben.message(hello).wait_for()
        await expect(ben.room_link("Test Cara").locator(".cb-badge")).to_have_count(0)
        await ben.reply(hello, answer)
        reply = cara.message(answer)
        await expect(reply.locator(".cb-quote")).to_contain_text(hello)
        await expect(cara.message(answer).locator(".cb-read")).to_contain_text("Test Ben")

        await cara.message(hello).locator(".cb-edit").click()
        # Edit fills the message box in the click itself: it holds the message at once, and
        # what she types next is the correction (no later render overwrites it).
        assert await cara.page.locator("#cb-compose").input_value() == hello
        await cara.page.locator("#cb-compose").fill(fixed)
        await cara.page.locator("#cb-compose").press("Enter")
        edited = ben.message(fixed)
        await expect(edited.locator(".cb-edited")).to_have_text("(edited)")
        await edited.locator(".cb-react").click()
        await ben.page.get_by_label("React with 👍").click()
        await expect(cara.message(fixed).locator(".cb-reaction")).to_have_text("👍 1")
        assert await cara.page.locator(".cb-message button", has_text="Delete").count() == 0

        transfer = await cara.page.evaluate_handle(DROP, [_b64(photo), "wound.png", "image/png"])
        await cara.page.dispatch_event(".cb-conversation", "drop", {"dataTransfer": transfer})
        async with cara.page.expect_file_chooser() as chooser:
            await cara.page.locator(".cb-attach").click()
        await (await chooser.value).set_files(str(pdf))
        await cara.page.locator(".cb-file", has_text="discharge.pdf").wait_for()
        pasted = await cara.page.evaluate_handle(DROP, [_b64(photo), "pasted.png", "image/png"])
        await cara.page.evaluate(
            """dt => document.querySelector('#cb-compose').dispatchEvent(
                new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}))""",
            pasted,
        )
        await expect(cara.page.locator("img.cb-image")).to_have_count(2)
        await cara.screenshot("conversation", guide=True)
        assert await cara.axe() == []

        await ben.page.reload()
        await ben.page.locator(READY).wait_for()
        await expect(ben.page.locator("img.cb-image")).to_have_count(2)
        await ben.page.wait_for_function(
            f"() => [...document.querySelectorAll('img.cb-image')].every({IMAGE_SHOWN})"
        )
        async with ben.page.expect_download() as download:
            await ben.page.locator(".cb-file", has_text="discharge.pdf").click()
        saved = tmp_path / "downloaded.pdf"
        await (await download.value).save_as(saved)
        assert saved.read_bytes() == PDF

        await ben.log_out()
        await expect(cara.contact("Test Ben")).to_have_attribute("data-presence", "offline")

        # A group conversation by names; calls are refused there; Eve is added later.
        group_text = marker("Family meeting at 3")
        await cara.tab("messages")
        await cara.page.locator(".cb-new-message").click()
        for part in ("ben", "Dan"):
            await cara.page.locator("#cb-picker-search").fill(part)
            await cara.page.locator(".cb-picker-option").first.click()
        await cara.screenshot("new-message", guide=True)
        assert await cara.axe() == []
        await cara.page.locator(".cb-picker-go").click()
        await cara.page.locator("#cb-compose").wait_for()
        await cara.send(group_text)
        await cara.page.locator(".cb-call-audio").click()
        await expect(cara.page.locator(".cb-call-error")).to_contain_text("Calls are one-to-one")
        await cara.page.locator(".cb-add-people").click()
        await cara.page.locator("#cb-picker-search").fill("eve")
        await cara.page.locator(".cb-picker-option", has_text="Test Eve").click()
        await cara.page.locator(".cb-picker-go").click()
        assert await cara.csp_violations() == []
        assert cara.errors == [] and ben.errors == []

    async with web_client(browser, org.web_url, "dm-eve", viewport={"width": 390, "height": 800}) as eve:
        await sign_in(eve, org, "eve")
        await eve.tab("messages")
        await eve.page.locator(".cb-rooms .cb-room").first.click()
        await eve.message(group_text).wait_for()
        await expect(eve.page.locator(".cb-left")).to_be_hidden()
        await eve.screenshot("phone", guide=True)
        assert await eve.axe() == []
        await eve.page.locator(".cb-conversation .cb-back").click()
        await expect(eve.page.locator(".cb-left")).to_be_visible()


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


async def test_channel_rights_and_refusals_shown_in_place(org: Org, browser: Browser, tmp_path: Path) -> None:
    """A respond-only nurse sees "reply to a message" instead of a composer and can reply;
    a read-only channel has no composer; a file type the organisation refuses is explained
    where she is; nothing offers to delete."""
    poster = await org.stack.login(org.uid("eve"), org.passwords["eve"])
    try:
        question = marker("Who can take bed 7?")
        content = {"msgtype": "m.text", "body": question}
        posted = await poster.room_send(org.rooms["rounds"], "m.room.message", content)
        assert isinstance(posted, RoomSendResponse), posted
    finally:
        await poster.close()
    program = tmp_path / "tool.bin"
    program.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    reply = marker("I can take bed 7")
    async with web_client(browser, org.web_url, "rights") as dan:
        await sign_in(dan, org, "dan")
        await dan.open_room("Rounds")
        await expect(dan.page.locator("#cb-rights")).to_contain_text("reply to messages")
        await expect(dan.page.locator("#cb-compose")).to_have_count(0)
        await dan.reply(question, reply)
        await dan.open_room("Notices")
        await expect(dan.page.locator("#cb-rights")).to_contain_text("You can read this channel")
        await expect(dan.page.locator("#cb-compose")).to_have_count(0)
        await expect(dan.page.locator(".cb-reply")).to_have_count(0)
        await dan.screenshot("read-only-channel", guide=True)
        await dan.open_room("Ward 3")
        async with dan.page.expect_file_chooser() as chooser:
            await dan.page.locator(".cb-attach").click()
        await (await chooser.value).set_files(str(program))
        notice = dan.page.locator(NOTICE)
        await expect(notice).to_contain_text("The file was not sent")
        await expect(notice).to_contain_text(FilesSettings().forbidden_type_message)
        assert await dan.page.get_by_role("button", name="Delete").count() == 0
        assert await dan.axe() == []

    reader = await org.stack.login(org.uid("ben"), org.passwords["ben"])
    try:
        event = await sync_until(reader, org.rooms["rounds"], reply)
        assert event.source["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
    finally:
        await reader.close()
