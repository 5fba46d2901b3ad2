"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python, on the
Carebridge staff client (webclient/src, matrix-js-sdk + Preact).

One browser per test module (`launch`), one context per person (`web_client`): the client
keeps its session in localStorage per origin, so a fresh context is a fresh device. Fake
camera and microphone (`--use-fake-device-for-media-stream`, permission prompts answered
by `--use-fake-ui-for-media-stream`) let two pages call each other over loopback. Every
page records browser notifications and CSP violations (init script) so tests can assert
them. Never run `playwright install`: the system Chromium is used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, async_playwright

CHROMIUM = Path(os.environ.get("CAREBRIDGE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
# Generous: two shared cores, a cold Synapse and the first sync.
TIMEOUT_MS = 30_000
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "webclient"
GUIDE_IMAGES = REPO / "docs" / "staff" / "img"
AXE = REPO / "webclient" / "node_modules" / "axe-core" / "axe.min.js"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

READY = ".cb-list[data-ready=true]"
COMPOSER = "#cb-compose"
NOTICE = ".cb-notice[role=alert]"

# Runs before the client in every page: records notifications and CSP violations.
RECORDER = """
window.__notifications = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) {
    super(title, options);
    window.__notifications.push({title, body: options && options.body});
  }
}
Object.defineProperty(Recorded, 'permission', {get: () => Real.permission});
Recorded.requestPermission = (...a) => Real.requestPermission(...a);
window.Notification = Recorded;
"""


def require_chromium() -> Path:
    """The Chromium binary; skip the test locally when it is missing, fail under CI=1."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"browser tests need {CHROMIUM} (Debian package: apt-get install chromium)"
    if os.environ.get("CI") == "1":
        pytest.fail(message)
    pytest.skip(message)


@asynccontextmanager
async def launch() -> AsyncIterator[Browser]:
    """Start the system Chromium headless."""
    executable = require_chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def is_png(path: Path) -> bool:
    """A non-empty file that starts with the PNG signature."""
    if not path.is_file() or path.stat().st_size <= len(PNG_SIGNATURE):
        return False
    return path.read_bytes()[: len(PNG_SIGNATURE)] == PNG_SIGNATURE


@dataclass
class WebClient:
    """One person's tab on the Carebridge staff client."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    # --- signing in and out -------------------------------------------------------
    async def open_login(self, url: str | None = None) -> None:
        """Open the sign-in screen (from the client's root, or a URL such as the mailed one)."""
        await self.page.goto(url or self.base_url)
        await self.page.locator("#username").wait_for(state="visible")

    async def submit_login(self, username: str, password: str) -> None:
        await self.page.locator("#username").fill(username)
        await self.page.locator("#password").fill(password)
        await self.page.locator(".cb-login button[type=submit]").click()

    async def log_in(self, username: str, password: str) -> None:
        """Sign in and wait for the lists (initial sync done)."""
        await self.submit_login(username, password)
        await self.page.locator(READY).wait_for(state="visible")

    async def choose_password(self, new: str) -> None:
        """On the forced "choose your own password" screen: set it and continue."""
        await self.page.locator("#cb-forced-title").wait_for(state="visible")
        await self.page.locator("#cb-new").fill(new)
        await self.page.locator("#cb-confirm").fill(new)
        await self.page.locator(".cb-password button[type=submit]").click()
        await self.page.locator(READY).wait_for(state="visible")

    async def login_refused(self, username: str, password: str) -> str:
        """Sign in with credentials that must fail; returns the error the screen shows."""
        shown = self.page.locator("#cb-login-error")
        before = int(await shown.get_attribute("data-attempt") or 0) if await shown.count() else 0
        await self.submit_login(username, password)
        error = self.page.locator(f"#cb-login-error[data-attempt='{before + 1}']")
        await error.wait_for(state="visible")
        return (await error.inner_text()).strip()

    async def log_out(self) -> None:
        await self.page.locator(".cb-logout-top").click()
        await self.page.locator("#username").wait_for(state="visible")

    # --- lists ----------------------------------------------------------------------
    async def tab(self, tab_id: str) -> None:
        """recent, contacts, channels or messages."""
        await self.page.locator(f"#cb-tab-{tab_id}").click()
        await self.page.locator(f"#cb-tab-{tab_id}[aria-selected=true]").wait_for()

    async def room_names(self, tab_id: str = "channels") -> list[str]:
        await self.tab(tab_id)
        names = self.page.locator(".cb-rooms .cb-room-name")
        await names.first.wait_for(state="visible")
        return [n.strip() for n in await names.all_inner_texts()]

    def room_link(self, name: str) -> Locator:
        return self.page.locator(".cb-room", has=self.page.get_by_text(name, exact=True))

    async def open_room(self, name: str, tab_id: str = "channels") -> None:
        await self.tab(tab_id)
        await self.room_link(name).first.click()
        await self.page.locator("#cb-room-title", has_text=name).wait_for(state="visible")

    def contact(self, name: str) -> Locator:
        return self.page.locator(".cb-contact", has=self.page.get_by_text(name, exact=True))

    # --- conversations ------------------------------------------------------------
    def message(self, body: str) -> Locator:
        """The timeline entry holding a message body."""
        return self.page.locator(".cb-message", has=self.page.locator(".cb-body", has_text=body))

    async def send(self, body: str) -> None:
        composer = self.page.locator(COMPOSER)
        await composer.fill(body)
        await composer.press("Enter")
        await self.message(body).last.wait_for(state="visible")

    async def reply(self, to_body: str, body: str) -> None:
        await self.message(to_body).last.locator(".cb-reply").click()
        await self.send(body)

    # --- calls --------------------------------------------------------------------
    async def call_facts(self) -> dict[str, Any]:
        """The call in this tab as the page sees it: state, and the remote/local tracks."""
        return dict(
            await self.page.evaluate(
                """() => {
                const call = window.carebridgeCall;
                const tracks = (feeds, kind) => feeds.flatMap(f => f.stream ? f.stream.getTracks() : [])
                    .filter(t => t.kind === kind)
                    .map(t => ({state: t.readyState, enabled: t.enabled, muted: t.muted}));
                if (!call) return {state: null};
                const remote = call.getRemoteFeeds(), local = call.getLocalFeeds();
                return {state: call.state, type: call.type, micMuted: call.isMicrophoneMuted(),
                        remoteAudio: tracks(remote, 'audio'), remoteVideo: tracks(remote, 'video'),
                        localAudio: tracks(local, 'audio'), localVideo: tracks(local, 'video')};
            }"""
            )
        )

    async def wait_call_state(self, state: str | None, timeout_ms: float = TIMEOUT_MS) -> None:
        await self.page.wait_for_function(
            "s => (window.carebridgeCall ? window.carebridgeCall.state : null) === s",
            arg=state,
            timeout=timeout_ms,
        )

    # --- evidence -----------------------------------------------------------------
    async def notifications(self) -> list[dict[str, str]]:
        return list(await self.page.evaluate("() => window.__notifications"))

    async def csp_violations(self) -> list[str]:
        return list(await self.page.evaluate("() => window.__csp"))

    async def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the current screen (axe is
        evaluated over CDP, which the page's CSP does not govern)."""
        await self.page.evaluate(AXE.read_text())
        found = await self.page.evaluate(
            """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
                .filter(v => ['serious', 'critical'].includes(v.impact))
                .map(v => ({id: v.id, impact: v.impact,
                            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
        )
        return list(found)

    async def screenshot(self, name: str, guide: bool = False) -> Path:
        """Save a PNG under test-artifacts/webclient/ (guide screens under its guide/ folder).

        With CAREBRIDGE_UPDATE_GUIDE_IMAGES=1 the guide's screens are also written to
        docs/staff/img/, so a normal test run leaves the committed docs untouched."""
        folder = ARTIFACTS / "guide" if guide else ARTIFACTS
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        await self.page.screenshot(path=str(path))
        if guide and os.environ.get("CAREBRIDGE_UPDATE_GUIDE_IMAGES") == "1":
            GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, GUIDE_IMAGES / path.name)
        return path


# Chromium's device emulation of a phone 390 x 844 CSS pixels (touch, mobile viewport,
# 3x pixels, an Android Chrome user agent): the size of most current phones.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/140.0.0.0 Mobile Safari/537.36"
    ),
}


@asynccontextmanager
async def web_client(
    browser: Browser,
    base_url: str,
    name: str,
    viewport: ViewportSize | None = None,
    device: dict[str, Any] | None = None,
    init_script: str | None = None,
) -> AsyncIterator[WebClient]:
    """A fresh browser context (a new device) on the web client; on failure its screen and
    page errors are saved as test-artifacts/webclient/failed-<name>.png/.txt. `device`
    emulates one (e.g. PHONE); `init_script` runs before the client in every page."""
    options: dict[str, Any] = {"viewport": viewport or {"width": 1280, "height": 800}, **(device or {})}
    context = await browser.new_context(
        **options,
        permissions=["notifications", "microphone", "camera"],
    )
    context.set_default_timeout(TIMEOUT_MS)
    await context.add_init_script(RECORDER)
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    client = WebClient(page=page, base_url=base_url.rstrip("/") + "/")
    page.on("pageerror", lambda exc: client.errors.append(exc.stack or str(exc)))
    try:
        yield client
    except BaseException:
        try:
            await client.screenshot(f"failed-{name}")
            (ARTIFACTS / f"failed-{name}.txt").write_text(f"url: {page.url}\n" + "\n".join(client.errors))
        except Exception:  # evidence is best effort; the test's own error matters
            pass
        raise
    finally:
        await context.close()
