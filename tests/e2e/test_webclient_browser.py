"""The staff web client (matrix-js-sdk + Preact) in Debian's headless Chromium: signing in
(forced own password, refusals in plain words), the lists, contacts with presence, direct
and group conversations, files that survive a reload, reactions, channel rights,
notifications, accessibility and the screenshots the staff guide uses.

One Synapse + bridge + organisation per module; every test opens its own browser contexts
(new devices) so the tests do not depend on each other's screens.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, expect

from tests.compliance_helpers import ledger, wait_for
from tests.e2e import webclient_fixtures
from tests.harness.browser import web_client
from tests.harness.provision import carebridge
from tests.harness.stack import strong_password
from tests.harness.webclient_org import CHANNELS, ORGANIZATION, Org

pytestmark = [pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
sign_in = webclient_fixtures.sign_in
SESSION_DEVICE = "() => JSON.parse(localStorage.getItem('carebridge.session')).deviceId"


async def test_first_sign_in_forces_own_password_and_refusals_are_explained(
    org: Org, browser: Browser
) -> None:
    """Mailed link + initial password -> "choose your own password" -> the channels; the
    server then no longer lists her as having the initial password (CLI), the old password
    fails; a wrong password and a sign-in outside shift hours each get their own words, a
    deactivated account cannot sign in; Settings changes the password again; Log out ends the session on the
    server (device gone, logout in the ledger)."""
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

        # Settings: change it again inside the app; this session stays signed in.
        await anna.page.locator(".cb-settings-link").click()
        await anna.page.locator("#cb-current").fill(first)
        await anna.page.locator("#cb-new").fill(second)
        await anna.page.locator("#cb-confirm").fill(second)
        await anna.page.locator(".cb-password button[type=submit]").click()
        await expect(anna.page.locator("#cb-password-status.ok")).to_be_visible()
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
        await other.log_in("anna", second)
