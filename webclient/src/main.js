// Boot: read config.json, restore or start a session, and mount the app.
import {render} from "preact";
import {html} from "./ui/html.js";
import {LoginScreen, ForcedPasswordScreen} from "./ui/login.js";
import {App} from "./ui/app.js";
import {askNotificationPermission} from "./alerts.js";
import {accountStatus, forgetSession, loadConfig, logIn, makeClient, saveSession, storedSession} from "./session.js";
import {clearEverything} from "./pwa.js";
import {OfflineWatch} from "./ui/offline.js";

const root = document.getElementById("app");

function show(view) {
    render(view, root);
}

async function signedOut(config, message) {
    forgetSession();
    show(html`<${OfflineWatch} config=${config}>
        <${LoginScreen} config=${config} notice=${message} onSubmit=${(u, p) => signIn(config, u, p)} /><//>`);
    await clearEverything(); // nothing of the last person stays in this browser
}

async function signIn(config, username, password) {
    const creds = await logIn(config, username, password);
    saveSession(creds);
    askNotificationPermission();
    await enter(config, {userId: creds.user_id, accessToken: creds.access_token, deviceId: creds.device_id}, password);
}

async function enter(config, session, typedPassword) {
    let status = {initial_password: false};
    try {
        status = await accountStatus(session.accessToken);
    } catch (err) {
        if (err.status === 401) return signedOut(config, ENDED_ELSEWHERE);
    }
    if (status.initial_password) {
        show(html`<${ForcedPasswordScreen} config=${config} token=${session.accessToken} current=${typedPassword}
            onDone=${() => start(config, session)} />`);
        return;
    }
    start(config, session);
}

export const ENDED_ELSEWHERE =
    "You have been signed out: your password was changed, your shift ended, or an administrator ended this session. Sign in again.";

function start(config, session) {
    const client = makeClient(config, session);
    const onSignedOut = (ended) => {
        client.stopClient();
        signedOut(config, ended ? ENDED_ELSEWHERE : "");
    };
    show(html`<${App} client=${client} config=${config} onSignedOut=${onSignedOut} />`);
}

async function main() {
    let config;
    try {
        config = await loadConfig();
    } catch {
        root.textContent = "The messenger could not load its settings. Reload the page to try again.";
        return;
    }
    document.title = config.organizationName;
    document.documentElement.style.setProperty("--cb-primary", config.primaryColour);
    const session = storedSession();
    if (session) {
        await enter(config, session, undefined);
    } else {
        signedOut(config);
    }
}

main();
