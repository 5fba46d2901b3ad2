// Plain words for the few Hydrogen screens whose text is written for developers.
//
// Hydrogen has no translation hooks for these, so a MutationObserver rewrites the
// rendered text. Only exact, known sentences are replaced; anything else is left alone.

const REWORDED = new Map([
    [
        // The forced-logout screen: shown after a password change, an end-of-shift
        // logout or an administrator ending the session (the old token answers 401).
        "Your access token is no longer valid! You can reauthenticate in the next screen.",
        "You have been signed out: your password was changed, your shift ended, or an " +
            "administrator ended this session. Select Proceed, then sign in again.",
    ],
]);

function reword(root) {
    for (const p of root.querySelectorAll(".LogoutScreen p")) {
        const plain = REWORDED.get(p.textContent.trim());
        if (plain) {
            p.textContent = plain;
        }
    }
}

/** Keep Hydrogen's developer wording out of staff's sight. */
export function applyPlainWording(container) {
    reword(container);
    new MutationObserver(() => reword(container)).observe(container, {childList: true, subtree: true});
}
