// Organisation branding for the Hydrogen screens, driven by config.json.
//
// Hydrogen has no branding hooks, so this works on the rendered DOM: the
// organisation's name goes into the page title and above the sign-in form, and
// a body class lets carebridge.css hide the homeserver field (the server is
// preset by the deployment; staff must not point the client elsewhere).

const BRAND_CLASS = "cb-brand";

function brandHeader(name, tagline) {
    const header = document.createElement("div");
    header.className = BRAND_CLASS;
    const title = document.createElement("div");
    title.className = "cb-brand-name";
    title.textContent = name;
    header.append(title);
    if (tagline) {
        const sub = document.createElement("div");
        sub.className = "cb-brand-tagline";
        sub.textContent = tagline;
        header.append(sub);
    }
    return header;
}

function decoratePreSessionScreens(root, name, tagline) {
    for (const screen of root.querySelectorAll(".PreSessionScreen")) {
        if (!screen.querySelector(`:scope > .${BRAND_CLASS}`)) {
            screen.prepend(brandHeader(name, tagline));
        }
    }
}

/**
 * Apply the organisation's name and lock the homeserver field.
 * @param {{organizationName?: string, tagline?: string, lockHomeserver?: boolean}} branding
 * @param {HTMLElement} container the element Hydrogen renders into
 */
export function applyBranding(branding, container) {
    const name = typeof branding.organizationName === "string" && branding.organizationName
        ? branding.organizationName : "Secure messaging";
    const tagline = typeof branding.tagline === "string" ? branding.tagline : "";
    document.title = name;
    if (branding.lockHomeserver !== false) {
        document.documentElement.classList.add("cb-locked-homeserver");
    }
    decoratePreSessionScreens(container, name, tagline);
    const observer = new MutationObserver(() => decoratePreSessionScreens(container, name, tagline));
    observer.observe(container, {childList: true, subtree: true});
}
