// The installable app: the service worker (sw.js, which caches the app shell only) is
// registered while someone is signed in, and signing out clears everything this origin
// keeps in the browser: every Cache Storage cache, the service worker, local and session
// storage, IndexedDB, and the pictures already shown (blob: URLs). A ward computer is
// shared: the next person finds nothing of the last one's.
import {forgetMedia} from "./media.js";

export async function registerServiceWorker() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return null;
    try {
        return await navigator.serviceWorker.register("sw.js", {scope: "./"});
    } catch {
        return null; // private windows and some browsers refuse; the app works without it
    }
}

export async function clearEverything() {
    forgetMedia();
    try {
        localStorage.clear();
        sessionStorage.clear();
    } catch { /* storage may be disabled */ }
    const steps = [];
    if ("caches" in window) {
        steps.push(caches.keys().then((names) => Promise.all(names.map((name) => caches.delete(name)))));
    }
    if ("serviceWorker" in navigator) {
        steps.push(navigator.serviceWorker.getRegistrations()
            .then((registrations) => Promise.all(registrations.map((r) => r.unregister()))));
    }
    if (window.indexedDB?.databases) {
        steps.push(indexedDB.databases()
            .then((found) => Promise.all(found.map((db) => db.name && indexedDB.deleteDatabase(db.name)))));
    }
    await Promise.allSettled(steps);
}
