// "No connection": shown instead of the app while the browser is offline (the service
// worker opened the app from its cache) or the homeserver cannot be reached for a
// while, so nobody mistakes an old screen for the current one.
import {useEffect, useState} from "preact/hooks";
import {html} from "./html.js";

/** True while the browser says it is offline. */
export function useOffline() {
    const [offline, setOffline] = useState(typeof navigator !== "undefined" && navigator.onLine === false);
    useEffect(() => {
        const update = () => setOffline(navigator.onLine === false);
        window.addEventListener("online", update);
        window.addEventListener("offline", update);
        return () => {
            window.removeEventListener("online", update);
            window.removeEventListener("offline", update);
        };
    }, []);
    return offline;
}

export function OfflineScreen({config}) {
    return html`<main class="cb-offline" id="cb-offline" aria-labelledby="cb-offline-title">
        <div class="cb-card" role="alert">
            <h1 id="cb-offline-title">No connection</h1>
            <p>This ${config?.organizationName ? `${config.organizationName} ` : ""}messenger cannot reach the
                server: the phone or computer is not connected to the network.</p>
            <p>Messages cannot be sent or received until the connection is back. This screen goes
                away by itself; nothing you wrote is lost.</p>
        </div>
    </main>`;
}

/** Its children, with the "No connection" screen over them while offline (they stay
 * mounted underneath, so a half-written message is still there afterwards). */
export function OfflineWatch({config, unreachable = false, children}) {
    const offline = useOffline();
    return html`${children}${offline || unreachable ? html`<${OfflineScreen} config=${config} />` : null}`;
}
