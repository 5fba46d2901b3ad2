"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright for Python.

One browser per test module (`launch`), one context per person (`web_client`): Hydrogen
keeps its sessions in IndexedDB per origin, so a fresh context is a fresh device. The
`WebClient` methods use the selectors recorded in webclient/NOTES.md and wait on them
explicitly; nothing here sleeps. Never run `playwright install`: the system Chromium is used.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, Response, async_playwright

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
]
# Generous: two shared cores, a cold Synapse and Hydrogen's first sync.
TIMEOUT_MS = 30_000
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "webclient"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# webclient/NOTES.md
ROOM_LIST = ".SessionView .RoomList"
LOGIN_ERROR = ".PasswordLoginView .error"
COMPOSER = ".MessageComposer_input textarea"
NOTICE = ".cb-notice[role=alert]"


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
    """One person's tab on the Carebridge web client (Hydrogen)."""

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
        await self.page.locator(".PasswordLoginView button[type=submit]").click()

    async def log_in(self, username: str, password: str) -> None:
        """Sign in and wait for the room list (initial sync done)."""
        await self.submit_login(username, password)
        await self.page.locator(ROOM_LIST).wait_for(state="visible")

    async def login_refused(self, username: str, password: str) -> str:
        """Sign in with credentials that must fail; returns the error the screen shows."""
        await self.submit_login(username, password)
        error = self.page.locator(LOGIN_ERROR)
        await error.wait_for(state="visible")
        assert self.page.url.endswith("#/login"), self.page.url
        return (await error.inner_text()).strip()

    async def session_id(self) -> str:
        """The Matrix device id of this tab's session (Settings > Session ID)."""
        await self.open_settings()
        cell = self.page.locator(".Settings .row:has-text('Session ID') .content")
        return (await cell.inner_text()).strip()

    async def open_settings(self) -> None:
        await self.page.locator(".LeftPanel a.settings").click()
        await self.page.locator(".Settings .SettingsBody").wait_for(state="visible")

    async def log_out(self) -> None:
        """Settings > Log out > confirm; waits for the sign-in form again."""
        if not await self.page.locator(".Settings .SettingsBody").is_visible():
            await self.open_settings()
        await self.page.locator(".Settings button:has-text('Log out')").click()
        await self.page.locator(".LogoutScreen button.primary.destructive").click()
        await self.page.locator("#username").wait_for(state="visible")

    # --- rooms and messages -------------------------------------------------------
    async def room_names(self) -> list[str]:
        """Names shown in the room list."""
        names = self.page.locator(".RoomList li a .name")
        await names.first.wait_for(state="visible")
        return [n.strip() for n in await names.all_inner_texts()]

    async def open_room(self, name: str) -> None:
        """Open a room from the list by its shown name; waits for the composer."""
        link = self.page.locator(".RoomList li a", has=self.page.locator(".name", has_text=name))
        await link.first.click()
        await self.page.locator(COMPOSER).wait_for(state="visible")

    def message(self, body: str) -> Locator:
        """The timeline entry holding a message body."""
        text = self.page.locator(".Timeline_messageBody", has_text=body)
        return self.page.locator(".Timeline li", has=text)

    async def send(self, body: str) -> None:
        """Type into the composer, press Enter and wait for the message in the timeline."""
        composer = self.page.locator(COMPOSER)
        await composer.fill(body)
        await composer.press("Enter")
        await self.message(body).last.wait_for(state="visible")

    async def send_answered(self, body: str) -> Response:
        """Type a message and press Enter; returns the homeserver's answer to the /send."""
        composer = self.page.locator(COMPOSER)
        await composer.fill(body)
        async with self.page.expect_response(_is_send) as answer:
            await composer.press("Enter")
        return await answer.value

    async def reply(self, to_body: str, body: str) -> Response:
        """Message menu > Reply on a message, then send `body`; returns the /send answer."""
        await self._message_menu(to_body)
        await self.page.locator(".menu button", has_text=re.compile(r"^\s*Reply\s*$")).click()
        return await self.send_answered(body)

    async def send_file_answered(self, path: Path) -> Response:
        """Attachment button > Send file; returns the homeserver's answer to the upload."""
        await self.page.locator(".MessageComposer_input button.sendFile").click()
        async with self.page.expect_file_chooser() as chooser:
            await self.page.locator(".menu button", has_text="Send file").click()
        async with self.page.expect_response(_is_upload) as answer:
            await (await chooser.value).set_files(str(path))
        return await answer.value

    async def _message_menu(self, body: str) -> None:
        entry = self.message(body).last
        await entry.hover()
        await entry.locator("button.Timeline_messageOptions").click()

    async def delete(self, body: str) -> Response:
        """Message menu > Delete on a message; returns the homeserver's /redact answer."""
        await self._message_menu(body)
        async with self.page.expect_response(
            lambda r: "/redact/" in r.url and r.request.method == "PUT"
        ) as answer:
            await self.page.locator(".menu button", has_text=re.compile(r"^\s*Delete\s*$")).click()
        return await answer.value

    async def send_picture(self, path: Path) -> None:
        """Attachment button > Send picture > choose the file; waits until it is uploaded."""
        await self.page.locator(".MessageComposer_input button.sendFile").click()
        async with self.page.expect_file_chooser() as chooser:
            await self.page.locator(".menu button", has_text="Send picture").click()
        await (await chooser.value).set_files(str(path))
        await self.page.locator(".Timeline li img").last.wait_for(state="visible")
        await self.page.locator(".Timeline :text('Uploading')").wait_for(state="detached")

    async def open_direct_message(self, colleague: str) -> None:
        """From the open room: Room options > Room details > People > the colleague >
        Open direct message; waits until the conversation with them is open."""
        await self.page.locator("main.middle .middle-header button.room-options").click()
        await self.page.locator(".menu button", has_text="Room details").click()
        await self.page.locator(".RoomDetailsView_row", has_text="People").click()
        await self.page.locator(".MemberListView li", has_text=colleague).first.click()
        await self.page.locator(".MemberDetailsView button", has_text="Open direct message").click()
        await self.page.locator("main.middle .middle-header h2", has_text=colleague).wait_for(state="visible")
        await self.page.locator(COMPOSER).wait_for(state="visible")

    # --- the change-password page -------------------------------------------------
    async def change_password(self, username: str, current: str, new: str) -> tuple[str, str]:
        """Fill password.html; returns (status kind "ok"/"error", status text)."""
        await self.page.goto(f"{self.base_url}password.html")
        await self.page.locator("#cb-username").fill(username)
        await self.page.locator("#cb-current-password").fill(current)
        await self.page.locator("#cb-new-password").fill(new)
        await self.page.locator("#cb-confirm-password").fill(new)
        await self.page.locator("#cb-change-password").click()
        status = self.page.locator("#cb-status.ok, #cb-status.error")
        await status.wait_for(state="visible")
        kind = "ok" if "ok" in ((await status.get_attribute("class")) or "").split() else "error"
        return kind, (await status.inner_text()).strip()

    # --- evidence -----------------------------------------------------------------
    async def screenshot(self, name: str) -> Path:
        """Save a PNG of the page under test-artifacts/webclient/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


def _is_send(response: Response) -> bool:
    return response.request.method == "PUT" and "/send/m.room.message/" in response.url


def _is_upload(response: Response) -> bool:
    return response.request.method == "POST" and "/upload" in response.url


@asynccontextmanager
async def web_client(browser: Browser, base_url: str, name: str) -> AsyncIterator[WebClient]:
    """A fresh browser context (a new device) on the web client; on failure its screen and
    page errors are saved as test-artifacts/webclient/failed-<name>.png/.txt."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    client = WebClient(page=page, base_url=base_url.rstrip("/") + "/")
    page.on("pageerror", lambda exc: client.errors.append(str(exc)))
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
