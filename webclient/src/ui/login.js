// The sign-in screen (organisation branding, clear words for refusals) and the
// "choose your own password" screens: forced after a sign-in with the mailed initial
// password, and in Settings.
import {useState} from "preact/hooks";
import {html} from "./html.js";
import {changePassword, refusalText, signInName} from "../session.js";

export function Brand({config}) {
    return html`<div class="cb-brand">
        <span class="cb-brand-name">${config.organizationName}</span>
        ${config.tagline ? html`<span class="cb-brand-tagline">${config.tagline}</span>` : null}
    </div>`;
}

export function LoginScreen({config, onSubmit, notice}) {
    const [error, setError] = useState("");
    const [attempts, setAttempts] = useState(0);
    const [busy, setBusy] = useState(false);
    const [capsLock, setCapsLock] = useState(false);
    const submit = async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        setBusy(true);
        setError("");
        try {
            await onSubmit(form.username.value, form.password.value);
        } catch (err) {
            setError(refusalText(err, signInName(form.username.value, config.serverName).kind));
            setAttempts((n) => n + 1);
            setBusy(false);
        }
    };
    const keys = (e) => setCapsLock(Boolean(e.getModifierState?.("CapsLock")));
    return html`<main class="cb-login" aria-labelledby="cb-login-title">
        <${Brand} config=${config} />
        <form class="cb-card" onSubmit=${submit}>
            <h1 id="cb-login-title">Sign in</h1>
            ${notice ? html`<p class="cb-login-notice" id="cb-login-notice" role="status">${notice}</p>` : null}
            <label for="username">Username or work e-mail</label>
            <input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false"
                required autofocus aria-describedby="cb-login-hint" />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required
                onKeyUp=${keys} onKeyDown=${keys} aria-describedby=${capsLock ? "cb-caps" : undefined} />
            ${capsLock ? html`<p class="cb-caps" id="cb-caps" role="status">Caps Lock is on: the password is typed in capitals.</p>` : null}
            ${error ? html`<p class="cb-error" role="alert" id="cb-login-error" data-attempt=${attempts}>${error}</p>` : null}
            <button type="submit" class="cb-primary" disabled=${busy}>${busy ? "Signing in…" : "Log in"}</button>
            <p class="cb-hint" id="cb-login-hint">Use your username or the work e-mail address your administrator has for you, and your password.</p>
        </form>
    </main>`;
}

export function PasswordForm({token, initialCurrent, onDone, submitLabel}) {
    const [status, setStatus] = useState(null);
    const [busy, setBusy] = useState(false);
    const submit = async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const current = initialCurrent ?? form.current.value;
        if (form.next.value !== form.confirm.value) {
            setStatus({kind: "error", text: "The two new passwords are not the same."});
            return;
        }
        setBusy(true);
        try {
            await changePassword(token, current, form.next.value);
            setStatus({kind: "ok", text: "Your password was changed. Other sessions were signed out."});
            form.reset();
            onDone?.();
        } catch (err) {
            const text = err.status === 401 ? "The current password is not correct." : err.message;
            setStatus({kind: "error", text});
        } finally {
            setBusy(false);
        }
    };
    return html`<form class="cb-password" onSubmit=${submit}>
        ${initialCurrent == null
            ? html`<label for="cb-current">Current password</label>
                  <input id="cb-current" name="current" type="password" autocomplete="current-password" required />`
            : null}
        <label for="cb-new">New password</label>
        <input id="cb-new" name="next" type="password" autocomplete="new-password" required
            aria-describedby="cb-password-rules" />
        <p id="cb-password-rules" class="cb-hint">At least 12 characters, with an upper-case and a lower-case letter, a digit and a symbol.</p>
        <label for="cb-confirm">New password again</label>
        <input id="cb-confirm" name="confirm" type="password" autocomplete="new-password" required />
        ${status
            ? html`<p id="cb-password-status" class=${`cb-status ${status.kind}`} role=${status.kind === "error" ? "alert" : "status"}>
                  ${status.text}</p>`
            : null}
        <button type="submit" class="cb-primary" disabled=${busy}>${submitLabel}</button>
    </form>`;
}

export function ForcedPasswordScreen({config, token, current, onDone}) {
    return html`<main class="cb-login" aria-labelledby="cb-forced-title">
        <${Brand} config=${config} />
        <div class="cb-card">
            <h1 id="cb-forced-title">Choose your own password</h1>
            <p>You signed in with the password your administrator sent you. Choose a new one
                only you know before you continue.</p>
            <${PasswordForm} token=${token} initialCurrent=${current} onDone=${onDone}
                submitLabel="Save password and continue" />
        </div>
    </main>`;
}
