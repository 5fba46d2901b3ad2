"""Person-to-person calls in the staff web client (matrix-js-sdk MatrixCall, m.call.*),
between two headless Chromium pages with fake camera and microphone: the callee is
alerted wherever she is in the app, both sides reach `connected` with live media, mute
and camera work, hang-up ends both sides, and every call (answered, declined, missed)
lands in `carebridge report calls` with its kind and talk time. Firefox ESR too: a smoke
run over WebDriver BiDi calls a Chromium page."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.compliance_helpers import wait_for
from tests.e2e.webclient_fixtures import sign_in
from tests.harness.browser import ARTIFACTS, REPO, WebClient, web_client
from tests.harness.provision import carebridge
from tests.harness.stack import strong_password
from tests.harness.webclient_org import Org, marker, tiny_png

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def live(tracks: list[dict[str, object]]) -> bool:
    return bool(tracks) and all(t["state"] == "live" and t["enabled"] for t in tracks)


async def connected(*sides: WebClient, video: bool) -> None:
    """Both pages are in a connected call with live, enabled remote audio (and video)."""
    for side in sides:
        await side.wait_call_state("connected")
    for side in sides:
        facts = await wait_for(side.call_facts, lambda f: live(f["remoteAudio"]), what="remote audio")
        assert live(facts["localAudio"]) and not facts["micMuted"], facts
        assert facts["type"] == ("video" if video else "voice"), facts
        if video:
            assert live(facts["remoteVideo"]) and live(facts["localVideo"]), facts


async def ring(caller: WebClient, callee: WebClient, kind: str) -> None:
    """The callee's banner and a browser notification announce the call."""
    await expect(callee.page.locator(".cb-incoming")).to_have_attribute("data-kind", kind)
    title = f"Incoming {kind} call"
    await wait_for(callee.notifications, lambda n: any(title in x["title"] for x in n), what="ring")
    await caller.wait_call_state("invite_sent")


async def calls_report(org: Org) -> list[dict[str, str]]:
    today = datetime.now(UTC).date().isoformat()
    code, out, err = await carebridge(org.stack, "report", "calls", "--date", today, "--format", "csv")
    assert code == 0, err
    return list(csv.DictReader(io.StringIO(out)))


async def test_audio_and_video_calls_declined_and_missed_are_logged(org: Org, browser: Browser) -> None:
    """Audio call A->B from Contacts (B is reading a channel), video call B->A from the
    conversation header (A is in a channel); mute, camera, hang-up; then a declined and a
    missed call; the conversation shows each call and how it ended, and the calls report
    lists all four with kind, outcome and talk time."""
    anna_id, ben_id = org.uid("anna"), org.uid("ben")
    async with (
        web_client(browser, org.web_url, "call-anna") as anna,
        web_client(browser, org.web_url, "call-ben") as ben,
    ):
        await sign_in(anna, org, "anna")
        await sign_in(ben, org, "ben")
        await ben.open_room("Ward 3")

        await anna.tab("contacts")
        await anna.contact("Test Ben").locator(".cb-contact-call").click()
        await ring(anna, ben, "audio")
        await ben.screenshot("incoming-call", guide=True)
        assert await ben.axe() == []
        await ben.page.locator(".cb-incoming .cb-accept").click()
        await connected(anna, ben, video=False)
        await anna.page.locator(".cb-mute").click()
        await expect(anna.page.locator(".cb-mute")).to_have_attribute("aria-pressed", "true")
        muted = await anna.call_facts()
        assert muted["micMuted"] and not any(t["enabled"] for t in muted["localAudio"]), muted
        await anna.page.locator(".cb-mute").click()
        await expect(anna.page.locator(".cb-mute")).to_have_attribute("aria-pressed", "false")
        await anna.screenshot("audio-call", guide=True)
        assert await anna.axe() == []
        await anna.page.locator(".cb-hangup").click()
        await anna.wait_call_state(None)
        await ben.wait_call_state(None)

        await anna.open_room("Ward 3")
        await ben.open_room("Test Anna", "messages")
        await ben.page.locator(".cb-call-video").click()
        await ring(ben, anna, "video")
        await anna.page.locator(".cb-incoming .cb-accept").click()
        await connected(anna, ben, video=True)
        await ben.page.locator(".cb-camera").click()
        await expect(ben.page.locator(".cb-camera")).to_have_attribute("aria-pressed", "true")
        off = await ben.call_facts()
        assert not any(t["enabled"] for t in off["localVideo"]), off
        await ben.screenshot("video-call", guide=True)
        assert await ben.axe() == []
        await ben.page.locator(".cb-hangup").click()
        await ben.wait_call_state(None)
        await anna.wait_call_state(None)

        await anna.tab("contacts")
        await anna.contact("Test Ben").locator(".cb-contact-call").click()
        await ring(anna, ben, "audio")
        await ben.page.locator(".cb-incoming .cb-decline").click()
        await anna.wait_call_state(None)
        await ben.wait_call_state(None)

        await anna.contact("Test Ben").locator(".cb-contact-video").click()
        await ring(anna, ben, "video")
        await anna.page.locator(".cb-hangup").click()
        await anna.wait_call_state(None)
        await ben.wait_call_state(None)
        await anna.open_room("Test Ben", "messages")
        tiles = anna.page.locator(".cb-call-tile")
        await expect(tiles).to_have_count(4)
        await expect(tiles.nth(0)).to_contain_text("Audio call from Test Anna")
        await expect(tiles.nth(0)).to_contain_text("talked")
        await expect(tiles.nth(1)).to_contain_text("Video call from Test Ben")
        await expect(tiles.nth(1)).to_contain_text("talked")
        await expect(tiles.nth(2)).to_contain_text("declined")
        await expect(tiles.nth(3)).to_contain_text("missed")
        assert anna.errors == [] and ben.errors == []
        assert await anna.csp_violations() == [] and await ben.csp_violations() == []

    def between(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        return [r for r in rows if {r["caller"], r["callee"]} == {anna_id, ben_id}]

    rows = await wait_for(lambda: calls_report(org), lambda r: len(between(r)) == 4, what="four calls")
    calls = [(r["caller"], r["kind"], r["outcome"]) for r in between(rows)]
    assert calls == [
        (anna_id, "audio", "answered"),
        (ben_id, "video", "answered"),
        (anna_id, "audio", "rejected"),
        (anna_id, "video", "missed"),
    ], calls
    talk = [r["duration"] for r in between(rows)]
    assert talk[0] and talk[1] and not talk[2] and not talk[3], talk


FIREFOX = Path(os.environ.get("CAREBRIDGE_FIREFOX", "/usr/bin/firefox-esr"))
SMOKE = REPO / "webclient" / "tests" / "firefox-smoke.mjs"


async def test_firefox_signs_in_messages_sends_a_photo_and_calls_chromium(
    org: Org, browser: Browser, tmp_path: Path
) -> None:
    """Debian's Firefox ESR, driven over WebDriver BiDi (puppeteer-core, fake media by
    preference): first sign-in with the work e-mail address (in other letter case) and the
    mailed password, a DM found in Contacts, a text, an emoji from the message box's picker
    (search, keyboard, Escape back to the button), a photo by drag-and-drop, and an audio
    call that Chromium answers; both reach `connected` with live remote audio."""
    if not (FIREFOX.is_file() and os.access(FIREFOX, os.X_OK)):
        message = f"the Firefox smoke test needs {FIREFOX} (Debian package: firefox-esr)"
        pytest.fail(message) if os.environ.get("CI") == "1" else pytest.skip(message)
    text = marker("Firefox says hello")
    new_password = strong_password()
    job = {
        "firefox": str(FIREFOX),
        "url": org.web_url,
        "username": "Cara@Clinic.Example",
        "password": org.passwords["cara"],
        "newPassword": new_password,
        "colleague": "Test Ben",
        "text": text,
        "emojiText": marker("thanks"),
        "photoBase64": base64.b64encode(tiny_png(tmp_path / "photo.png").read_bytes()).decode(),
        "artifacts": str(ARTIFACTS),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with web_client(browser, org.web_url, "firefox-peer") as ben:
        await sign_in(ben, org, "ben")
        await ben.open_room("Ward 3")
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(SMOKE),
            json.dumps(job),
            cwd=SMOKE.parent.parent,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        steps: list[dict[str, object]] = []
        assert proc.stdout is not None and proc.stderr is not None
        try:
            while not steps or steps[-1]["step"] != "calling":
                line = await asyncio.wait_for(proc.stdout.readline(), timeout=180)
                if not line:
                    raise AssertionError(
                        f"Firefox run ended early after {steps}: "
                        f"{(await proc.stderr.read()).decode()[-2000:]}"
                    )  # type: ignore[union-attr]
                steps.append(json.loads(line))
                if steps[-1]["step"] == "password-chosen":
                    org.passwords["cara"] = new_password
            await expect(ben.page.locator(".cb-incoming")).to_have_attribute("data-kind", "audio")
            await ben.page.locator(".cb-incoming .cb-accept").click()
            await ben.wait_call_state("connected", timeout_ms=90_000)
            facts = await wait_for(
                ben.call_facts, lambda f: live(f["remoteAudio"]), what="audio from Firefox"
            )
            assert live(facts["localAudio"]), facts
            out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()[-2000:]
        steps += [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        names = [s["step"] for s in steps]
        assert names[-3:] == ["calling", "connected", "hung-up"], names
        assert "signed-in" in names and "text-sent" in names and "photo-shown" in names
        emoji = next(s for s in steps if s["step"] == "emoji-sent")
        assert str(emoji["inserted"]).startswith("\N{THUMBS UP SIGN}") and emoji["focusBack"] is True, emoji
        assert live(steps[-2]["remoteAudio"]), steps[-2]  # type: ignore[arg-type]
        assert steps[-1]["errors"] == []
        await ben.wait_call_state(None)
        await ben.open_room("Test Cara", "messages")
        await ben.message(text).wait_for()
        await ben.page.wait_for_function(
            "() => [...document.querySelectorAll('img.cb-image')].some(i => i.complete && i.naturalWidth > 0)"
        )
