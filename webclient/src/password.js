// Change-password page. Hydrogen has no way to change a password, so this small
// page does it with the Matrix Client-Server API:
//   1. log in with the current password (a short-lived device of its own),
//   2. POST /account/password, answering the user-interactive auth challenge
//      with the current password (all other sessions are signed out, as the
//      spec's default `logout_devices: true` does),
//   3. log that short-lived device out again.
// Passwords are never stored and never logged.

const DEVICE_NAME = "Carebridge password change";
// Synapse's message for a wrong password or an unknown user; any other refusal
// (outside shift hours, deactivated account) is shown as the server words it.
const WRONG_CREDENTIALS = "Invalid username or password";

async function loadHomeserver() {
    const response = await fetch("config.json", {cache: "no-store", credentials: "same-origin"});
    if (!response.ok) {
        throw new Error(`config.json answered HTTP ${response.status}`);
    }
    const config = await response.json();
    const branding = config.carebridge || {};
    if (branding.organizationName) {
        document.title = `Change password · ${branding.organizationName}`;
        document.getElementById("cb-org").textContent = branding.organizationName;
    }
    if (branding.primaryColour) {
        document.documentElement.style.setProperty("--accent-color", branding.primaryColour);
    }
    return config.defaultHomeServer.replace(/\/+$/, "");
}

async function api(homeserver, method, path, body, token) {
    const headers = {"Content-Type": "application/json"};
    if (token) {
        headers.Authorization = `Bearer ${token}`;
    }
    const response = await fetch(homeserver + path, {
        method, headers, body: JSON.stringify(body), cache: "no-store", referrerPolicy: "no-referrer",
    });
    let json = {};
    try {
        json = await response.json();
    } catch {
        json = {};
    }
    return {status: response.status, json};
}

function describe(json, fallback) {
    return (json && typeof json.error === "string" && json.error) || fallback;
}

/** Change the password; resolves to nothing, throws an Error with a message for staff. */
export async function changePassword(homeserver, username, current, next) {
    const identifier = {type: "m.id.user", user: username};
    const login = await api(homeserver, "POST", "/_matrix/client/v3/login", {
        type: "m.login.password", identifier, password: current, initial_device_display_name: DEVICE_NAME,
    });
    if (login.status !== 200) {
        const wrongCredentials = login.status === 403 && login.json.error === WRONG_CREDENTIALS;
        throw new Error(wrongCredentials || (login.status === 403 && !login.json.error)
            ? "The username or current password is not correct."
            : describe(login.json, `Sign-in failed (HTTP ${login.status}).`));
    }
    const token = login.json.access_token;
    const userId = login.json.user_id;
    try {
        const path = "/_matrix/client/v3/account/password";
        let result = await api(homeserver, "POST", path, {new_password: next, logout_devices: true}, token);
        if (result.status === 401 && result.json.session) {
            result = await api(homeserver, "POST", path, {
                new_password: next,
                logout_devices: true,
                auth: {
                    type: "m.login.password", session: result.json.session,
                    identifier: {type: "m.id.user", user: userId}, password: current,
                },
            }, token);
        }
        if (result.status !== 200) {
            throw new Error(describe(result.json, `The password was not changed (HTTP ${result.status}).`));
        }
    } finally {
        // Logging out can fail if the change already signed this device out; that is fine.
        await api(homeserver, "POST", "/_matrix/client/v3/logout", {}, token).catch(() => undefined);
    }
}

function setStatus(text, kind) {
    const status = document.getElementById("cb-status");
    status.textContent = text;
    status.className = `cb-status ${kind}`;
}

async function main() {
    const form = document.getElementById("cb-password-form");
    let homeserver;
    try {
        homeserver = await loadHomeserver();
    } catch (err) {
        setStatus(`This page could not start: ${err.message}`, "error");
        return;
    }
    form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const username = form.elements.namedItem("username").value.trim();
        const current = form.elements.namedItem("current").value;
        const next = form.elements.namedItem("new").value;
        const confirm = form.elements.namedItem("confirm").value;
        if (!username || !current || !next) {
            setStatus("Please fill in every field.", "error");
            return;
        }
        if (next !== confirm) {
            setStatus("The new passwords do not match.", "error");
            return;
        }
        if (next === current) {
            setStatus("The new password must differ from the current one.", "error");
            return;
        }
        const button = document.getElementById("cb-change-password");
        button.disabled = true;
        setStatus("Changing your password…", "busy");
        try {
            await changePassword(homeserver, username, current, next);
            form.reset();
            setStatus("Your password has been changed. You have been signed out everywhere: sign in again with the new password.", "ok");
        } catch (err) {
            setStatus(err.message, "error");
        } finally {
            button.disabled = false;
        }
    });
}

main();
