// Tell staff why "Delete" did nothing.
//
// The Carebridge Synapse module refuses every redaction (history is retained by
// policy) with 403 and errcode ORG.CAREBRIDGE.HISTORY_RETAINED. Hydrogen 0.3.1
// shows "This message is being deleted…" while the request is in flight and,
// on a 403, silently drops the pending deletion: the message comes back with no
// word of explanation. This wraps the platform's request function to notice a
// refused /redact and show a short notice instead. Nothing else is changed: the
// request and Hydrogen's own handling of the answer go on as before.

const HISTORY_RETAINED = "ORG.CAREBRIDGE.HISTORY_RETAINED";
const REDACT_PATH = /\/_matrix\/client\/[^/]+\/rooms\/[^/]+\/redact\/[^/]+\/[^/?]+/;
const NOTICE_CLASS = "cb-notice";
const SHOW_MS = 15000;

export const RETAINED_TEXT =
    "Messages cannot be deleted: history is retained by policy. " +
    "To correct a message, send a correction; the original stays in the record.";
const REFUSED_TEXT = "The message could not be deleted: the server refused.";

let hideTimer = null;

/** Show (or replace) the one notice at the top of the page; it hides itself after a while. */
export function showNotice(text) {
    let notice = document.querySelector(`.${NOTICE_CLASS}`);
    if (!notice) {
        notice = document.createElement("div");
        notice.className = NOTICE_CLASS;
        notice.setAttribute("role", "alert");
        const message = document.createElement("p");
        message.className = `${NOTICE_CLASS}-text`;
        const close = document.createElement("button");
        close.type = "button";
        close.className = `${NOTICE_CLASS}-close`;
        close.textContent = "OK";
        close.addEventListener("click", () => notice.remove());
        notice.append(message, close);
        document.body.append(notice);
    }
    notice.querySelector(`.${NOTICE_CLASS}-text`).textContent = text;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(() => notice.remove(), SHOW_MS);
}

function isRedaction(url, options) {
    return !!options && options.method === "PUT" && typeof url === "string" && REDACT_PATH.test(url);
}

/**
 * Wrap `platform.request` (before any session is loaded: sessions copy it) so a
 * refused deletion is explained to the user.
 */
export function explainRefusedDeletions(platform) {
    const request = platform.request;
    platform.request = function carebridgeRequest(url, options) {
        const result = request(url, options);
        if (isRedaction(url, options)) {
            result.response().then(({status, body}) => {
                if (status === 403) {
                    showNotice(body && body.errcode === HISTORY_RETAINED ? RETAINED_TEXT : REFUSED_TEXT);
                }
            }, () => undefined);
        }
        return result;
    };
}
