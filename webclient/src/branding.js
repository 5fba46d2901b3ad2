// Organisation branding for the Hydrogen screens, driven by config.json.
//
// Hydrogen has no branding hooks, so this works on the rendered DOM: the
// organisation's name goes into the page title and above the sign-in form, a
// "Change password" link goes under it and into Settings, and
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

const PASSWORD_LINK_CLASS = "cb-password-link";

// Hydrogen cannot change a password; password.html (built from src/password.js) can.
function passwordLink() {
    const p = document.createElement("p");
    p.className = PASSWORD_LINK_CLASS;
    const a = document.createElement("a");
    a.href = "password.html";
    a.textContent = "Change password";
    p.append(a);
    return p;
}

function decorate(root, name, tagline) {
    for (const screen of root.querySelectorAll(".PreSessionScreen")) {
        if (!screen.querySelector(`:scope > .${BRAND_CLASS}`)) {
            screen.prepend(brandHeader(name, tagline));
        }
    }
    for (const login of root.querySelectorAll(".PasswordLoginView")) {
        if (!login.querySelector(`.${PASSWORD_LINK_CLASS}`)) {
            login.append(passwordLink());
        }
    }
    for (const settings of root.querySelectorAll(".Settings .SettingsBody")) {
        if (!settings.querySelector(`.${PASSWORD_LINK_CLASS}`)) {
            const logout = [...settings.querySelectorAll("button")].find((b) => b.textContent.trim() === "Log out");
            if (logout) {
                logout.parentElement.after(passwordLink());
            }
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
    decorate(container, name, tagline);
    const observer = new MutationObserver(() => decorate(container, name, tagline));
    observer.observe(container, {childList: true, subtree: true});
}
