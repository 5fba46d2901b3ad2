// Tell staff why something they did had no effect.
//
// Carebridge's Synapse module refuses some requests on purpose, with a message
// written for staff: every deletion (history is retained by policy, errcode
// ORG.CAREBRIDGE.HISTORY_RETAINED), a top-level message from a "respond only"
// member of a channel, a file type or size the organisation does not allow.
// Hydrogen 0.3.1 treats a 400/403/404 from its send queue as permanent and
// silently drops the pending item: a deletion shows "This message is being
// deleted…" and then the message simply comes back; a refused message or file
// vanishes from the timeline. No word of explanation either way.
//
// This wraps the platform's request function to notice those refusals and show
// a short notice with the reason. Nothing else changes: the request and
// Hydrogen's own handling of the answer go on as before.

const HISTORY_RETAINED = "ORG.CAREBRIDGE.HISTORY_RETAINED";
const NOTICE_CLASS = "cb-notice";
const SHOW_MS = 15000;

export const RETAINED_TEXT =
    "Messages cannot be deleted: history is retained by policy. " +
    "To correct a message, send a correction; the original stays in the record.";

// What was refused, by request; `fallback` when the server gives no message.
const WATCHED = [
    {
        method: "PUT",
        path: /\/_matrix\/client\/[^/]+\/rooms\/[^/]+\/redact\/[^/]+\/[^/?]+/,
        lead: "The message was not deleted",
        fallback: "the server refused.",
        text: (body) => (body && body.errcode === HISTORY_RETAINED ? RETAINED_TEXT : null),
    },
    {
        method: "PUT",
        path: /\/_matrix\/client\/[^/]+\/rooms\/[^/]+\/send\/[^/]+\/[^/?]+/,
        lead: "Your message was not sent",
        fallback: "the server refused it.",
    },
    {
        method: "POST",
        path: /\/_matrix\/media\/[^/]+\/upload(?:[?#]|$)/,
        lead: "The file was not sent",
        fallback: "the server refused it.",
    },
];

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

function watched(url, options) {
    if (!options || typeof url !== "string") {
        return null;
    }
    return WATCHED.find((w) => w.method === options.method && w.path.test(url)) || null;
}

function explanation(rule, body) {
    const fixed = rule.text ? rule.text(body) : null;
    if (fixed) {
        return fixed;
    }
    const server = body && typeof body.error === "string" ? body.error.trim() : "";
    return `${rule.lead}: ${server || rule.fallback}`;
}

/**
 * Wrap `platform.request` (before any session is loaded: sessions copy it) so a
 * refused deletion, message or file is explained to the user. Only the answers
 * Hydrogen drops silently (400, 403, 404, 413, 415) are explained.
 */
export function explainRefusals(platform) {
    const request = platform.request;
    platform.request = function carebridgeRequest(url, options) {
        const result = request(url, options);
        const rule = watched(url, options);
        if (rule) {
            result.response().then(({status, body}) => {
                if ([400, 403, 404, 413, 415].includes(status)) {
                    showNotice(explanation(rule, body));
                }
            }, () => undefined);
        }
        return result;
    };
}
