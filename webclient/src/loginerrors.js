// Say why a sign-in was refused when the reason is not a wrong password.
//
// Hydrogen 0.3.1 shows "Your username and/or password don't seem to be correct."
// for every 403 M_FORBIDDEN from /login and a generic "something went wrong" for
// other errors; the homeserver's own message is never shown. Carebridge refuses
// some sign-ins on purpose with a clear message (outside the person's allowed
// shift hours; a deactivated account), and staff must see it, or they keep
// retyping a correct password. This watches /login answers and, when the
// server's message is not Synapse's wrong-credentials text, puts that message in
// Hydrogen's error line instead.

const LOGIN_PATH = /\/_matrix\/client\/[^/]+\/login(?:[?#]|$)/;
// Synapse's message for a wrong password and for an unknown user (handlers/auth.py).
const WRONG_CREDENTIALS = "Invalid username or password";
const ERROR_LINE = ".PasswordLoginView form > p.error";

/**
 * @param platform Hydrogen's Platform (before any login: the login view copies `request`)
 * @param {HTMLElement} container the element Hydrogen renders into
 */
export function explainRefusedLogins(platform, container) {
    let reason = null;
    const request = platform.request;
    platform.request = function carebridgeLoginRequest(url, options) {
        const result = request(url, options);
        if (options && options.method === "POST" && typeof url === "string" && LOGIN_PATH.test(url)) {
            reason = null;
            result.response().then(({status, body}) => {
                const text = body && typeof body.error === "string" ? body.error.trim() : "";
                if (status >= 400 && status < 500 && text && text !== WRONG_CREDENTIALS) {
                    reason = text;
                    show();
                }
            }, () => undefined);
        }
        return result;
    };

    // Hydrogen removes its error line when a new attempt starts and renders a new
    // one (static text) after the answer, so replacing the text is safe.
    function show() {
        const line = reason && container.querySelector(ERROR_LINE);
        if (line && line.textContent !== reason) {
            line.textContent = reason;
        }
    }

    new MutationObserver(show).observe(container, {childList: true, subtree: true});
}
