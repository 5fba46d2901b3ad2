"""Issue 22, on her phone and in calls, in Debian's headless Chromium: the installable app
(manifest, service worker, Chromium's own installability check, the offline screen,
sign-out clearing every cache), the phone layout at 390 x 844 with device emulation through
sign-in, lists, a conversation and a video call, and the call panel (never over the message
box, self-view, speaker where the browser allows, plain words for a blocked or missing
microphone, a call answered on one of her sessions stops ringing on the others).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, expect

from tests.compliance_helpers import wait_for
from tests.e2e.test_webclient_calls import connected, ring
from tests.e2e.webclient_fixtures import sign_in
from tests.harness.browser import COMPOSER, PHONE, READY, WebClient, web_client
from tests.harness.webclient_org import Org, marker

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

CACHED_URLS = """async () => {
    const urls = [];
    for (const name of await caches.keys()) {
        for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
    }
    return urls;
}"""
LEFT_BEHIND = """async () => ({
    caches: (await caches.keys()).length,
    workers: (await navigator.serviceWorker.getRegistrations()).length,
    storage: localStorage.length + sessionStorage.length,
})"""


def refuse_media(name: str) -> str:
    """An init script: getUserMedia fails as the browser fails it when the microphone is
    blocked (NotAllowedError) or missing (NotFoundError)."""
    return (
        "navigator.mediaDevices.getUserMedia = () => "
        f"Promise.reject(new DOMException('stood in by the test', '{name}'));"
    )


async def test_installable_app_offline_screen_and_sign_out_clears_everything(
    org: Org, browser: Browser
) -> None:
    async with web_client(browser, org.web_url, "pwa", device=PHONE) as anna:
        answer = await anna.page.request.get(org.web_url + "manifest.webmanifest")
        assert answer.status == 200 and answer.headers["content-type"] == "application/manifest+json"
        manifest = await answer.json()
        assert manifest["name"] == "Riverside Clinic" and manifest["display"] == "standalone"
        assert manifest["start_url"] == "./" and {i["sizes"] for i in manifest["icons"]} >= {
            "192x192",
            "512x512",
        }
        for icon in manifest["icons"]:
            assert (await anna.page.request.get(org.web_url + icon["src"])).status == 200

        await sign_in(anna, org, "anna")
        await anna.page.wait_for_function("async () => (await navigator.serviceWorker.ready).active !== null")
        await anna.page.reload()
        await anna.page.locator(READY).wait_for()
        assert await anna.page.evaluate("() => Boolean(navigator.serviceWorker.controller)")
        cdp = await anna.page.context.new_cdp_session(anna.page)
        installable = await cdp.send("Page.getInstallabilityErrors")
        # Chromium's own check: nothing is missing but a real profile (test contexts are
        # incognito, where nothing can be installed).
        errors = [e["errorId"] for e in installable["installabilityErrors"]]
        assert set(errors) <= {"in-incognito"}, installable
        cached = await anna.page.evaluate(CACHED_URLS)
        paths = {urlsplit(u).path for u in cached}
        assert {"/index.html", "/app.js", "/carebridge.css", "/config.json"} <= paths, paths
        assert not any(p.startswith(("/_matrix", "/_carebridge", "/_synapse")) for p in paths), paths

        await anna.page.context.set_offline(True)
        offline = anna.page.locator("#cb-offline")
        await expect(offline).to_be_visible()
        await anna.page.reload()  # from the service worker's cache
        await expect(offline).to_contain_text("No connection")
        await anna.screenshot("offline", guide=True)
        assert await anna.axe() == []
        await anna.page.context.set_offline(False)
        await expect(offline).to_be_hidden(timeout=60_000)
        await anna.page.locator(READY).wait_for()

        await anna.log_out()
        assert await anna.page.evaluate(LEFT_BEHIND) == {"caches": 0, "workers": 0, "storage": 0}
        assert anna.errors == [] and await anna.csp_violations() == []


async def test_phone_layout_and_a_video_call_that_leaves_the_message_box_free(
    org: Org, browser: Browser
) -> None:
    """Both on phones: sign-in, lists, a conversation; a video call from Contacts, the call
    panel above the conversation and the message box usable beside it; self-view hides;
    the speaker can be chosen where Chromium offers outputs; hang up."""
    during = marker("writing during the call")
    async with (
        web_client(browser, org.web_url, "phone-cara", device=PHONE) as cara,
        web_client(browser, org.web_url, "phone-ben", device=PHONE) as ben,
    ):
        await sign_in(cara, org, "cara")
        await cara.screenshot("phone-lists", guide=True)
        assert await cara.axe() == []
        await sign_in(ben, org, "ben")
        await cara.tab("contacts")
        await cara.contact("Test Ben").locator(".cb-contact-video").click()
        await ring(cara, ben, "video")
        await ben.screenshot("phone-incoming-call", guide=True)
        await ben.page.locator(".cb-incoming .cb-accept").click()
        await connected(cara, ben, video=True)

        panel, box = cara.page.locator(".cb-call"), cara.page.locator(COMPOSER)
        await expect(box).to_be_enabled()
        first, second = await panel.bounding_box(), await box.bounding_box()
        assert first and second and first["y"] + first["height"] <= second["y"], (first, second)
        await box.fill(during)
        await box.press("Enter")
        await cara.message(during).wait_for()

        await cara.page.locator(".cb-self-view").click()
        await expect(cara.page.locator("video.cb-local")).to_be_hidden()
        await expect(cara.page.locator(".cb-self-view")).to_have_attribute("aria-pressed", "true")
        outputs = await cara.page.evaluate(
            "async () => (await navigator.mediaDevices.enumerateDevices()).filter(d =>"
            " d.kind === 'audiooutput' && d.deviceId && d.deviceId !== 'default').map(d => d.deviceId)"
        )
        if outputs:
            await cara.page.locator("#cb-speaker").select_option(outputs[0])
            await cara.page.wait_for_function(
                "id => document.querySelector('video.cb-remote').sinkId === id", arg=outputs[0]
            )
        else:  # Chromium offered no output device to choose: the control is not shown
            await expect(cara.page.locator("#cb-speaker")).to_have_count(0)
        await cara.screenshot("phone-call", guide=True)
        assert await cara.axe() == []
        await cara.page.locator(".cb-hangup").click()
        await cara.wait_call_state(None)
        await ben.wait_call_state(None)
        assert cara.errors == [] and ben.errors == []


async def test_blocked_or_missing_microphone_gets_plain_instructions(org: Org, browser: Browser) -> None:
    for error, kind, words in (
        (
            "NotAllowedError",
            ".cb-call-audio",
            "This browser is not allowed to use the microphone. Click the camera icon in the "
            "address bar, allow the microphone, then Call again.",
        ),
        ("NotFoundError", ".cb-call-video", "No camera or microphone was found."),
    ):
        async with web_client(browser, org.web_url, f"media-{error}", init_script=refuse_media(error)) as dan:
            await sign_in(dan, org, "dan")
            await dan.tab("contacts")
            await dan.page.locator("#cb-online-only").uncheck()
            await dan.contact("Test Eve").locator(".cb-contact-message").click()
            await dan.page.locator("#cb-room-title", has_text="Test Eve").wait_for()
            await dan.page.locator(kind).click()
            shown = dan.page.locator(".cb-call-error[role=alert]")
            await expect(shown).to_contain_text(words)
            assert "stood in" not in await shown.inner_text()
            if error == "NotAllowedError":
                await dan.screenshot("call-blocked-microphone", guide=True)
                assert await dan.axe() == []
            await dan.wait_call_state(None)


async def test_a_call_answered_on_one_session_stops_ringing_on_the_others(org: Org, browser: Browser) -> None:
    async with (
        web_client(browser, org.web_url, "elsewhere-anna") as anna,
        web_client(browser, org.web_url, "elsewhere-eve-desk") as desk,
        web_client(browser, org.web_url, "elsewhere-eve-ward") as ward,
    ):
        await sign_in(anna, org, "anna")
        await sign_in(desk, org, "eve")
        await sign_in(ward, org, "eve")
        await anna.tab("contacts")
        await anna.contact("Test Eve").locator(".cb-contact-call").click()
        for side in (desk, ward):
            await expect(side.page.locator(".cb-incoming")).to_be_visible()
            assert await side.page.evaluate("() => window.carebridgeRinging === true")
        await desk.page.locator(".cb-incoming .cb-accept").click()
        await connected(anna, desk, video=False)
        await expect(ward.page.locator(".cb-incoming")).to_have_count(0)
        await ward.wait_call_state(None)
        assert await ward.page.evaluate("() => window.carebridgeRinging") is False
        await anna.page.locator(".cb-hangup").click()
        await desk.wait_call_state(None)
        await wait_for(lambda: _ringing(desk), lambda r: r is False, what="no ringing after hang-up")


async def _ringing(side: WebClient) -> object:
    return await side.page.evaluate("() => window.carebridgeRinging")
