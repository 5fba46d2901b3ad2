// Firefox ESR smoke run of the staff client, driven over WebDriver BiDi by puppeteer-core
// (no driver download: Firefox speaks BiDi itself). Called by
// tests/e2e/test_webclient_firefox.py with a JSON job on argv[2]:
//   {firefox, url, username, password, newPassword, colleague, text, emojiText, photoBase64}
// It signs in (with the work e-mail address as `username`; choosing its own password on a
// first sign-in), finds the colleague in Contacts, sends a text, a text with an emoji from
// the picker (search, keyboard, Escape) and a photo by drag-and-drop, places an audio call and waits
// until it is connected with live remote audio, then hangs up. Progress and the result
// go to stdout as JSON lines; any failure exits non-zero with the reason.
import puppeteer from "puppeteer-core";

const job = JSON.parse(process.argv[2]);
const say = (step, extra = {}) => console.log(JSON.stringify({step, ...extra}));
const TIMEOUT = 60_000;

const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: job.firefox,
    headless: true,
    protocol: "webDriverBiDi",
    extraPrefsFirefox: {
        "media.navigator.streams.fake": true,
        "media.navigator.permission.disabled": true,
        "permissions.default.desktop-notification": 1,
        "media.autoplay.default": 0,
        // loopback test peers: plain host candidates, no mDNS names to resolve
        "media.peerconnection.ice.obfuscate_host_addresses": false,
    },
});
try {
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(job.url);
    await page.waitForSelector("#username");
    await page.type("#username", job.username);
    await page.type("#password", job.password);
    await page.click(".cb-login button[type=submit]");
    const first = await page.waitForSelector("#cb-forced-title, .cb-list[data-ready=true]");
    if (await first.evaluate((el) => el.id === "cb-forced-title")) {
        await page.type("#cb-new", job.newPassword);
        await page.type("#cb-confirm", job.newPassword);
        await page.click(".cb-password button[type=submit]");
        say("password-chosen");
    }
    await page.waitForSelector(".cb-list[data-ready=true]");
    say("signed-in");

    await page.click("#cb-tab-contacts");
    await page.type("#cb-contact-search", job.colleague.slice(5, 8));
    await page.waitForFunction((name) => [...document.querySelectorAll(".cb-contact-name")]
        .some((el) => el.textContent === name), {}, job.colleague);
    await page.click(`.cb-contact-message[aria-label="Message ${job.colleague}"]`);
    // Until the conversation is open, the message box is there but disabled.
    await page.waitForSelector("#cb-compose:not([disabled])");
    await page.type("#cb-compose", job.text);
    await page.keyboard.press("Enter");
    await page.waitForFunction((text) => [...document.querySelectorAll(".cb-body")]
        .some((el) => el.textContent === text), {}, job.text);
    say("text-sent");

    await page.click(".cb-emoji-button");
    await page.waitForSelector("#cb-emoji-search");
    await page.type("#cb-emoji-search", "thumbs up");
    await page.waitForSelector("#cb-emoji-results button");
    await page.focus("#cb-emoji-results button");
    await page.keyboard.press("Enter");
    const inserted = await page.$eval("#cb-compose", (el) => el.value);
    await page.keyboard.press("Escape");
    const back = await page.evaluate(() => document.activeElement?.classList.contains("cb-emoji-button"));
    await page.focus("#cb-compose");
    await page.keyboard.press("End");
    await page.type("#cb-compose", ` ${job.emojiText}`);
    await page.keyboard.press("Enter");
    await page.waitForFunction((text) => [...document.querySelectorAll(".cb-body")]
        .some((el) => el.textContent.startsWith("\u{1F44D}") && el.textContent.endsWith(` ${text}`)), {}, job.emojiText);
    say("emoji-sent", {inserted, focusBack: back});

    await page.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "firefox-photo.png", {type: "image/png"}));
        const target = document.querySelector(".cb-conversation");
        target.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
    }, job.photoBase64);
    await page.waitForFunction(() => {
        const img = document.querySelector("img.cb-image");
        return img && img.complete && img.naturalWidth > 0 && img.src.startsWith("blob:");
    });
    say("photo-shown");

    await page.click(".cb-call-audio");
    say("calling");
    await page.waitForFunction(() => window.carebridgeCall && window.carebridgeCall.state === "connected",
        {timeout: 90_000});
    const audio = await page.evaluate(() => window.carebridgeCall.getRemoteFeeds()
        .flatMap((f) => f.stream.getAudioTracks()).map((t) => ({state: t.readyState, enabled: t.enabled})));
    say("connected", {remoteAudio: audio});
    await page.click(".cb-hangup");
    await page.waitForFunction(() => !window.carebridgeCall);
    say("hung-up", {errors});
} catch (err) {
    // Evidence for the Python test: what the page showed when it failed.
    try {
        const pages = await browser.pages();
        const page = pages[pages.length - 1];
        if (job.artifacts) await page.screenshot({path: `${job.artifacts}/failed-firefox.png`});
        console.error(await page.evaluate(() => document.body.innerText.slice(0, 2000)));
    } catch { /* the original error matters more */ }
    throw err;
} finally {
    await browser.close();
}
