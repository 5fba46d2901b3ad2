// Signing in and out, the stored session, and the Carebridge endpoints of the bridge
// (same origin as this page): account status, password change, the staff directory.
import {createClient} from "matrix-js-sdk";

const STORE_KEY = "carebridge.session";

export async function loadConfig() {
    const answer = await fetch("config.json", {cache: "no-store"});
    if (!answer.ok) throw new Error("config.json could not be loaded");
    return (await answer.json()).carebridge;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[a-z0-9._=\-/]+$/;

/**
 * What she typed in the sign-in name field: a username (`anna`), a Matrix id
 * (`@anna:server`) or her work e-mail address (`anna@clinic.example`, bound to her
 * account by provisioning). Returns {kind, identifier} for the login request, or
 * {kind, problem} naming what is wrong with the name itself (decided here, so it says
 * nothing about whether an account exists).
 */
export function signInName(typed, serverName) {
    const name = typed.trim();
    if (name.startsWith("@")) {
        const server = name.slice(name.indexOf(":") + 1);
        if (!name.includes(":") || !server) {
            return {kind: "username", problem: "That is not a complete account name. Type your username (for example anna) or your work e-mail address."};
        }
        if (serverName && server.toLowerCase() !== serverName.toLowerCase()) {
            return {kind: "username", problem: `That account is on another server (${server}). Type your username here without @ and :, or your work e-mail address.`};
        }
        return {kind: "username", identifier: {type: "m.id.user", user: name.toLowerCase()}};
    }
    if (name.includes("@")) {
        if (!EMAIL.test(name)) {
            return {kind: "email", problem: "That e-mail address is not complete: it needs a name, @ and the domain (for example anna@clinic.example)."};
        }
        return {kind: "email", identifier: {type: "m.id.thirdparty", medium: "email", address: name.toLowerCase()}};
    }
    if (!USERNAME.test(name.toLowerCase())) {
        return {kind: "username", problem: "A username has only letters, digits and . _ - = (no spaces). You can also type your work e-mail address."};
    }
    return {kind: "username", identifier: {type: "m.id.user", user: name.toLowerCase()}};
}

/** Words for a refused sign-in, from the homeserver's errcode and message. `kind` says
 * which sign-in name she used: a wrong one and a wrong password get the same answer from
 * the server (it does not tell whether the account exists), so the words name both. */
export function refusalText(err, kind = "username") {
    if (err?.signInProblem) return err.signInProblem;
    const code = err?.errcode || err?.data?.errcode;
    const message = err?.data?.error || err?.message || "";
    if (code === "M_USER_DEACTIVATED") {
        return "This account has been deactivated. Ask your administrator if you need access again.";
    }
    if (code === "M_LIMIT_EXCEEDED") {
        const ms = err?.data?.retry_after_ms ?? err?.retryAfterMs ?? 60000;
        const seconds = Math.max(1, Math.ceil(ms / 1000));
        const wait = seconds >= 90 ? `${Math.ceil(seconds / 60)} minutes` : `${seconds} seconds`;
        return `Too many sign-in attempts. Please wait ${wait} and try again.`;
    }
    if (code === "M_FORBIDDEN" && /invalid username or password/i.test(message)) {
        return kind === "email"
            ? "The e-mail address or password is not correct."
            : "The username or password is not correct.";
    }
    if (!code) return "The server could not be reached. Check your connection and try again.";
    return message || "Sign-in was refused.";
}

export async function logIn(config, typed, password) {
    const name = signInName(typed, config.serverName);
    if (name.problem) {
        const refused = new Error(name.problem);
        refused.signInProblem = name.problem;
        throw refused;
    }
    const probe = createClient({baseUrl: config.homeserverUrl});
    return probe.loginRequest({
        type: "m.login.password",
        identifier: name.identifier,
        password,
        initial_device_display_name: "Carebridge web",
    });
}

export function saveSession(creds) {
    localStorage.setItem(
        STORE_KEY,
        JSON.stringify({userId: creds.user_id, accessToken: creds.access_token, deviceId: creds.device_id}),
    );
}

export function storedSession() {
    try {
        const value = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
        return value && value.accessToken ? value : null;
    } catch {
        return null;
    }
}

export function forgetSession() {
    localStorage.removeItem(STORE_KEY);
}

export function makeClient(config, session) {
    return createClient({
        baseUrl: config.homeserverUrl,
        accessToken: session.accessToken,
        userId: session.userId,
        deviceId: session.deviceId,
        timelineSupport: true,
        useAuthorizationHeader: true,
    });
}

export async function bridgeCall(token, method, path, body) {
    const answer = await fetch(path, {
        method,
        headers: {Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
    });
    let data = {};
    try {
        data = await answer.json();
    } catch {
        data = {};
    }
    if (!answer.ok) {
        const error = new Error(data.error || `request failed (${answer.status})`);
        error.status = answer.status;
        error.errcode = data.errcode;
        throw error;
    }
    return data;
}

/** {user_id, initial_password}: whether this account still has its mailed password. */
export const accountStatus = (token) => bridgeCall(token, "GET", "_carebridge/v1/account");

/** Every active colleague: [{user_id, display_name, groups}]. */
export const staffDirectory = (token) => bridgeCall(token, "GET", "_carebridge/v1/contacts");

/** Change the password (this session stays signed in, every other one ends). */
export const changePassword = (token, current, next) =>
    bridgeCall(token, "POST", "_carebridge/v1/password", {current_password: current, new_password: next});
